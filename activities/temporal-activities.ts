// The stage activities for Temporal workers: one activity per stage kind (same code as the local engine's), plus
// `findDone` (which of a batch of stages the store already holds). Idempotent by content key: a stage whose
// artifacts verify returns at once. Heartbeats carry training progress (at least once per epoch), and a
// cancellation delivered with a heartbeat aborts the training loop. Permanent errors are non-retryable.
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { isPermanent } from '../ml/errors.js';
import { openStore, storeKind, type ArtifactStore } from '../store/artifact-store.js';
import { emptyStats, type StageContext, type StageStats } from './stage-context.js';
import { planSweep } from '../sweep/plan.js';
import { STAGE_KINDS, type AnyStage, type StageKind } from '../sweep/stage-kinds.js';
import type { Sweep } from '../sweep/spec.js';
import { writeRows } from './sweep-rows.js';
import type { StageOutcome } from '../sweep/runner.js';
import { runStage } from './run-stage.js';

export interface StageTask {
  stage: AnyStage;
  /** The artifact store (a folder every worker shares, or s3://bucket/prefix). */
  store: string;
}

const stores = new Map<string, ArtifactStore>();
/** A store per location; with `stats`, a metered view that charges operations to that stage. */
const storeAt = (location: string, stats?: StageStats) => {
  if (stats) return openStore(location, (op, seconds, bytes) => stats.store.push({ op, seconds, bytes }));
  let s = stores.get(location);
  if (!s) stores.set(location, (s = openStore(location)));
  return s;
};

let stageDatasetDirs: StageContext['datasetDirs'];
/** The worker's data-set folders (from its settings), given to every stage it runs. */
export function setStageDatasetDirs(dirs: StageContext['datasetDirs']): void {
  stageDatasetDirs = dirs;
}

/** Receives stage events for metrics; the worker installs its prom-client metrics here. */
export interface StageObserver {
  stageStarted(kind: string): void;
  stageEnded(kind: string, outcome: 'completed' | 'cached' | 'failed', seconds: number): void;
  recordStats(kind: string, stats: StageStats, store: string): void;
}
let observer: StageObserver | undefined;
export function observeStages(o: StageObserver | undefined): void {
  observer = o;
}

async function stageActivity(task: StageTask): Promise<StageOutcome> {
  const ctx = Context.current();
  ctx.heartbeat({ stage: task.stage.key, detail: 'started' });
  const kind = task.stage.kind;
  const start = performance.now();
  const stats = emptyStats();
  observer?.stageStarted(kind);
  let outcome: 'completed' | 'cached' | 'failed' = 'failed';
  try {
    const r = await runStage(task.stage, {
      datasetDirs: stageDatasetDirs,
      store: storeAt(task.store, stats),
      stats,
      signal: ctx.cancellationSignal,
      heartbeat: (detail) => ctx.heartbeat({ stage: task.stage.key, detail }),
    });
    outcome = r === 'cached' ? 'cached' : 'completed';
    return r;
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    // Reported as a cancellation (not a failure to retry); the checkpoint stays for a later run.
    if (ctx.cancellationSignal.aborted) throw new CancelledFailure(e.message);
    if (isPermanent(e)) throw ApplicationFailure.nonRetryable(e.message, e.name);
    throw e;
  } finally {
    observer?.stageEnded(kind, outcome, (performance.now() - start) / 1000);
    observer?.recordStats(kind, stats, storeKind(task.store));
  }
}

export interface FindDoneInput {
  store: string;
  stages: { kind: StageKind; key: string }[];
}

/** The keys among `stages` whose manifests exist and blobs have their recorded sizes. */
async function findDone(input: FindDoneInput): Promise<string[]> {
  const store = storeAt(input.store);
  const done: string[] = [];
  for (const [i, s] of input.stages.entries()) {
    if (await store.isDone(s.kind, s.key)) done.push(s.key);
    if (i % 200 === 0) Context.current().heartbeat(i);
  }
  return done;
}

export interface WriteRowsInput {
  sweep: Sweep;
  store: string;
}

/** Ends a sweep: rows.jsonl from the evaluate outputs, as the local engine writes it. Returns rows and missing cells. */
async function writeSweepRows(input: WriteRowsInput): Promise<{ rows: number; missing: number; path: string }> {
  const r = await writeRows(storeAt(input.store), planSweep(input.sweep));
  return { rows: r.rows.length, missing: r.missing, path: r.path };
}

/** One activity per stage kind (named after it: the workflow schedules `kind` on that kind's queue). */
const stageActivities = Object.fromEntries(STAGE_KINDS.map((k) => [k, stageActivity])) as Record<
  StageKind,
  (task: StageTask) => Promise<StageOutcome>
>;

export const activities = { ...stageActivities, findDone, writeSweepRows };

export type StageActivities = typeof activities;
