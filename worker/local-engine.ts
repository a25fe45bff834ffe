// The embedded engine: the shared scheduler (sweep/runner.ts) driving a pool of child processes, one tfjs backend
// each (the wasm backend is single-threaded, so processes are the parallelism). A stage whose manifest exists is
// counted as cached; a failed stage is retried with backoff, then reported while independent stages go on; a
// cancel kills the running stages (they leave no manifest) and a rerun resumes from the store.
import { retryDelaySeconds, STAGE_RETRY } from '../sweep/retry-policy.js';
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { openStore, storeKind, type ArtifactStore } from '../store/artifact-store.js';
import type { StageStats } from '../activities/stage-context.js';
import type { UnpruneMetrics } from './metrics.js';
import type { AnyStage, Plan } from '../sweep/plan.js';
import type { ResultRow } from '../sweep/results/result-rows.js';
import { writeRows } from '../activities/sweep-rows.js';
import { runStages, type RunEvent, type RunSummary, type StageOutcome } from '../sweep/runner.js';
import { isPermanent } from '../ml/errors.js';
import { inputKeys, kindOfKey, STAGE_KIND } from '../sweep/stage-kinds.js';
import { loadSettings, type Settings } from './settings.js';
import type { EngineStage, ParentMessage, WorkerMessage } from './stage-messages.js';

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
  missing: number;
  rowsPath: string;
  /** Set when rows.jsonl could not be written (the store failed at the end). */
  rowsError?: string;
  backend?: string;
}

class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

const STAGE_PROCESS = new URL('./stage-process.ts', import.meta.url).pathname;

interface Worker {
  child: ChildProcess;
  ready: Promise<string>;
  busy: boolean;
  /** Hit a fatal error: replaced, never reused. */
  retired?: boolean;
}

/** A stage that exhausted its worker's memory, named with what it was training and what to change. */
function outOfMemoryMessage(stage: EngineStage, detail: string): string {
  const p = stage.params as { arch?: string; train?: { batch?: number } };
  const what = [p.arch, p.train?.batch !== undefined ? `batch ${p.train.batch}` : undefined].filter(Boolean).join(', ');
  return (
    `${stage.kind} ${stage.key}${what ? ` (${what})` : ''} ran out of memory in its worker process (${detail.split('\n')[0]}); ` +
    'the process was replaced and the stage is not retried: lower train.batch or run fewer --workers (a wasm ' +
    "backend's memory is at most 4 GiB per process); for the JavaScript heap, raise UNPRUNE_WORKER_HEAP_MB"
  );
}

/**
 * Node/V8 flags of the worker processes (UNPRUNE_WORKER_NODE_FLAGS, space-separated, replaces them, for
 * measuring). Measured on the quickstart (2 cores, per-thread CPU from /proc/<pid>/task):
 * - `--single-threaded-gc`: V8's parallel and concurrent GC threads took 12.8 CPU s next to a 68.5 s main thread
 *   on 1 worker; GC on the main thread alone cost it nothing measurable (67.6 s).
 * - `--heap-growing-percent=100`: the old generation may grow to twice the live heap before the next full GC.
 *   V8's default factor gave a full GC every ~0.1 s (111–315 per run), each of which also drops the optimised code
 *   of tfjs's short-lived closures, so the compiler redid it: 640 instead of 982 compilations, 18 full GCs.
 * - Not `--single-threaded`: it also stops wasm's background tier-up and cost the main thread ~7 s per run.
 */
const WORKER_NODE_FLAGS = [
  '--single-threaded-gc',
  '--heap-growing-percent=100',
  // tsx turns source maps on; in a worker they only cost: Node keeps the maps of tfjs's bundles (18 MB of the
  // 57 MB live heap that every full GC marks) and reading them adds 0.1 s to the start. Errors travel as messages.
  '--import=data:text/javascript,process.setSourceMapsEnabled(false)',
];

/**
 * When the pool fills every core there is no idle core for V8's background compiler (1.7 CPU s per worker per
 * quickstart): it preempts the other worker's stage instead. So the optimising compiler runs on the main thread
 * (quickstart on 2 workers 30.1 s, twice, against 30.5–30.8 s), and, being on the critical path now, does less:
 * functions tier up after 4× the default interrupt budget and inline half the default cumulative bytecode (six
 * alternating pairs: 0.2–1.5 s faster, 1.0 s on average, of ~31 s). With spare cores the background compiler is
 * free and none of this applies (main-thread compiling cost a 1-worker run 2–4 s).
 */
const FULL_POOL_NODE_FLAGS = [
  '--no-concurrent-recompilation',
  '--interrupt-budget=270336',
  '--max-inlined-bytecode-size-cumulative=460',
];

const acceptedFlags = new Map<string, string[]>();

/**
 * The flags this Node accepts, dropping any a newer V8 no longer knows (a worker given an unknown flag would not
 * start at all). One `node -e ''` per distinct list and parent process (~40 ms); one per flag if that fails.
 */
export function acceptedNodeFlags(flags: string[]): string[] {
  const key = flags.join('\0');
  let ok = acceptedFlags.get(key);
  if (!ok) {
    const accepts = (list: string[]) => {
      try {
        execFileSync(process.execPath, [...list, '-e', ''], { stdio: 'ignore', timeout: 30_000 });
        return true;
      } catch {
        return false;
      }
    };
    ok = accepts(flags) ? flags : flags.filter((f) => accepts([f]));
    acceptedFlags.set(key, ok);
  }
  return ok;
}

function workerNodeFlags(poolSize: number, override: string[] | undefined): string[] {
  if (override !== undefined) return override;
  const full = poolSize >= availableParallelism();
  return acceptedNodeFlags(full ? [...WORKER_NODE_FLAGS, ...FULL_POOL_NODE_FLAGS] : WORKER_NODE_FLAGS);
}

/** Child processes running stages, started on demand up to the pool size. */
class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly waiters: ((w: Worker) => void)[] = [];
  private closed = false;
  backend?: string;

  constructor(
    private readonly size: number,
    private readonly env: NodeJS.ProcessEnv,
    private readonly nodeFlags: string[] | undefined,
    private readonly heapMb: number,
    private readonly stallScale: number,
  ) {}

  private spawn(): Worker {
    const child = fork(STAGE_PROCESS, [], {
      // An explicit heap limit: a stage that needs more fails with a message instead of taking the machine down.
      execArgv: [
        '--import',
        'tsx',
        ...workerNodeFlags(this.size, this.nodeFlags),
        `--max-old-space-size=${this.heapMb}`,
      ],
      env: this.env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = new Promise<string>((resolve, reject) => {
      child.once('message', (m: WorkerMessage) =>
        m.type === 'ready' ? resolve(m.backend) : reject(new Error('bad hello')),
      );
      child.once('exit', (code, signal) =>
        reject(
          new Error(`worker process exited while starting (${signal ? `signal ${signal}` : `exit code ${code}`})`),
        ),
      );
    });
    ready.catch(() => undefined);
    const w: Worker = { child, ready, busy: false };
    this.workers.push(w);
    return w;
  }

  private async acquire(): Promise<Worker> {
    const idle = this.workers.find(
      (w) => !w.busy && !w.retired && w.child.exitCode === null && w.child.signalCode === null,
    );
    if (idle) return ((idle.busy = true), idle);
    const alive = this.workers.filter((w) => !w.retired && w.child.exitCode === null && w.child.signalCode === null);
    if (alive.length < this.size) {
      const w = this.spawn();
      w.busy = true;
      return w;
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(w: Worker): void {
    w.busy = false;
    if (w.retired || w.child.exitCode !== null || w.child.signalCode !== null) {
      this.workers.splice(this.workers.indexOf(w), 1);
      if (w.retired) w.child.kill('SIGKILL'); // in case it has not exited yet
    }
    const next = this.waiters.shift();
    if (next) void this.acquire().then(next);
  }

  async run(stage: EngineStage): Promise<{ outcome: StageOutcome; stats: StageStats }> {
    if (this.closed) throw new CancelledError();
    const w = await this.acquire();
    try {
      this.backend ??= await w.ready;
      await w.ready;
      return await new Promise<{ outcome: StageOutcome; stats: StageStats }>((resolve, reject) => {
        // Liveness: the process says it is alive every second; silence past the kind's limit means it is stopped
        // or stuck, so it is killed and the stage retried elsewhere.
        const limit = (STAGE_KIND[stage.kind].stallSeconds ?? 120) * this.stallScale;
        let lastSign = performance.now();
        const watchdog = setInterval(
          () => {
            if ((performance.now() - lastSign) / 1000 <= limit) return;
            cleanup();
            w.retired = true;
            w.child.kill('SIGKILL');
            reject(
              new Error(
                `${stage.kind} ${stage.key} made no progress for ${+limit.toFixed(1)} s (its kind's limit): its worker process was killed`,
              ),
            );
          },
          Math.min(1000, limit * 250),
        );
        const onMessage = (m: WorkerMessage) => {
          if (m.type === 'ready' || m.key !== stage.key) return;
          lastSign = performance.now();
          if (m.type === 'alive') return;
          cleanup();
          if (m.type === 'result') resolve({ outcome: m.outcome, stats: m.stats });
          else {
            if (m.fatal) w.retired = true; // never handed another stage; it exits by itself
            const message = m.fatal ? outOfMemoryMessage(stage, m.message) : m.message;
            const err = Object.assign(new Error(message), {
              stats: m.stats,
              permanent: m.permanent,
              inputKey: m.inputKey,
            });
            err.name = m.name;
            reject(err);
          }
        };
        const onExit = (code: number | null, signal: string | null) => {
          cleanup();
          if (this.closed) return reject(new CancelledError());
          // V8 aborts the process when its heap limit is reached (SIGABRT, or 134 through a shell): permanent.
          if (signal === 'SIGABRT' || code === 134)
            return reject(
              Object.assign(
                new Error(outOfMemoryMessage(stage, `the process aborted: ${signal ?? `exit code ${code}`}`)),
                {
                  permanent: true,
                },
              ),
            );
          reject(new Error(`worker process died (${signal ? `signal ${signal}` : `exit code ${code}`})`));
        };
        const cleanup = () => {
          clearInterval(watchdog);
          w.child.off('message', onMessage);
          w.child.off('exit', onExit);
        };
        w.child.on('message', onMessage);
        w.child.on('exit', onExit);
        w.child.send({ type: 'run', stage } satisfies ParentMessage);
      });
    } finally {
      this.release(w);
    }
  }

  /** Kills every worker (running stages leave no manifest); resolves once they have all exited. */
  close(): Promise<void> {
    this.closed = true;
    const alive = this.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    const exited = alive.map((w) => new Promise<void>((resolve) => w.child.once('exit', () => resolve())));
    for (const w of alive) w.child.kill('SIGKILL');
    return Promise.all(exited).then(() => undefined);
  }
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
  const { summary, store, backend } = await runStagesLocally(plan.stages, opts, plan.id, plan.sweep);
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
    missing: plan.cells.length,
    path: `sweeps/${plan.id}/rows.jsonl`,
  };
  metrics?.recordResults(plan.id, rows);
  metrics?.recordSweep(plan.id, summary.progress, { total: plan.cells.length, done: rows.length, failed: missing });
  return { summary, rows, missing, rowsPath: `${store.location}/${path}`, rowsError, backend };
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
  // Each corrupt artifact is reported once per run (the engine and the stage's own check may both find it).
  const reported = new Set<string>();
  const onCorrupt = (path: string, reason: string) => {
    if (reported.has(path)) return;
    reported.add(path);
    metrics?.corruptReads.inc();
    opts.onCorrupt?.(path, reason);
  };
  const metrics = opts.metrics;
  const store = openStore(opts.store, undefined, onCorrupt);
  if (spec !== undefined) await store.putText(`sweeps/${sweepId}/sweep.json`, JSON.stringify(spec, null, 2) + '\n');
  const workers = Math.max(1, opts.workers ?? availableParallelism());
  const settings = opts.settings ?? loadSettings();
  // Worker processes parse the same environment; the backend resolved here (flag over variable) goes with it.
  const pool = new WorkerPool(
    workers,
    { ...process.env, UNPRUNE_WORKER_STORE: opts.store, UNPRUNE_BACKEND: settings.backend },
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
            return r.outcome;
          } catch (err) {
            const e = err as Error & { stats?: StageStats; inputKey?: string };
            if (e.stats) metrics?.recordStats(stage.kind, { ...e.stats, corrupt: undefined }, kindOfStore);
            for (const c of e.stats?.corrupt ?? []) onCorrupt(c.path, c.reason);
            if (e instanceof CancelledError || opts.signal?.aborted) {
              if (running) metrics?.stagesInFlight.dec({ kind: stage.kind });
              throw new CancelledError();
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
    summary.failures = summary.failures.filter((f) => !(f.error instanceof CancelledError));
    summary.progress.failed = summary.failures.length;
    return { summary, store, backend: pool.backend };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await pool.close();
  }
}
