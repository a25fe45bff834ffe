// A pool of stage processes (worker/stage-process.ts), one tfjs backend each, shared by both engines: the local
// engine runs every stage through one; a Temporal worker runs each activity's stage in one, so tfjs memory and CPU
// never block its event loop (heartbeats, workflow tasks). Liveness, out-of-memory and cancellation are handled
// here once: a silent process is killed after its kind's limit, a fatal one is retired, a cancel kills the stage.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { StageStats } from '../activities/stage-context.js';
import type { StageOutcome } from '../sweep/runner.js';
import { stallSecondsOf } from '../sweep/stage-kinds.js';
import { CACHE, compiledEntry, writeCacheFile } from './compiled-entry.mjs';
import type { EngineStage, ParentMessage, WorkerMessage } from './stage-messages.js';

export class StageCancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

const STAGE_PROCESS = new URL('./stage-process.ts', import.meta.url).pathname;

interface StageProcess {
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

/**
 * glibc's malloc settings for the stage processes (GLIBC_TUNABLES, unless the environment sets its own). A page
 * touched for the first time costs ~15 µs on the VMs measured (a hypervisor exit; a 64 MB block, touched page by
 * page, in C), and by default glibc hands blocks over 128 KB (then its adaptive threshold) back to the kernel on
 * free and trims the heap's top: the next batch, weights copy or kernel matrix faults its pages in again. Blocks up
 * to 32 MB (glibc's limit for this setting) come from the heap, and the heap is not trimmed: a quickstart's page
 * faults 158k → 118k, the rest mostly each process's start and its data set. Ignored by other C libraries.
 */
const STAGE_MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296';

const acceptedFlags = new Map<string, string[]>();
/** Checked lists remembered per Node binary: each check spawns a node (~0.14 s before the first worker starts). */
const FLAGS_FILE = join(CACHE, 'node-flags.json');

type RememberedFlags = { node: string; execPath: string; lists: Record<string, string[]> };

function rememberedFlags(): RememberedFlags {
  try {
    const r = JSON.parse(readFileSync(FLAGS_FILE, 'utf8')) as RememberedFlags;
    if (r.node === process.version && r.execPath === process.execPath && r.lists) return r;
  } catch {
    // none yet, or unreadable: check afresh
  }
  return { node: process.version, execPath: process.execPath, lists: {} };
}

function rememberFlags(key: string, ok: string[]): void {
  try {
    const r = rememberedFlags();
    r.lists[key] = ok;
    mkdirSync(CACHE, { recursive: true });
    writeCacheFile(FLAGS_FILE, JSON.stringify(r));
  } catch {
    // a read-only install: check again next time
  }
}

/**
 * The flags this Node accepts, dropping any a newer V8 no longer knows (a worker given an unknown flag would not
 * start at all). One `node -e ''` per distinct list and Node binary (remembered in the cache folder); one per flag
 * if that fails.
 */
export function acceptedNodeFlags(flags: string[]): string[] {
  const key = flags.join('\0');
  let ok = acceptedFlags.get(key);
  if (!ok) {
    const remembered = rememberedFlags().lists[key];
    if (Array.isArray(remembered)) ok = remembered;
  }
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
    rememberFlags(key, ok);
  }
  acceptedFlags.set(key, ok);
  return ok;
}

function workerNodeFlags(poolSize: number, override: string[] | undefined): string[] {
  if (override !== undefined) return override;
  const full = poolSize >= availableParallelism();
  return acceptedNodeFlags(full ? [...WORKER_NODE_FLAGS, ...FULL_POOL_NODE_FLAGS] : WORKER_NODE_FLAGS);
}

/** Child processes running stages, started on demand up to the pool size. */
export class StagePool {
  private readonly workers: StageProcess[] = [];
  private readonly waiters: ((w: StageProcess) => void)[] = [];
  private closed = false;
  /** The stage process's bundle (null: run its TypeScript through tsx), found before the first process starts. */
  private entry?: Promise<string | undefined>;
  private entryPath?: string | null;
  backend?: string;

  constructor(
    private readonly size: number,
    private readonly env: NodeJS.ProcessEnv,
    private readonly nodeFlags: string[] | undefined,
    private readonly heapMb: number,
    private readonly stallScale: number,
  ) {}

  private spawn(): StageProcess {
    const bundle = this.entryPath;
    const child = fork(bundle ?? STAGE_PROCESS, [], {
      // An explicit heap limit: a stage that needs more fails with a message instead of taking the machine down.
      execArgv: [
        ...(bundle ? [] : ['--import', 'tsx']),
        ...workerNodeFlags(this.size, this.nodeFlags),
        `--max-old-space-size=${this.heapMb}`,
      ],
      env: { GLIBC_TUNABLES: STAGE_MALLOC_TUNABLES, ...this.env },
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
    const w: StageProcess = { child, ready, busy: false };
    this.workers.push(w);
    return w;
  }

  private async acquire(): Promise<StageProcess> {
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

  private release(w: StageProcess): void {
    w.busy = false;
    if (w.retired || w.child.exitCode !== null || w.child.signalCode !== null) {
      this.workers.splice(this.workers.indexOf(w), 1);
      if (w.retired) w.child.kill('SIGKILL'); // in case it has not exited yet
    }
    const next = this.waiters.shift();
    if (next) void this.acquire().then(next);
  }

  /**
   * Runs `stage` in an idle process (started if the pool has room). `onAlive` hears each sign of life with the
   * stage's latest progress text; an abort of `signal` kills the process (the stage leaves no manifest).
   */
  async run(
    stage: EngineStage,
    opts: { onAlive?: (detail: string | undefined) => void; signal?: AbortSignal } = {},
  ): Promise<{ outcome: StageOutcome; stats: StageStats }> {
    if (this.closed || opts.signal?.aborted) throw new StageCancelledError();
    if (this.entryPath === undefined) this.entryPath = (await (this.entry ??= compiledEntry(STAGE_PROCESS))) ?? null;
    const w = await this.acquire();
    try {
      this.backend ??= await w.ready;
      await w.ready;
      // Cancelled while it waited for a process: it never starts.
      if (opts.signal?.aborted) throw new StageCancelledError();
      return await new Promise<{ outcome: StageOutcome; stats: StageStats }>((resolve, reject) => {
        // Liveness: the process says it is alive every second; silence past the kind's limit means it is stopped
        // or stuck, so it is killed and the stage retried elsewhere.
        const limit = stallSecondsOf(stage.kind) * this.stallScale;
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
          if (m.type === 'alive') return opts.onAlive?.(m.detail);
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
          if (this.closed) return reject(new StageCancelledError());
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
        const onAbort = () => {
          cleanup();
          w.retired = true;
          w.child.kill('SIGKILL');
          reject(new StageCancelledError());
        };
        const cleanup = () => {
          opts.signal?.removeEventListener('abort', onAbort);
          clearInterval(watchdog);
          w.child.off('message', onMessage);
          w.child.off('exit', onExit);
        };
        opts.signal?.addEventListener('abort', onAbort, { once: true });
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
