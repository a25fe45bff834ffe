// `unprune worker`: a Temporal worker process. Heavy stages (train, prune, gold, estimate, unlearn, unprune) on
// the GPU queue, light ones (forget, evaluate, planning, store look-ups) on the CPU queue; workflow tasks run on
// the CPU side. Stages run in child processes (worker/temporal-activities.ts), so this process only coordinates.
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { SharedActivitySlots } from './shared-activity-slots.js';
import { createActivities } from './temporal-activities.js';
import { serveMetrics, UnpruneMetrics } from './metrics.js';
import { loadSettings, type Settings } from './settings.js';
import { DEFAULT_QUEUES, type TaskQueues, type WorkerQueue } from '../workflows/sweep-types.js';
import { TemporalUnavailableError, type TemporalSettings } from './temporal-connection.js';

export interface WorkerOptions {
  queue: WorkerQueue;
  /** Serve unprune's metrics on this port (/metrics), and the Temporal SDK's own on sdkMetricsPort. */
  metricsPort?: number;
  metricsHost?: string;
  sdkMetricsPort?: number;
  /** Give up after this many connection attempts (default: keep trying until the signal aborts). */
  connectAttempts?: number;
  concurrency?: number;
  /**
   * Stages at once on this worker, shared by the queues it polls (instead of `concurrency`'s slots per queue): a
   * machine without a GPU runs heavy and light stages on the same cores, so one worker with a slot per core keeps
   * them busy without oversubscribing them (worker/shared-activity-slots.ts). `prefetch` then applies to both queues.
   */
  slots?: number;
  /**
   * Light-queue activities accepted beyond its slots, each waiting for the next free slot (default 1; 0: none).
   * Light stages last ~0.2 s, so the ~20 ms round trip between two of them is worth hiding, and a prefetched one
   * that waits while another worker idles loses little. Heavy stages last seconds to hours: none is prefetched.
   */
  prefetch?: number;
  queues?: Partial<TaskQueues>;
  /** The process settings (backend, native kernels, data folders); default: from the environment. */
  settings?: Settings;
  signal?: AbortSignal;
}

const WORKFLOWS = new URL('../workflows/index.ts', import.meta.url).pathname;

/**
 * How often heartbeats reach the server at most. A cancel reaches a running activity only with a heartbeat's
 * answer, and the SDK's default (up to 60 s for long heartbeat timeouts) made `cancel` take a minute.
 */
const HEARTBEAT_FLUSH = '2 seconds';

export async function runTemporalWorker(settings: TemporalSettings, opts: WorkerOptions): Promise<void> {
  const queues = { ...DEFAULT_QUEUES, ...opts.queues };
  const processSettings = opts.settings ?? loadSettings();
  const host = opts.metricsHost ?? '127.0.0.1';
  if (opts.sdkMetricsPort !== undefined) {
    // The SDK's runtime metrics (polls, task latencies, slots) from its Rust core's own Prometheus exporter.
    Runtime.install({
      telemetryOptions: {
        metrics: { prometheus: { bindAddress: `${host}:${opts.sdkMetricsPort}`, countersTotalSuffix: true } },
      },
    });
  }
  const metrics = new UnpruneMetrics({ role: `worker-${opts.queue}` });
  const served = opts.metricsPort !== undefined ? await serveMetrics(metrics, opts.metricsPort, host) : undefined;
  if (served) console.error(`unprune worker metrics: ${served.url}`);
  // Workers often start before the server is ready (compose): keep trying, with backoff, until stopped.
  let connection: NativeConnection | undefined;
  for (let attempt = 1; !connection; attempt++) {
    try {
      connection = await NativeConnection.connect({
        address: settings.address,
        tls: settings.tls,
        apiKey: settings.apiKey,
      });
    } catch (err) {
      if (opts.signal?.aborted || opts.connectAttempts === attempt)
        throw new TemporalUnavailableError(
          `cannot reach Temporal at ${settings.address} (${(err as Error).message})`,
          err,
        );
      const wait = Math.min(30, 2 ** Math.min(attempt - 1, 5));
      console.error(
        `unprune worker: cannot reach Temporal at ${settings.address} (attempt ${attempt}: ${(err as Error).message}); retrying in ${wait} s`,
      );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait * 1000);
        opts.signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
      if (opts.signal?.aborted) {
        served?.server.close();
        return;
      }
    }
  }
  const gpu = opts.queue === 'gpu' || opts.queue === 'all';
  const cpu = opts.queue === 'cpu' || opts.queue === 'all';
  const gpuSlots = opts.concurrency ?? 1;
  const cpuSlots = opts.concurrency ?? 2;
  const prefetch = opts.prefetch ?? 1;
  const shared = opts.slots;
  const polled = [gpu && queues.gpu, cpu && queues.cpu].filter((q): q is string => !!q);
  const activities = createActivities({
    settings: processSettings,
    slots: shared ?? (gpu ? gpuSlots : 0) + (cpu ? cpuSlots : 0),
    slotGroups:
      shared !== undefined
        ? [{ queues: polled, slots: shared }]
        : prefetch > 0
          ? [{ queues: [queues.cpu], slots: cpuSlots }]
          : undefined,
    observer: metrics,
  });
  // Shared slots: both activity Workers draw permits from one supplier (running slots plus prefetch).
  const sharedSupplier = shared !== undefined ? new SharedActivitySlots(shared + prefetch) : undefined;
  const activitySlots = (perQueue: number) =>
    sharedSupplier
      ? {
          tuner: {
            activityTaskSlotSupplier: sharedSupplier,
            // Activity-only Workers: they poll no workflow, local-activity or Nexus tasks.
            workflowTaskSlotSupplier: { type: 'fixed-size' as const, numSlots: 1 },
            localActivityTaskSlotSupplier: { type: 'fixed-size' as const, numSlots: 1 },
            nexusTaskSlotSupplier: { type: 'fixed-size' as const, numSlots: 1 },
          },
        }
      : { maxConcurrentActivityTaskExecutions: perQueue };
  const workers: Worker[] = [];
  // Listening before the workers exist: a stop requested while they are being created (bundling the workflows
  // takes seconds) shuts them down as soon as they are, instead of being lost.
  const stop = () => workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown());
  opts.signal?.addEventListener('abort', stop, { once: true });
  try {
    if (gpu)
      workers.push(
        await Worker.create({
          connection,
          namespace: settings.namespace,
          taskQueue: queues.gpu,
          activities,
          ...activitySlots(gpuSlots),
          maxHeartbeatThrottleInterval: HEARTBEAT_FLUSH,
        }),
      );
    if (cpu) {
      workers.push(
        await Worker.create({
          connection,
          namespace: settings.namespace,
          taskQueue: queues.cpu,
          activities,
          ...activitySlots(cpuSlots + prefetch),
          maxHeartbeatThrottleInterval: HEARTBEAT_FLUSH,
        }),
        await Worker.create({
          connection,
          namespace: settings.namespace,
          taskQueue: queues.workflows,
          workflowsPath: WORKFLOWS,
        }),
      );
    }
    console.error(
      `unprune worker: ${settings.address} namespace ${settings.namespace}, queues ${[...polled, ...(cpu ? [queues.workflows] : [])].join(', ')}, backend ${processSettings.backend}`,
    );
    // Per-queue slots run heavy stages one at a time: right for a GPU, half a 2-core machine's cores without one.
    if (gpu && cpu && shared === undefined && opts.concurrency === undefined && processSettings.backend !== 'node-gpu')
      console.error(
        'unprune worker: heavy stages run one at a time (one GPU-queue slot); without a GPU, `--slots N` (one per core) shares N slots between the queues',
      );
    const runs = workers.map((w) => w.run()); // RUNNING from here on, so a stop already requested applies now
    if (opts.signal?.aborted) stop();
    await Promise.all(runs);
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    await activities.close();
    await connection.close();
    served?.server.close();
  }
}
