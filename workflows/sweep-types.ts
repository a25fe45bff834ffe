// Types and constants shared by the sweep workflows, the client (CLI) and the workers: the contract between the
// workflows and the activities the worker implements (worker/temporal-activities.ts). No Node built-ins.
import type { defineSearchAttributeKey } from '@temporalio/common';
import type { RunProgress, StageOutcome } from '../sweep/runner.js';
import type { PlannedSweep, ScheduledStage } from '../sweep/shards.js';
import type { StageKind } from '../sweep/stage-kinds.js';

/**
 * Search attributes (Keyword) that make sweeps findable in the Temporal UI; register them on the namespace. Written
 * as the `{ name, type }` that the SDK's `defineSearchAttributeKey` returns: importing @temporalio/common for it cost
 * every CLI start ~50 ms, most of them never talking to Temporal.
 */
type KeywordAttribute = ReturnType<typeof defineSearchAttributeKey<'KEYWORD'>>;
export const SWEEP_NAME_ATTRIBUTE: KeywordAttribute = { name: 'UnpruneSweep', type: 'KEYWORD' };
export const SWEEP_STATUS_ATTRIBUTE: KeywordAttribute = { name: 'UnpruneStatus', type: 'KEYWORD' };

export interface TaskQueues {
  /** Workflow tasks. */
  workflows: string;
  /** Heavy stages (`queue: 'gpu'` in sweep/stage-kinds.ts). */
  gpu: string;
  /** Light stages (`queue: 'cpu'`), and store look-ups. */
  cpu: string;
}

export const DEFAULT_QUEUES: TaskQueues = { workflows: 'unprune-sweeps', gpu: 'unprune-gpu', cpu: 'unprune-cpu' };

/** Which stage queues a worker polls (it always serves the workflow queue). */
export const WORKER_QUEUES = ['gpu', 'cpu', 'all'] as const;
export type WorkerQueue = (typeof WORKER_QUEUES)[number];

/** Activities a shard keeps in flight unless the sweep says otherwise: more than a fleet's slots, so that a freed
 * slot's next stage is already queued at the server. */
export const DEFAULT_SHARD_CONCURRENCY = 32;

export interface SweepInput {
  /** The sweep spec as parsed from YAML (validated and planned by the planShards activity, never in workflow code). */
  sweep: unknown;
  store: string;
  queues?: Partial<TaskQueues>;
  /** Activities in flight per shard (default DEFAULT_SHARD_CONCURRENCY). */
  concurrency?: number;
  /** Child workflows in flight (default 16). */
  maxChildren?: number;
  maxCells?: number;
  /** True when the namespace has the UnpruneSweep/UnpruneStatus search attributes (the workflow keeps status current). */
  searchAttributes?: boolean;
}

export interface SweepProgress {
  total: number;
  done: number;
  cached: number;
  running: number;
  failed: number;
  skipped: number;
  remaining: number;
  byKind: Record<string, { done: number; cached: number; failed: number }>;
  shards: { total: number; finished: number; failed: number };
  /** The first failures (at most MAX_FAILURES), each with its stage's cell and the reason its attempts gave. */
  failures: StageFailure[];
  etaSeconds: number | null;
  status: SweepStatus;
  /** The sweep id (name-hash) once planned. */
  sweepId?: string;
  /** Workflow ids of the shards running now: their live progress is their `shardProgress` query. */
  runningShards?: string[];
  /** rows.jsonl once written: cells with a row and cells without. */
  rows?: { rows: number; missing: number; path: string };
}

export type SweepStatus = 'planning' | 'running' | 'completed' | 'failed' | 'cancelling' | 'cancelled';

export interface StageFailure {
  key: string;
  label: string;
  error: string;
}

/** Failure lists are capped wherever they travel (queries, results, continue-as-new); the counts stay exact. */
export const MAX_FAILURES = 20;

/** What a shard reports that adds up into a sweep's progress. */
export interface ShardCounts {
  progress: Pick<RunProgress, 'done' | 'cached' | 'running' | 'failed' | 'skipped'>;
  byKind: SweepProgress['byKind'];
  failures: StageFailure[];
}

/**
 * Adds a shard's counts into a sweep's progress (shards overlap: a deletion shard lists its head's stages, found
 * cached, so counts are per shard, summed), keeping at most MAX_FAILURES failures; then `remaining` and the ETA
 * over `elapsedSeconds`. The sweep workflow sums finished shards this way, and `unprune status` adds running ones.
 */
export function addShardCounts(into: SweepProgress, shards: ShardCounts[], elapsedSeconds: number): void {
  for (const r of shards) {
    for (const f of ['done', 'cached', 'running', 'failed', 'skipped'] as const) into[f] += r.progress[f];
    for (const [k, v] of Object.entries(r.byKind)) {
      const t = (into.byKind[k] ??= { done: 0, cached: 0, failed: 0 });
      t.done += v.done;
      t.cached += v.cached;
      t.failed += v.failed;
    }
    into.failures.push(...r.failures.slice(0, Math.max(0, MAX_FAILURES - into.failures.length)));
  }
  into.remaining = Math.max(0, into.total - into.done - into.cached - into.failed - into.skipped);
  into.etaSeconds = into.done > 0 ? (elapsedSeconds / into.done) * into.remaining : null;
}

/** The failure type of a stage whose stored input went missing or corrupt; its details name the input's key. */
export const LOST_INPUT = 'LostInput';

export interface StageTask {
  store: string;
  /** The shard blob that holds the stage (ShardRef.path). */
  shard: string;
  key: string;
}

export interface WriteRowsInput {
  store: string;
  sweepId: string;
}

/** The activities the workflows schedule: one per stage kind (on its kind's queue), plus planning and rows. */
export type SweepActivities = Record<StageKind, (task: StageTask) => Promise<StageOutcome>> & {
  /** Validates and plans the sweep, stores its spec and shard blobs; errors in the spec are non-retryable. */
  planShards(input: { sweep: unknown; store: string; maxCells?: number }): Promise<PlannedSweep>;
  /** A shard's light schedule and which of its stages the store already holds. */
  shardSchedule(input: { store: string; shard: string }): Promise<{ stages: ScheduledStage[]; done: string[] }>;
  /** Ends a sweep: rows.jsonl from the stored evaluations, as the local engine writes it. */
  writeSweepRows(input: WriteRowsInput): Promise<{ rows: number; missing: number; path: string }>;
};

/** Workflow IDs from the sweep id (name + spec hash): submitting the same spec again attaches to the same run. */
export function sweepWorkflowId(sweepId: string): string {
  return `unprune-sweep-${sweepId}`;
}
