// The Temporal side of the CLI: worker, submit, status, watch, cancel, and `run --engine temporal`.
import { loadSettings, type Settings } from '../worker/settings.js';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { Command } from 'commander';
import { Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { planSweep } from '../sweep/plan.js';
import { hashText, canonicalJson } from '../sweep/plan.js';
import type { Sweep } from '../sweep/spec.js';
import {
  DEFAULT_QUEUES,
  SWEEP_NAME_ATTRIBUTE,
  SWEEP_STATUS_ATTRIBUTE,
  sweepWorkflowId,
  type SweepInput,
  type SweepProgress,
} from '../workflows/sweep-types.js';
import {
  temporalSettings,
  TemporalUnavailableError,
  type ConnectionFlags,
  type TemporalSettings,
} from '../worker/temporal-connection.js';
import { runTemporalWorker, WORKER_QUEUES, type WorkerQueue } from '../worker/temporal-worker.js';

export function connectionOptions(cmd: Command): Command {
  return cmd
    .option('--address <host:port>', 'Temporal frontend (default: TEMPORAL_ADDRESS, else localhost:7233)')
    .option('--namespace <ns>', 'Temporal namespace (default: TEMPORAL_NAMESPACE, else default)')
    .option('--api-key <key>', 'Temporal Cloud API key (default: TEMPORAL_API_KEY)')
    .option('--tls', 'connect with TLS (also TEMPORAL_TLS=true, TEMPORAL_TLS_CLIENT_CERT_PATH/KEY_PATH)');
}

export async function temporalClient(settings: TemporalSettings): Promise<Client> {
  try {
    const connection = await Connection.connect({
      address: settings.address,
      tls: settings.tls,
      apiKey: settings.apiKey,
      connectTimeout: '5s',
    });
    return new Client({ connection, namespace: settings.namespace });
  } catch (err) {
    throw new TemporalUnavailableError(`cannot reach Temporal at ${settings.address} (${(err as Error).message})`, err);
  }
}

export function uiLink(settings: TemporalSettings, workflowId: string): string {
  return `${settings.uiUrl}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** Starts the sweep, or attaches to the running one with the same id (name + spec hash). */
export async function submitSweep(client: Client, sweep: Sweep, store: string, extra: Partial<SweepInput> = {}) {
  const plan = planSweep(sweep);
  const workflowId = sweepWorkflowId(plan.id);
  const start = (searchAttributes: boolean) =>
    client.workflow.start('sweepWorkflow', {
      taskQueue: extra.queues?.workflows ?? DEFAULT_QUEUES.workflows,
      workflowId,
      args: [{ sweep, store, ...extra, searchAttributes } satisfies SweepInput],
      workflowIdConflictPolicy: 'USE_EXISTING',
      memo: { sweep: plan.id, specHash: hashText(canonicalJson(sweep)), spec: sweep },
      typedSearchAttributes: searchAttributes
        ? [
            { key: SWEEP_NAME_ATTRIBUTE, value: sweep.name },
            { key: SWEEP_STATUS_ATTRIBUTE, value: 'submitted' },
          ]
        : undefined,
    });
  try {
    return { handle: await start(true), workflowId, plan, searchAttributes: true };
  } catch (err) {
    if (!/search attribute/i.test((err as Error).message)) throw err;
    console.error(
      'note: the namespace lacks the UnpruneSweep/UnpruneStatus search attributes; register them with ' +
        '`temporal operator search-attribute create --name UnpruneSweep --type Keyword` (and UnpruneStatus) to filter sweeps in the UI',
    );
    return { handle: await start(false), workflowId, plan, searchAttributes: false };
  }
}

export function formatProgress(p: SweepProgress): string {
  const eta = p.etaSeconds === null ? '–' : `${Math.round(p.etaSeconds)} s`;
  const kinds = Object.entries(p.byKind)
    .map(([k, v]) => `${k} ${v.done}+${v.cached}c${v.failed ? ` ${v.failed}f` : ''}`)
    .join(', ');
  return (
    `${p.status}: ${p.done + p.cached}/${p.total} stages (run ${p.done}, cached ${p.cached}, running ${p.running}, failed ${p.failed}), ` +
    `shards ${p.shards.finished}/${p.shards.total}, ETA ${eta}${kinds ? `\n  ${kinds}` : ''}`
  );
}

async function watch(client: Client, workflowId: string): Promise<SweepProgress | undefined> {
  const handle = client.workflow.getHandle(workflowId);
  const bar = process.stderr.isTTY
    ? new SingleBar({
        stream: process.stderr,
        format:
          '{bar} {value}/{total} stages | run {done} cached {cached} running {running} failed {failed} | ETA {eta_formatted}',
      })
    : undefined;
  let last: SweepProgress | undefined;
  for (;;) {
    const desc = await handle.describe();
    try {
      last = await handle.query<SweepProgress>('progress');
    } catch {
      // a closed workflow may no longer answer queries (no worker); keep the last answer
    }
    if (last && bar) {
      if (!bar.getTotal()) bar.start(last.total, 0);
      bar.setTotal(last.total);
      bar.update(last.done + last.cached + last.failed + last.skipped, last);
    } else if (last) console.error(formatProgress(last));
    if (desc.status.name !== 'RUNNING') {
      bar?.stop();
      console.error(`workflow ${workflowId}: ${desc.status.name}`);
      return last;
    }
    await new Promise((r) => setTimeout(r, bar ? 1000 : 10000));
  }
}

export function addTemporalCommands(
  program: Command,
  loadSpec: (file: string) => Sweep,
  storeOption: () => Option,
): void {
  const settingsOf = (o: ConnectionFlags) => temporalSettings(o);
  connectionOptions(
    program
      .command('worker')
      .description('run a Temporal worker: heavy stages on the GPU queue, light stages and workflows on the CPU queue')
      .addOption(new Option('--queue <queue>', 'which queues to poll').choices([...WORKER_QUEUES]).default('all'))
      .option('--concurrency <n>', 'activities at once per queue', (v) => Number(v))
      .option('--gpu-queue <name>', 'GPU task queue name', DEFAULT_QUEUES.gpu)
      .option('--cpu-queue <name>', 'CPU task queue name', DEFAULT_QUEUES.cpu)
      .option('--workflow-queue <name>', 'workflow task queue name', DEFAULT_QUEUES.workflows)
      .option('--metrics-port <port>', "serve unprune's Prometheus metrics on /metrics", (v) => Number(v))
      .option('--sdk-metrics-port <port>', "serve the Temporal SDK's runtime metrics", (v) => Number(v))
      .option('--metrics-host <host>', 'address the metrics endpoints bind to', '127.0.0.1'),
  ).action(
    async (
      o: ConnectionFlags & {
        metricsPort?: number;
        sdkMetricsPort?: number;
        metricsHost: string;
        queue: WorkerQueue;
        concurrency?: number;
        gpuQueue: string;
        cpuQueue: string;
        workflowQueue: string;
      },
    ) => {
      const controller = new AbortController();
      process.on('SIGINT', () => controller.abort());
      process.on('SIGTERM', () => controller.abort());
      await runTemporalWorker(settingsOf(o), {
        queue: o.queue,
        concurrency: o.concurrency,
        queues: { gpu: o.gpuQueue, cpu: o.cpuQueue, workflows: o.workflowQueue },
        metricsPort: o.metricsPort,
        sdkMetricsPort: o.sdkMetricsPort,
        metricsHost: o.metricsHost,
        settings: loadSettings(process.env, {
          backend: program.opts<{ backend?: Settings['backend'] }>().backend,
        }),
        signal: controller.signal,
      });
    },
  );

  connectionOptions(
    program
      .command('submit')
      .description(
        'start a sweep on Temporal (or attach to the running one with the same spec); prints its id and UI link',
      )
      .argument('<file>', 'sweep spec')
      .addOption(storeOption())
      .option('--watch', 'then watch it until it ends'),
  ).action(async (file: string, o: ConnectionFlags & { store: string; watch?: boolean }) => {
    const sweep = loadSpec(file);
    if (!o.store.startsWith('s3://'))
      console.error(
        `note: --store ${o.store} is a local folder; every worker must see the same folder (use s3://… for a fleet)`,
      );
    const settings = settingsOf(o);
    const client = await temporalClient(settings);
    const { workflowId, plan } = await submitSweep(client, sweep, o.store);
    console.log(`sweep ${plan.id}: workflow ${workflowId}`);
    console.log(`Temporal UI: ${uiLink(settings, workflowId)}`);
    if (o.watch) await watch(client, workflowId);
  });

  const byId = (name: string, description: string) =>
    connectionOptions(
      program.command(name).description(description).argument('<sweep>', 'sweep id (name-hash) or workflow id'),
    );
  const workflowIdOf = (id: string) => (id.startsWith('unprune-sweep-') ? id : sweepWorkflowId(id));

  byId('status', 'print the progress of a sweep running on Temporal').action(async (id: string, o: ConnectionFlags) => {
    const client = await temporalClient(settingsOf(o));
    const handle = client.workflow.getHandle(workflowIdOf(id));
    try {
      const desc = await handle.describe();
      console.log(`workflow ${handle.workflowId}: ${desc.status.name}`);
      console.log(formatProgress(await handle.query<SweepProgress>('progress')));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new Error(`no sweep workflow ${handle.workflowId}`);
      throw err;
    }
  });
  byId('watch', 'follow a sweep running on Temporal with a progress bar').action(
    async (id: string, o: ConnectionFlags) => {
      await watch(await temporalClient(settingsOf(o)), workflowIdOf(id));
    },
  );
  byId('cancel', 'cancel a sweep running on Temporal (running stages are cancelled; finished ones stay stored)').action(
    async (id: string, o: ConnectionFlags) => {
      const client = await temporalClient(settingsOf(o));
      await client.workflow.getHandle(workflowIdOf(id)).cancel();
      console.log(`cancel requested for ${workflowIdOf(id)}`);
    },
  );
}

/** `run --engine temporal`: a configured server, else a local dev server from @temporalio/testing (needs internet). */
export async function runOnTemporal(sweep: Sweep, store: string, flags: ConnectionFlags): Promise<void> {
  const settings = temporalSettings(flags);
  if (!settings.defaulted) {
    const client = await temporalClient(settings);
    const { workflowId } = await submitSweep(client, sweep, store);
    console.error(`workflow ${workflowId}: ${uiLink(settings, workflowId)} (workers: \`unprune worker\`)`);
    await watch(client, workflowId);
    return;
  }
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  let env: Awaited<ReturnType<typeof TestWorkflowEnvironment.createLocal>>;
  try {
    env = await Promise.race([
      TestWorkflowEnvironment.createLocal(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out after 60 s')), 60_000)),
    ]);
  } catch (err) {
    throw new TemporalUnavailableError(
      `no Temporal server configured and a local dev server could not be started (${(err as Error).message.split('\n')[0]})`,
      err,
    );
  }
  try {
    const address = env.address;
    console.error(`local Temporal dev server at ${address}; UI at http://localhost:8233`);
    const controller = new AbortController();
    const worker = runTemporalWorker(
      { ...settings, address, defaulted: false },
      { queue: 'all', signal: controller.signal },
    );
    const { workflowId } = await submitSweep(env.client, sweep, store);
    await watch(env.client, workflowId);
    controller.abort();
    await worker;
  } finally {
    await env.teardown();
  }
}
