// Types and constants shared by the sweep workflows, the client (CLI) and the workers. No Node built-ins.
import { defineSearchAttributeKey } from '@temporalio/common';

/** Search attributes (Keyword) that make sweeps findable in the Temporal UI; register them on the namespace. */
export const SWEEP_NAME_ATTRIBUTE = defineSearchAttributeKey('UnpruneSweep', 'KEYWORD');
export const SWEEP_STATUS_ATTRIBUTE = defineSearchAttributeKey('UnpruneStatus', 'KEYWORD');

export interface TaskQueues {
  /** Workflow tasks. */
  workflows: string;
  /** Heavy stages (`queue: 'gpu'` in sweep/stage-kinds.ts). */
  gpu: string;
  /** Light stages (`queue: 'cpu'`), and store look-ups. */
  cpu: string;
}

export const DEFAULT_QUEUES: TaskQueues = { workflows: 'unprune-sweeps', gpu: 'unprune-gpu', cpu: 'unprune-cpu' };

export interface SweepInput {
  /** The sweep spec as parsed from YAML (validated again inside the workflow). */
  sweep: unknown;
  store: string;
  queues?: Partial<TaskQueues>;
  /** Activities in flight per shard (default 32). */
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
  shards: { total: number; finished: number };
  failures: { key: string; error: string }[];
  etaSeconds: number | null;
  status: 'planning' | 'running' | 'completed' | 'failed' | 'cancelled';
}

/** Workflow IDs from the sweep id (name + spec hash): submitting the same spec again attaches to the same run. */
export function sweepWorkflowId(sweepId: string): string {
  return `unprune-sweep-${sweepId}`;
}
