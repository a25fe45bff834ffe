// The Temporal side of the CLI: worker, submit, status, watch, cancel, and `run --engine temporal`.
import { loadSettings, type Settings } from '../worker/settings.js';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { errorChain } from '../ml/errors.js';
import type { Command } from 'commander';
import { Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { sweepId } from '../sweep/plan.js';
import type { Sweep } from '../sweep/spec.js';
import {
  DEFAULT_QUEUES,
  SWEEP_NAME_ATTRIBUTE,
  SWEEP_STATUS_ATTRIBUTE,
  sweepWorkflowId,
  addShardCounts,
  WORKER_QUEUES,
  type WorkerQueue,
  type SweepInput,
  type SweepProgress,
} from '../workflows/sweep-types.js';
import type { ShardReport } from '../workflows/sweep-workflow.js';
import {
  temporalSettings,
  TemporalUnavailableError,
  type ConnectionFlags,
  type TemporalSettings,
} from '../worker/temporal-connection.js';

/** The worker (Temporal's worker SDK, the activities, tfjs) loads only for the commands that run one: ~1.7 s. */
const loadWorker = () => import('../worker/temporal-worker.js');
/** Temporal's client SDK (its protobuf definitions: ~0.4 s) loads when a command first talks to a server. */
const clientSdk = () => import('@temporalio/client');

export function connectionOptions(cmd: Command): Command {
  return cmd
    .option('--address <host:port>', 'Temporal frontend (default: TEMPORAL_ADDRESS, else localhost:7233)')
    .option('--namespace <ns>', 'Temporal namespace (default: TEMPORAL_NAMESPACE, else default)')
    .option('--api-key <key>', 'Temporal Cloud API key (default: TEMPORAL_API_KEY)')
    .option('--tls', 'connect with TLS (also TEMPORAL_TLS=true, TEMPORAL_TLS_CLIENT_CERT_PATH/KEY_PATH)')
    .option(
      '--ui-url <url>',
      'Temporal UI base URL for links (default: UNPRUNE_TEMPORAL_UI, else http://localhost:8080, the compose stack)',
    );
}

export async function temporalClient(settings: TemporalSettings): Promise<Client> {
  const { Client, Connection } = await clientSdk();
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

/** The run's page in the Temporal UI (the run id makes it a stable link, in older UIs too). */
export function uiLink(settings: TemporalSettings, workflowId: string, runId?: string): string {
  const base = `${settings.uiUrl}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}

/** A user's mistake at submit (a different store for a running sweep): exit 2, like a bad spec. */
export class SubmitError extends Error {
  readonly usage = true;
  constructor(message: string) {
    super(message);
    this.name = 'SubmitError';
  }
}

export interface Submitted {
  handle: WorkflowHandle;
  workflowId: string;
  runId: string;
  sweepId: string;
  /** started: a new run; attached: the run with this id was already running; finished: it ran before (no --rerun). */
  state: 'started' | 'attached' | 'finished';
  /** The finished run's status (state 'finished'). */
  closedStatus?: string;
  /** The store that run used (from its memo): where its results are, whatever --store this submit gave. */
  store?: string;
  searchAttributes: boolean;
}

/**
 * Starts the sweep; attaches to the running one with the same id (name + spec hash) if its store is the same, and
 * refuses a different store; a finished one is reported, not run again, unless `rerun`.
 */
export async function submitSweep(
  client: Client,
  sweep: Sweep,
  store: string,
  extra: Partial<SweepInput> & { rerun?: boolean } = {},
): Promise<Submitted> {
  const { rerun, ...input } = extra;
  const id = sweepId(sweep);
  const workflowId = sweepWorkflowId(id);
  const existing = await client.workflow
    .getHandle(workflowId)
    .describe()
    .catch(async (err: unknown) => {
      if (err instanceof (await clientSdk()).WorkflowNotFoundError) return undefined;
      throw err;
    });
  const attach = async (desc: WorkflowExecutionDescription): Promise<Submitted> => {
    const theirs = (desc.memo as { store?: string } | undefined)?.store;
    if (theirs !== undefined && theirs !== store)
      throw new SubmitError(
        `sweep ${id} is already running with --store ${theirs}; attach with that store, or cancel it first ` +
          `(\`unprune cancel ${id}\`)`,
      );
    return {
      handle: client.workflow.getHandle(workflowId, desc.runId),
      workflowId,
      runId: desc.runId,
      sweepId: id,
      state: 'attached',
      searchAttributes: false,
    };
  };
  if (existing?.status.name === 'RUNNING') return attach(existing);
  if (existing && !rerun)
    return {
      handle: client.workflow.getHandle(workflowId, existing.runId),
      workflowId,
      runId: existing.runId,
      sweepId: id,
      state: 'finished',
      closedStatus: existing.status.name,
      store: (existing.memo as { store?: string } | undefined)?.store,
      searchAttributes: false,
    };
  const start = (searchAttributes: boolean) =>
    client.workflow.start('sweepWorkflow', {
      taskQueue: input.queues?.workflows ?? DEFAULT_QUEUES.workflows,
      workflowId,
      args: [{ sweep, store, ...input, searchAttributes } satisfies SweepInput],
      // A finished run is only replaced on purpose (--rerun); a running one is attached to, never duplicated.
      workflowIdReusePolicy: rerun ? 'ALLOW_DUPLICATE' : 'REJECT_DUPLICATE',
      memo: { sweep: id, store, spec: sweep },
      typedSearchAttributes: searchAttributes
        ? [
            { key: SWEEP_NAME_ATTRIBUTE, value: sweep.name },
            { key: SWEEP_STATUS_ATTRIBUTE, value: 'submitted' },
          ]
        : undefined,
    });
  const started = async (searchAttributes: boolean): Promise<Submitted> => {
    try {
      const handle = await start(searchAttributes);
      return {
        handle,
        workflowId,
        runId: handle.firstExecutionRunId,
        sweepId: id,
        state: 'started',
        searchAttributes,
      };
    } catch (err) {
      // Started by someone else since we looked: attach to it.
      if (err instanceof (await clientSdk()).WorkflowExecutionAlreadyStartedError)
        return attach(await client.workflow.getHandle(workflowId).describe());
      throw err;
    }
  };
  try {
    return await started(true);
  } catch (err) {
    // The server's reason is in the error's cause ("Failed to start Workflow" is the client's wrapper).
    if (!/search attribute/i.test(errorChain(err))) throw err;
    console.error(
      'note: the namespace lacks the UnpruneSweep/UnpruneStatus search attributes; register them with ' +
        '`temporal operator search-attribute create --name UnpruneSweep --type Keyword` (and UnpruneStatus) to filter sweeps in the UI',
    );
    return started(false);
  }
}

export function formatProgress(p: SweepProgress): string {
  const eta = p.etaSeconds === null ? '–' : `${Math.round(p.etaSeconds)} s`;
  const kinds = Object.entries(p.byKind)
    .map(([k, v]) => `${k} ${v.done}+${v.cached}c${v.failed ? ` ${v.failed}f` : ''}`)
    .join(', ');
  const lines = [
    `${p.status}: ${p.done + p.cached}/${p.total} stages (run ${p.done}, cached ${p.cached}, running ${p.running}, ` +
      `failed ${p.failed}, skipped ${p.skipped}), shards ${p.shards.finished}/${p.shards.total}` +
      (p.shards.failed ? ` (${p.shards.failed} failed)` : '') +
      (p.status === 'running' ? `, ETA ${eta}` : ''),
  ];
  if (kinds) lines.push(`  ${kinds}`);
  if (p.rows) lines.push(`  rows: ${p.rows.rows} cells, ${p.rows.missing} missing (${p.rows.path})`);
  for (const f of p.failures) lines.push(`  failed: ${f.label} (${f.key}): ${f.error}`);
  if (p.failed > p.failures.length) lines.push(`  … and ${p.failed - p.failures.length} more failed stages`);
  return lines.join('\n');
}

/** What a sweep run came to: its status, its progress (from the result or the failure's details) and its reason. */
export interface SweepOutcome {
  status: string;
  progress?: SweepProgress;
  reason?: string;
  /** The run's store and sweep id (its memo): where a closed run's finished stages and rows are. */
  store?: string;
  sweepId?: string;
}

/**
 * The state of a sweep run. A closed run answers from its result (or its failure's details) with no query, so no
 * worker is needed; a running one is queried, waiting at most `queryTimeoutMs` for a worker to answer.
 */
export async function sweepOutcome(handle: WorkflowHandle, queryTimeoutMs = 10_000): Promise<SweepOutcome> {
  const desc = await handle.describe();
  const status = desc.status.name;
  const memo = (desc.memo ?? {}) as { store?: string; sweep?: string };
  const where = { store: memo.store, sweepId: memo.sweep };
  if (status === 'RUNNING') {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`no worker answered within ${queryTimeoutMs / 1000} s (is \`unprune worker\` running?)`)),
        queryTimeoutMs,
      );
    });
    try {
      const progress = await Promise.race([handle.query<SweepProgress>('progress'), timeout]);
      return { status, ...where, progress: await withRunningShards(handle, progress, desc.startTime) };
    } catch (err) {
      return { status, ...where, reason: errorChain(err) };
    } finally {
      clearTimeout(timer);
    }
  }
  try {
    return { status, ...where, progress: (await handle.result()) as SweepProgress };
  } catch (err) {
    const sdk = await clientSdk();
    const failure = err instanceof sdk.WorkflowFailedError ? err.cause : undefined;
    const details =
      failure instanceof sdk.ApplicationFailure ? (failure.details?.[0] as SweepProgress | undefined) : undefined;
    return {
      status,
      ...where,
      progress: details?.total !== undefined ? details : undefined,
      reason: errorChain(failure ?? err),
    };
  }
}

/** The parent's progress (finished shards) plus each running shard's own live progress, which it answers by query. */
async function withRunningShards(handle: WorkflowHandle, p: SweepProgress, started: Date): Promise<SweepProgress> {
  const live = await Promise.all(
    (p.runningShards ?? []).map((id) =>
      handle.client
        .getHandle(id)
        .query<ShardReport>('shardProgress')
        .catch(() => undefined),
    ),
  );
  const out: SweepProgress = { ...p, byKind: structuredClone(p.byKind), failures: [...p.failures] };
  addShardCounts(
    out,
    live.filter((r): r is ShardReport => r !== undefined),
    (Date.now() - started.getTime()) / 1000,
  );
  return out;
}

function printOutcome(workflowId: string, o: SweepOutcome): void {
  console.log(`workflow ${workflowId}: ${o.status}`);
  if (o.progress) console.log(formatProgress(o.progress));
  if (o.reason && !(o.progress && o.status === 'FAILED')) console.log(`  ${o.reason}`);
  if (o.status !== 'RUNNING' && o.status !== 'COMPLETED' && o.store && o.sweepId)
    // A closed run that did not complete: its finished stages are stored, and a rerun skips them.
    console.log(
      `  its finished stages are in ${o.store}: \`unprune plan SPEC --store ${o.store}\` counts them, ` +
        `\`unprune submit SPEC --store ${o.store} --rerun\` resumes, ` +
        `\`unprune results ${o.sweepId} --store ${o.store} --partial\` shows the cells done`,
    );
}

/** Follows a run until it closes; returns how it ended. */
export async function watch(handle: WorkflowHandle): Promise<SweepOutcome> {
  const bar = process.stderr.isTTY
    ? new SingleBar({
        stream: process.stderr,
        format:
          '{bar} {value}/{total} stages | run {done} cached {cached} running {running} failed {failed} | {status} | ETA {eta_formatted}',
      })
    : undefined;
  // The sweep's end wakes the loop at once (its result's long poll): polling alone noticed it up to 10 s late.
  // If that poll ends without the sweep ending (a lost connection), the loop goes on polling.
  let closed: Promise<'closed'> | undefined = handle.result().then(
    () => 'closed' as const,
    () => 'closed' as const,
  );
  for (;;) {
    const o = await sweepOutcome(handle);
    const p = o.progress;
    if (p && bar) {
      if (!bar.getTotal()) bar.start(p.total, 0);
      bar.setTotal(p.total);
      bar.update(p.done + p.cached + p.failed + p.skipped, p);
    } else if (p && o.status === 'RUNNING') console.error(formatProgress(p));
    if (o.status !== 'RUNNING') {
      bar?.stop();
      return o;
    }
    let timer: NodeJS.Timeout | undefined;
    const tick = new Promise<'tick'>((r) => (timer = setTimeout(() => r('tick'), bar ? 1000 : 10000)));
    if ((await (closed ? Promise.race([closed, tick]) : tick)) === 'closed') closed = undefined;
    clearTimeout(timer);
  }
}

export function addTemporalCommands(
  program: Command,
  loadSpec: (file: string, maxCells?: number) => Sweep,
  storeOption: () => Option,
  maxCellsOption: () => Option,
  wholeNumber: (what: string, min: number) => (v: string) => number,
): void {
  const settingsOf = (o: ConnectionFlags) => temporalSettings(o);
  connectionOptions(
    program
      .command('worker')
      .description('run a Temporal worker: heavy stages on the GPU queue, light stages and workflows on the CPU queue')
      .addOption(new Option('--queue <queue>', 'which queues to poll').choices([...WORKER_QUEUES]).default('all'))
      .option(
        '--concurrency <n>',
        'activities at once per queue (default: 1 GPU, 2 CPU)',
        wholeNumber('--concurrency', 1),
      )
      .addOption(
        new Option(
          '--slots <n>',
          'stages at once, shared by the GPU and CPU queues (instead of --concurrency; a machine without a GPU: one per core)',
        )
          .argParser(wholeNumber('--slots', 1))
          .conflicts('concurrency'),
      )
      .option(
        '--prefetch <n>',
        'light-queue activities (with --slots: any) taken beyond the slots, each starting as one frees (0: none)',
        wholeNumber('--prefetch', 0),
        1,
      )
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
        slots?: number;
        prefetch: number;
        gpuQueue: string;
        cpuQueue: string;
        workflowQueue: string;
      },
    ) => {
      const controller = new AbortController();
      process.on('SIGINT', () => controller.abort());
      process.on('SIGTERM', () => controller.abort());
      await (
        await loadWorker()
      ).runTemporalWorker(settingsOf(o), {
        queue: o.queue,
        concurrency: o.concurrency,
        slots: o.slots,
        prefetch: o.prefetch,
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
        'start a sweep on Temporal; a running one with the same spec is attached to, a finished one reported (--rerun runs it again)',
      )
      .argument('<file>', 'sweep spec')
      .addOption(storeOption())
      .addOption(maxCellsOption())
      .option('--rerun', 'start a new run even if this spec has finished before (stored stages are reused)')
      .option('--watch', 'then watch it until it ends'),
  ).action(
    async (
      file: string,
      o: ConnectionFlags & { store: string; watch?: boolean; rerun?: boolean; maxCells?: number },
    ) => {
      const sweep = loadSpec(file, o.maxCells);
      if (!o.store.startsWith('s3://'))
        console.error(
          `note: --store ${o.store} is a local folder; every worker must see the same folder (use s3://… for a fleet)`,
        );
      const settings = settingsOf(o);
      const client = await temporalClient(settings);
      const s = await submitSweep(client, sweep, o.store, { maxCells: o.maxCells, rerun: o.rerun });
      const what = { started: 'started', attached: 'already running: attached', finished: 'finished before' }[s.state];
      console.log(`sweep ${s.sweepId}: workflow ${s.workflowId} (${what})`);
      console.log(`Temporal UI: ${uiLink(settings, s.workflowId, s.runId)}`);
      if (s.state === 'finished') {
        const theirs = s.store ?? o.store;
        console.log(
          `it ended ${s.closedStatus}; its results: \`unprune results ${s.sweepId} --store ${theirs}\` ` +
            `(rows in ${theirs}/sweeps/${s.sweepId}/rows.jsonl); \`unprune submit ${file} --store ${o.store} --rerun\` ` +
            (theirs === o.store ? 'runs it again' : `runs it in ${o.store}`),
        );
        return;
      }
      if (o.watch) exitWith(await watch(s.handle));
    },
  );

  const byId = (name: string, description: string) =>
    connectionOptions(
      program
        .command(name)
        .description(description)
        .argument('<sweep>', 'the sweep: its spec file, its id (name-hash) or its workflow id'),
    );
  /** A spec file, a sweep id or a workflow id, like `results` takes. */
  const workflowIdOf = (what: string) =>
    existsSync(what) && !existsSync(`${what}/manifest.json`)
      ? sweepWorkflowId(sweepId(loadSpec(what, Number.MAX_SAFE_INTEGER)))
      : what.startsWith('unprune-sweep-')
        ? what
        : sweepWorkflowId(what);
  const handleOf = async (what: string, o: ConnectionFlags) => {
    const client = await temporalClient(settingsOf(o));
    const handle = client.workflow.getHandle(workflowIdOf(what));
    try {
      await handle.describe();
    } catch (err) {
      if (err instanceof (await clientSdk()).WorkflowNotFoundError)
        throw new SubmitError(`no sweep workflow ${handle.workflowId} on this server (submit it first)`);
      throw err;
    }
    return handle;
  };

  byId('status', 'print the progress of a sweep on Temporal (a finished one answers from its result)').action(
    async (what: string, o: ConnectionFlags) => {
      const handle = await handleOf(what, o);
      printOutcome(handle.workflowId, await sweepOutcome(handle));
    },
  );
  byId('watch', 'follow a sweep running on Temporal with a progress bar').action(
    async (what: string, o: ConnectionFlags) => {
      const handle = await handleOf(what, o);
      exitWith(await watch(handle));
    },
  );
  byId(
    'cancel',
    'cancel a sweep running on Temporal: every shard cancels its running stages and waits for them; finished ones stay stored',
  ).action(async (what: string, o: ConnectionFlags & { wait?: boolean }) => {
    const handle = await handleOf(what, o);
    await handle.cancel();
    console.log(`cancel requested for ${handle.workflowId}; \`unprune status\` shows cancelling, then cancelled`);
  });
}

/** Prints how a watched run ended; a run that did not complete sets a non-zero exit status. */
function exitWith(o: SweepOutcome): void {
  if (o.progress) console.error(formatProgress(o.progress));
  if (o.status !== 'COMPLETED') {
    console.error(`sweep ${o.status.toLowerCase()}${o.reason ? `: ${o.reason}` : ''}`);
    process.exitCode = 1;
  }
}

/**
 * `run --engine temporal`: a configured server, else a local dev server from @temporalio/testing (needs internet).
 * Returns how the run ended; the caller prints results only for a completed one.
 */
export async function runOnTemporal(
  sweep: Sweep,
  store: string,
  flags: ConnectionFlags & { maxCells?: number },
): Promise<SweepOutcome> {
  const settings = temporalSettings(flags);
  if (!settings.defaulted) {
    const client = await temporalClient(settings);
    const s = await submitSweep(client, sweep, store, { maxCells: flags.maxCells, rerun: true });
    console.error(`workflow ${s.workflowId}: ${uiLink(settings, s.workflowId, s.runId)} (workers: \`unprune worker\`)`);
    return watch(s.handle);
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
  const controller = new AbortController();
  let worker: Promise<void> | undefined;
  try {
    const address = env.address;
    console.error(`local Temporal dev server at ${address}; UI at http://localhost:8233`);
    const { runTemporalWorker } = await loadWorker();
    // One worker with a stage slot per core, shared by both queues: this machine's cores, as the local engine uses them.
    worker = runTemporalWorker(
      { ...settings, address, defaulted: false },
      { queue: 'all', slots: availableParallelism(), signal: controller.signal },
    );
    const s = await submitSweep(env.client, sweep, store, { maxCells: flags.maxCells, rerun: true });
    return await watch(s.handle);
  } finally {
    controller.abort();
    await worker?.catch(() => undefined);
    await env.teardown();
  }
}
