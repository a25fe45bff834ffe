// The DAG scheduler both engines drive: it starts ready stages (inputs done) up to a concurrency limit, in plan
// order, records outcomes, skips the dependents of a failed stage while independent stages go on, and stops
// starting work on cancel. Deterministic by construction (no clock, no randomness, no I/O of its own), so the
// Temporal workflow runs this same code with activities as `execute` and the local engine with child processes.

export interface SchedulableStage {
  key: string;
  kind: string;
  inputs: object;
}

/** What running a stage came to: computed now, or found in the store. */
export type StageOutcome = 'done' | 'cached';

export type StageState = 'waiting' | 'ready' | 'running' | 'done' | 'cached' | 'failed' | 'skipped';

export interface RunProgress {
  total: number;
  /** Computed in this run. */
  done: number;
  /** Found in the store. */
  cached: number;
  running: number;
  failed: number;
  /** Not run because an input failed. */
  skipped: number;
  /** Not finished yet (waiting, ready or running). */
  remaining: number;
}

export type RunEvent<S extends SchedulableStage> =
  | { type: 'started'; stage: S; progress: RunProgress }
  | { type: 'finished'; stage: S; outcome: StageOutcome; progress: RunProgress }
  | { type: 'failed'; stage: S; error: Error; skipped: S[]; progress: RunProgress };

export interface RunSummary<S extends SchedulableStage> {
  progress: RunProgress;
  /** Each failed stage with its final error (the Error itself, cause chain included, until it is shown). */
  failures: { stage: S; error: Error }[];
  /** True when the run stopped early on cancel (unfinished stages remain). */
  cancelled: boolean;
  states: Map<string, StageState>;
}

/** A binary min-heap of plan indices: ready stages start in plan order. */
class IndexHeap {
  private readonly items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  push(v: number): void {
    const a = this.items;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= v) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = v;
  }
  pop(): number | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const c = l + 1 < a.length && a[l + 1]! < a[l]! ? l + 1 : l;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

export class StageScheduler<S extends SchedulableStage> {
  private readonly index = new Map<string, number>();
  private readonly dependents: number[][];
  private readonly missingInputs: number[];
  private readonly ready = new IndexHeap();
  readonly states: StageState[];
  private counts = { done: 0, cached: 0, running: 0, failed: 0, skipped: 0 };
  private cancelled = false;

  constructor(readonly stages: readonly S[]) {
    stages.forEach((s, i) => {
      if (this.index.has(s.key)) throw new Error(`stage ${s.key} appears twice`);
      this.index.set(s.key, i);
    });
    this.dependents = stages.map(() => []);
    this.missingInputs = stages.map(() => 0);
    this.states = stages.map(() => 'waiting');
    stages.forEach((s, i) => {
      for (const dep of new Set(Object.values(s.inputs as Record<string, string | undefined>))) {
        if (!dep) continue;
        const d = this.index.get(dep);
        if (d === undefined) throw new Error(`stage ${s.key} (${s.kind}) needs ${dep}, which is not in the plan`);
        if (d >= i) throw new Error(`stage ${s.key} (${s.kind}) comes before its input ${dep}`);
        this.dependents[d]!.push(i);
        this.missingInputs[i]!++;
      }
      if (this.missingInputs[i] === 0) {
        this.states[i] = 'ready';
        this.ready.push(i);
      }
    });
  }

  progress(): RunProgress {
    const { done, cached, running, failed, skipped } = this.counts;
    const total = this.stages.length;
    return { total, done, cached, running, failed, skipped, remaining: total - done - cached - failed - skipped };
  }

  /** Stops handing out stages; running ones finish. */
  cancel(): void {
    this.cancelled = true;
  }
  get isCancelled(): boolean {
    return this.cancelled;
  }

  /** The next stage to start, or undefined when none is ready (or the run is cancelled). */
  take(): S | undefined {
    if (this.cancelled) return undefined;
    const i = this.ready.pop();
    if (i === undefined) return undefined;
    this.states[i] = 'running';
    this.counts.running++;
    return this.stages[i];
  }

  complete(key: string, outcome: StageOutcome): void {
    const i = this.running(key);
    this.states[i] = outcome;
    this.counts[outcome]++;
    for (const d of this.dependents[i]!) {
      if (--this.missingInputs[d]! === 0 && this.states[d] === 'waiting') {
        this.states[d] = 'ready';
        this.ready.push(d);
      }
    }
  }

  /** Marks a stage failed and every stage downstream of it skipped; returns the skipped ones. */
  fail(key: string): S[] {
    const i = this.running(key);
    this.states[i] = 'failed';
    this.counts.failed++;
    const skipped: S[] = [];
    const stack = [...this.dependents[i]!];
    while (stack.length) {
      const d = stack.pop()!;
      if (this.states[d] !== 'waiting') continue;
      this.states[d] = 'skipped';
      this.counts.skipped++;
      skipped.push(this.stages[d]!);
      stack.push(...this.dependents[d]!);
    }
    return skipped.sort((a, b) => this.index.get(a.key)! - this.index.get(b.key)!);
  }

  private running(key: string): number {
    const i = this.index.get(key);
    if (i === undefined || this.states[i] !== 'running') throw new Error(`stage ${key} is not running`);
    this.counts.running--;
    return i;
  }

  stateOf(key: string): StageState | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.states[i];
  }
}

export interface RunOptions<S extends SchedulableStage> {
  /** Stages in flight at once (≥ 1). */
  concurrency: number;
  /** Runs one stage; resolves with its outcome, rejects with its (final) error. */
  execute: (stage: S) => Promise<StageOutcome>;
  onEvent?: (event: RunEvent<S>) => void;
  /** Polled between stage completions; true stops starting new stages. */
  shouldStop?: () => boolean;
}

/** Runs a DAG to completion (or cancel). Failures do not stop independent stages. */
export async function runStages<S extends SchedulableStage>(
  stages: readonly S[],
  opts: RunOptions<S>,
): Promise<RunSummary<S>> {
  if (!(opts.concurrency >= 1)) throw new RangeError(`concurrency must be ≥ 1, got ${opts.concurrency}`);
  const sched = new StageScheduler(stages);
  const inFlight = new Map<string, Promise<{ stage: S; outcome?: StageOutcome; error?: Error }>>();
  const failures: { stage: S; error: Error }[] = [];
  for (;;) {
    if (opts.shouldStop?.()) sched.cancel();
    while (inFlight.size < opts.concurrency) {
      const stage = sched.take();
      if (!stage) break;
      opts.onEvent?.({ type: 'started', stage, progress: sched.progress() });
      inFlight.set(
        stage.key,
        opts.execute(stage).then(
          (outcome) => ({ stage, outcome }),
          (err: unknown) => ({ stage, error: err instanceof Error ? err : new Error(String(err)) }),
        ),
      );
    }
    if (inFlight.size === 0) break;
    const r = await Promise.race(inFlight.values());
    inFlight.delete(r.stage.key);
    if (r.outcome) {
      sched.complete(r.stage.key, r.outcome);
      opts.onEvent?.({ type: 'finished', stage: r.stage, outcome: r.outcome, progress: sched.progress() });
    } else {
      const skipped = sched.fail(r.stage.key);
      failures.push({ stage: r.stage, error: r.error! });
      opts.onEvent?.({ type: 'failed', stage: r.stage, error: r.error!, skipped, progress: sched.progress() });
    }
  }
  const progress = sched.progress();
  return {
    progress,
    failures,
    cancelled: progress.remaining > 0,
    states: new Map(stages.map((s) => [s.key, sched.stateOf(s.key)!])),
  };
}
