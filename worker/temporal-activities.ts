// The activities a Temporal worker runs (the contract is SweepActivities in workflows/sweep-types.ts): planning a
// sweep into stored shards, a shard's light schedule, one activity per stage kind, and the rows at the end.
// Each stage runs in a stage process of a pool (worker/stage-pool.ts), like the local engine's, so tfjs memory and
// CPU never block this process's event loop: heartbeats (with the stage's progress text, every second while it
// lives) and workflow tasks go on; a cancel kills the stage's process; a silent one is killed after its kind's
// limit. Idempotent by content key: a stage whose artifacts verify returns at once. Errors are classified by
// ml/errors.ts's isPermanent, as in the local engine: permanent ones are non-retryable.
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { isPermanent } from '../ml/errors.js';
import { openStore, storeKind, type ArtifactStore } from '../store/artifact-store.js';
import type { StageStats } from '../activities/stage-context.js';
import { writeRows } from '../activities/sweep-rows.js';
import { hashText, planSweep } from '../sweep/plan.js';
import { scheduleOf, shardBlobs, shardPlan, type PlannedSweep, type ShardBlob } from '../sweep/shards.js';
import { STAGE_KINDS, type AnyStage, type StageKind } from '../sweep/stage-kinds.js';
import { SpecError, validateSweep } from '../sweep/spec.js';
import type { StageOutcome } from '../sweep/runner.js';
import { LOST_INPUT, type SweepActivities, type StageTask } from '../workflows/sweep-types.js';
import { stageProcessEnv, type Settings } from './settings.js';
import { StageCancelledError, StagePool } from './stage-pool.js';

/** Receives stage events for metrics; the worker installs its prom-client metrics here. */
export interface StageObserver {
  stageStarted(kind: string): void;
  stageEnded(kind: string, outcome: 'completed' | 'cached' | 'failed', seconds: number): void;
  recordStats(kind: string, stats: StageStats, store: string): void;
}

/** A map that forgets its least recently used entry past `limit`: a long-lived worker's caches stay bounded. */
class RecentlyUsed<V> {
  private readonly entries = new Map<string, V>();
  constructor(private readonly limit: number) {}
  get(key: string, make: () => V): V {
    let v = this.entries.get(key);
    if (v === undefined) v = make();
    this.entries.delete(key);
    this.entries.set(key, v);
    while (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value!);
    return v;
  }
  delete(key: string): void {
    this.entries.delete(key);
  }
}

/**
 * Stages of one task queue (or of the queues a worker's shared slots serve) running at once on this worker. The
 * worker accepts a few more activities than that (prefetch): they wait here, heartbeating, so that when a stage ends
 * the next one starts at once instead of after the completion's round trip through the server (completion, workflow
 * task, dispatch, poll: ~20 ms, 2% of a 1-second stage). A waiting stage is cancelled like a running one, and never
 * starts.
 */
export class StageSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** `tickMs`: how often a waiting stage calls its onWaiting (its heartbeat). */
  constructor(
    private readonly size: number,
    private readonly tickMs = 1000,
  ) {}

  async enter(signal: AbortSignal, onWaiting: () => void): Promise<void> {
    if (signal.aborted) throw new StageCancelledError();
    if (this.running < this.size && this.waiting.length === 0) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const ticker = setInterval(onWaiting, this.tickMs);
      const done = () => {
        clearInterval(ticker);
        signal.removeEventListener('abort', onAbort);
      };
      const entry = () => (done(), resolve());
      const onAbort = () => {
        done();
        this.waiting.splice(this.waiting.indexOf(entry), 1);
        reject(new StageCancelledError());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  /** A running stage ended: the longest-waiting one takes its place. */
  leave(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}

export interface ActivityOptions {
  /** The worker's settings (backend, data folders, heap, liveness scale), given to its stage processes. */
  settings: Settings;
  /** Stages this worker runs at once (its activity slots): the size of each store's process pool. */
  slots: number;
  /**
   * Stages running at once per group of task queues, each group one gate (default: no limit here; the SDK's slots
   * alone bound them): the light queue alone where it prefetches, or every queue where a worker shares its slots.
   */
  slotGroups?: { queues: string[]; slots: number }[];
  observer?: StageObserver;
}

export interface TemporalActivities extends SweepActivities {
  /** Stops every stage process (the worker is shutting down). */
  close(): Promise<void>;
}

export function createActivities(opts: ActivityOptions): TemporalActivities {
  const stores = new RecentlyUsed<ArtifactStore>(8);
  const storeAt = (location: string) => stores.get(location, () => openStore(location));
  const pools = new Map<string, StagePool>();
  const poolFor = (location: string) => {
    let p = pools.get(location);
    if (!p) {
      const s = opts.settings;
      const env = { ...process.env, ...stageProcessEnv(s), UNPRUNE_WORKER_STORE: location };
      pools.set(location, (p = new StagePool(opts.slots, env, s.workerNodeFlags, s.workerHeapMb, s.stallScale)));
    }
    return p;
  };
  // Shard blobs are content-addressed: a cached copy never goes stale; a failed read is not kept.
  const shards = new RecentlyUsed<Promise<Map<string, { stage: AnyStage; label: string }>>>(16);
  const loadShard = (store: string, path: string) => {
    const id = `${store}\0${path}`;
    return shards.get(id, () => {
      const read = storeAt(store)
        .getText(path)
        .then((text) => {
          if (text === null)
            throw new Error(`shard ${path} is not in the store ${store} (was the sweep planned there?)`);
          const blob = JSON.parse(text) as ShardBlob;
          return new Map(blob.stages.map((s, i) => [s.key, { stage: s, label: blob.labels[i] ?? s.kind }] as const));
        });
      read.catch(() => shards.delete(id));
      return read;
    });
  };

  const queueSlots = new Map(
    (opts.slotGroups ?? []).flatMap((g) => {
      const gate = new StageSlots(g.slots);
      return g.queues.map((q) => [q, gate] as const);
    }),
  );

  async function stageActivity(task: StageTask): Promise<StageOutcome> {
    const ctx = Context.current();
    const slots = queueSlots.get(ctx.info.taskQueue);
    if (slots) {
      const waiting = () => ctx.heartbeat({ stage: task.key, detail: 'waiting for a slot on this worker' });
      waiting();
      try {
        await slots.enter(ctx.cancellationSignal, waiting);
      } catch (err) {
        if (err instanceof StageCancelledError) throw new CancelledFailure('cancelled before it started');
        throw err;
      }
    }
    try {
      return await runStage(task, ctx);
    } finally {
      slots?.leave();
    }
  }

  async function runStage(task: StageTask, ctx: Context): Promise<StageOutcome> {
    const found = (await loadShard(task.store, task.shard)).get(task.key);
    if (!found) throw ApplicationFailure.nonRetryable(`stage ${task.key} is not in ${task.shard}`, 'UnknownStage');
    const { stage, label } = found;
    const kind = stage.kind;
    ctx.heartbeat({ stage: task.key, detail: 'started' });
    const start = performance.now();
    const attempt = ctx.info.attempt;
    // One line per stage start and end: the worker's log says what it runs, and that nothing runs after a cancel.
    const log = (what: string) =>
      console.error(`${new Date().toISOString()} unprune worker: ${kind} ${label} (${task.key}): ${what}`);
    log(`started${attempt > 1 ? ` (attempt ${attempt})` : ''}`);
    opts.observer?.stageStarted(kind);
    let outcome: 'completed' | 'cached' | 'failed' = 'failed';
    let ended = 'failed';
    try {
      const r = await poolFor(task.store).run(stage, {
        signal: ctx.cancellationSignal,
        onAlive: (detail) => ctx.heartbeat({ stage: task.key, detail: detail ?? 'running' }),
      });
      opts.observer?.recordStats(kind, { ...r.stats, corrupt: undefined }, storeKind(task.store));
      outcome = r.outcome === 'cached' ? 'cached' : 'completed';
      ended = r.outcome === 'cached' ? 'found done in the store' : 'done';
      return r.outcome;
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      const stats = (e as { stats?: StageStats }).stats;
      if (stats) opts.observer?.recordStats(kind, { ...stats, corrupt: undefined }, storeKind(task.store));
      // Reported as a cancellation (not a failure to retry); a checkpoint stays for a later run.
      if (e instanceof StageCancelledError || ctx.cancellationSignal.aborted) {
        ended = 'cancelled, its process stopped';
        throw new CancelledFailure(e.message);
      }
      ended = `failed: ${e.message}`;
      // A finished input went missing or corrupt: retrying cannot help, recomputing it can. The shard workflow
      // reruns the input's stage (named in the details), then this one.
      const inputKey = (e as { inputKey?: string }).inputKey;
      if (inputKey)
        throw ApplicationFailure.create({
          type: LOST_INPUT,
          message: e.message,
          nonRetryable: true,
          details: [inputKey],
        });
      if (isPermanent(e)) throw ApplicationFailure.nonRetryable(e.message, e.name);
      throw ApplicationFailure.retryable(e.message, e.name);
    } finally {
      const seconds = (performance.now() - start) / 1000;
      log(`${ended} after ${seconds.toFixed(1)} s`);
      opts.observer?.stageEnded(kind, outcome, seconds);
    }
  }

  async function planShards(input: { sweep: unknown; store: string; maxCells?: number }): Promise<PlannedSweep> {
    let plan;
    try {
      plan = planSweep(validateSweep(input.sweep, { maxCells: input.maxCells }));
    } catch (err) {
      if (err instanceof SpecError) throw ApplicationFailure.nonRetryable(err.message, 'SpecError');
      throw err;
    }
    const store = storeAt(input.store);
    await store.putText(`sweeps/${plan.id}/sweep.json`, JSON.stringify(plan.sweep, null, 2) + '\n');
    const shards = shardPlan(plan);
    const blobs = shardBlobs(plan, shards);
    const refs = [];
    for (const [i, shard] of shards.entries()) {
      // Stages as planned, inputs outside the shard included: the stage process reads them from the store.
      const text = JSON.stringify(blobs[i]);
      const path = `sweeps/${plan.id}/shards/${hashText(text).slice(0, 24)}.json`;
      if ((await store.getText(path)) !== text) await store.putText(path, text);
      // Its own stages (not its head's, which it only reads): the sweep's total counts each stage once.
      const stages = shard.keys.length - (blobs[i]!.shared?.length ?? 0);
      refs.push({ id: shard.id, kind: shard.kind, after: shard.after, path, stages });
      if (i % 10 === 0) Context.current().heartbeat(`stored ${i} of the shards`);
    }
    return { sweepId: plan.id, cells: plan.cells.length, stages: plan.stages.length, shards: refs };
  }

  async function shardSchedule(input: { store: string; shard: string }) {
    const text = await storeAt(input.store).getText(input.shard);
    if (text === null) throw new Error(`shard ${input.shard} is not in the store ${input.store}`);
    const blob = JSON.parse(text) as ShardBlob;
    const store = storeAt(input.store);
    const done: string[] = [];
    for (const [i, s] of blob.stages.entries()) {
      if (await store.isDone(s.kind, s.key)) done.push(s.key);
      if (i % 100 === 0) Context.current().heartbeat(`checked ${i} of ${blob.stages.length} stages`);
    }
    return { stages: scheduleOf(blob), done };
  }

  async function writeSweepRows(input: { store: string; sweepId: string }) {
    const store = storeAt(input.store);
    const text = await store.getText(`sweeps/${input.sweepId}/sweep.json`);
    if (text === null) throw ApplicationFailure.nonRetryable(`sweep ${input.sweepId} has no record in the store`);
    // Validated when it was planned (perhaps with a --max-cells override): not limited again here.
    const r = await writeRows(store, planSweep(validateSweep(JSON.parse(text), { maxCells: Number.MAX_SAFE_INTEGER })));
    return { rows: r.rows.length, missing: r.missing.length, path: r.path };
  }

  const stageActivities = Object.fromEntries(STAGE_KINDS.map((k) => [k, stageActivity])) as Record<
    StageKind,
    (task: StageTask) => Promise<StageOutcome>
  >;
  return {
    ...stageActivities,
    planShards,
    shardSchedule,
    writeSweepRows,
    close: async () => {
      await Promise.all([...pools.values()].map((p) => p.close()));
      pools.clear();
    },
  };
}
