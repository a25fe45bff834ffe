// The embedded engine: the shared scheduler (sweep/runner.ts) driving a pool of child processes, one tfjs backend
// each (the wasm backend is single-threaded, so processes are the parallelism). A stage whose manifest exists is
// counted as cached; a failed stage is retried with backoff, then reported while independent stages go on; a
// cancel kills the running stages (they leave no manifest) and a rerun resumes from the store.
import { retryDelaySeconds, STAGE_RETRY } from '../sweep/retry-policy.js';
import { availableParallelism } from 'node:os';
import { openStore, storeKind, type ArtifactStore } from '../store/artifact-store.js';
import type { StageStats } from '../activities/stage-context.js';
import type { UnpruneMetrics } from './metrics.js';
import type { AnyStage, Cell, Plan } from '../sweep/plan.js';
import type { ResultRow } from '../sweep/results/result-rows.js';
import { prefetchMeasurements, writeRows } from '../activities/sweep-rows.js';
import { runStages, type RunEvent, type RunSummary } from '../sweep/runner.js';
import { isPermanent } from '../ml/errors.js';
import { inputKeys, kindOfKey } from '../sweep/stage-kinds.js';
import { loadSettings, stageProcessEnv, type Settings } from './settings.js';
import type { EngineStage } from './stage-messages.js';
import { StageCancelledError, StagePool } from './stage-pool.js';

export { acceptedNodeFlags } from './stage-pool.js';

export interface LocalRunOptions {
  store: string;
  /** Worker processes (default: one per core). */
  workers?: number;
  /** The process settings (backend, native kernels, data folders, worker flags); default: from the environment. */
  settings?: Settings;
  /** Extra attempts after a failure and the first wait (default: sweep/retry-policy.ts, 4 and 1 s, doubling). */
  retries?: number;
  retryDelayMs?: number;
  onEvent?: (e: EngineEvent) => void;
  /** An artifact failed its check (it is recomputed, never used); called in this process and for worker reports. */
  onCorrupt?: (path: string, reason: string) => void;
  signal?: AbortSignal;
  /** Records stage, store, training and result metrics (served by the CLI on /metrics). */
  metrics?: UnpruneMetrics;
}

export type EngineEvent =
  | RunEvent<EngineStage>
  | { type: 'retry'; stage: EngineStage; attempt: number; of: number; delaySeconds: number; error: string }
  | { type: 'recompute'; stage: EngineStage; for: EngineStage };

export interface LocalRunResult {
  summary: RunSummary<AnyStage>;
  rows: ResultRow[];
  /** Cells without a complete row (a stage on their chain failed or the run was cancelled). */
  missing: Cell[];
  rowsPath: string;
  /** Set when rows.jsonl could not be written (the store failed at the end). */
  rowsError?: string;
  backend?: string;
}

/** Waits `ms`, or less if `signal` aborts; the abort listener goes with the wait (retries would pile them up). */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const onAbort = () => (clearTimeout(t), resolve());
    const t = setTimeout(() => (signal?.removeEventListener('abort', onAbort), resolve()), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export async function runSweepLocally(plan: Plan, opts: LocalRunOptions): Promise<LocalRunResult> {
  const metrics = opts.metrics;
  // Each evaluation's measurements are read (and verified into the store's cache) as it finishes, while the other
  // worker still runs, and the stage processes exit while the rows are written: the run's end waits on neither.
  const { summary, store, backend, closed } = await runStagesInPool(
    plan.stages,
    opts,
    plan.id,
    plan.sweep,
    prefetchMeasurements,
  );
  try {
    // Rows are rebuilt from the store; if they cannot be written now, the stages are safe and a rerun writes them.
    let written: Awaited<ReturnType<typeof writeRows>> | undefined;
    let rowsError: string | undefined;
    try {
      written = await writeRows(store, plan);
    } catch (err) {
      rowsError = (err as Error).message;
    }
    const { rows, missing, path } = written ?? {
      rows: [],
      missing: plan.cells,
      path: `sweeps/${plan.id}/rows.jsonl`,
    };
    metrics?.recordResults(plan.id, rows);
    metrics?.recordSweep(plan.id, summary.progress, {
      total: plan.cells.length,
      done: rows.length,
      failed: missing.length,
    });
    return { summary, rows, missing, rowsPath: `${store.location}/${path}`, rowsError, backend };
  } finally {
    await closed;
  }
}

/**
 * Runs any stage list through the scheduler and the worker pool (a plan's stages, or no-op stages when measuring
 * the engine itself). `sweepId` labels progress metrics and names the folder the spec is written to.
 */
export async function runStagesLocally<S extends EngineStage>(
  stages: S[],
  opts: LocalRunOptions,
  sweepId: string,
  spec?: unknown,
): Promise<{ summary: RunSummary<S>; store: ArtifactStore; backend?: string }> {
  const { closed, ...ran } = await runStagesInPool(stages, opts, sweepId, spec);
  await closed;
  return ran;
}

/** The blobs the engine's own store keeps verified when it reads results as stages finish (a quickstart's: ~0.5 MB). */
const ENGINE_VERIFIED_CACHE_BYTES = 8 * 1024 * 1024;

/**
 * runStagesLocally, with `afterStage` called (its errors ignored) after each stage a worker completes, and the
 * pool's closing returned instead of awaited when the stages succeed.
 */
async function runStagesInPool<S extends EngineStage>(
  stages: S[],
  opts: LocalRunOptions,
  sweepId: string,
  spec?: unknown,
  afterStage?: (store: ArtifactStore, stage: S) => Promise<unknown>,
): Promise<{ summary: RunSummary<S>; store: ArtifactStore; backend?: string; closed: Promise<void> }> {
  // Each corrupt artifact is reported once per run (the engine and the stage's own check may both find it).
  const reported = new Set<string>();
  const onCorrupt = (path: string, reason: string) => {
    if (reported.has(path)) return;
    reported.add(path);
    metrics?.corruptReads.inc();
    opts.onCorrupt?.(path, reason);
  };
  const metrics = opts.metrics;
  const store = openStore(opts.store, undefined, onCorrupt, afterStage ? ENGINE_VERIFIED_CACHE_BYTES : 0);
  if (spec !== undefined) await store.putText(`sweeps/${sweepId}/sweep.json`, JSON.stringify(spec, null, 2) + '\n');
  const workers = Math.max(1, opts.workers ?? availableParallelism());
  const settings = opts.settings ?? loadSettings();
  // Worker processes parse the same environment; the settings resolved here (a --backend flag) go with it.
  const pool = new StagePool(
    workers,
    { ...process.env, ...stageProcessEnv(settings), UNPRUNE_WORKER_STORE: opts.store },
    settings.workerNodeFlags,
    settings.workerHeapMb,
    settings.stallScale,
  );
  const retries = opts.retries ?? STAGE_RETRY.retries;
  const kindOfStore = storeKind(opts.store);
  const initialSeconds = opts.retryDelayMs !== undefined ? opts.retryDelayMs / 1000 : STAGE_RETRY.initialSeconds;
  const onAbort = () => void pool.close();
  const byKey = new Map<string, S>(stages.map((s) => [s.key, s]));
  const healed = new Set<string>();
  const recomputing = new Map<string, Promise<void>>();
  /** Runs `key` again (after any of its own inputs that are gone), once at a time per key. */
  const recompute = (key: string, dependent: S): Promise<void> => {
    let p = recomputing.get(key);
    if (!p) {
      const s = byKey.get(key)!;
      p = (async () => {
        for (const dep of inputKeys(s)) if (!(await store.isDone(kindOfKey(dep), dep))) await recompute(dep, s);
        opts.onEvent?.({ type: 'recompute', stage: s, for: dependent });
        await pool.run(s);
      })().finally(() => recomputing.delete(key));
      recomputing.set(key, p);
    }
    return p;
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const summary = await runStages(stages, {
      concurrency: workers,
      shouldStop: () => opts.signal?.aborted ?? false,
      onEvent: (e) => {
        metrics?.recordSweep(sweepId, e.progress);
        opts.onEvent?.(e);
      },
      execute: async (stage) => {
        const start = performance.now();
        const seconds = () => (performance.now() - start) / 1000;
        let running = false;
        for (let attempt = 0; ; attempt++) {
          try {
            // The store check is inside the retry loop too: an unreachable store is retried, not a failure.
            if (await store.isDone(stage.kind, stage.key)) {
              metrics?.stageEnded(stage.kind, 'cached', seconds(), undefined, running);
              return 'cached';
            }
            if (!running) metrics?.stageStarted(stage.kind);
            running = true;
            const r = await pool.run(stage);
            metrics?.stageEnded(stage.kind, r.outcome === 'cached' ? 'cached' : 'completed', seconds(), undefined);
            metrics?.recordStats(stage.kind, { ...r.stats, corrupt: undefined }, kindOfStore);
            for (const c of r.stats.corrupt ?? []) onCorrupt(c.path, c.reason);
            if (afterStage) setImmediate(() => void afterStage(store, stage).catch(() => undefined));
            return r.outcome;
          } catch (err) {
            const e = err as Error & { stats?: StageStats; inputKey?: string };
            if (e.stats) metrics?.recordStats(stage.kind, { ...e.stats, corrupt: undefined }, kindOfStore);
            for (const c of e.stats?.corrupt ?? []) onCorrupt(c.path, c.reason);
            if (e instanceof StageCancelledError || opts.signal?.aborted) {
              if (running) metrics?.stagesInFlight.dec({ kind: stage.kind });
              throw new StageCancelledError();
            }
            // A finished input went missing or corrupt after it was checked: recompute it (and anything it needs
            // that is gone too), then run this stage again — not an attempt of its own.
            if (e.inputKey && byKey.has(e.inputKey) && !healed.has(`${stage.key}>${e.inputKey}`)) {
              healed.add(`${stage.key}>${e.inputKey}`);
              await recompute(e.inputKey, stage);
              attempt--;
              continue;
            }
            if (attempt >= retries || isPermanent(e)) {
              if (running) metrics?.stageEnded(stage.kind, 'failed', seconds());
              else metrics?.stagesTotal.inc({ kind: stage.kind, outcome: 'failed' });
              throw e;
            }
            const delay = 1000 * retryDelaySeconds(attempt, initialSeconds);
            metrics?.stagesTotal.inc({ kind: stage.kind, outcome: 'retried' });
            opts.onEvent?.({
              type: 'retry',
              stage,
              attempt: attempt + 1,
              of: retries,
              delaySeconds: delay / 1000,
              error: e.message,
            });
            await sleep(delay, opts.signal);
          }
        }
      },
    });
    summary.failures = summary.failures.filter((f) => !(f.error instanceof StageCancelledError));
    summary.progress.failed = summary.failures.length;
    return { summary, store, backend: pool.backend, closed: pool.close() };
  } catch (err) {
    await pool.close();
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
