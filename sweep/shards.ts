// Shards of a plan for the Temporal engine, so no workflow history nears Temporal's limits: per lineage (data set ×
// architecture × seed) a head shard (dense training and pruning, shared by every deletion), then one shard per
// (lineage, deletion) with everything downstream. A shard lists its whole closure; stages another shard already
// finished are found in the store and not run again. Pure, like plan.ts.
import { closure, type AnyStage, type Plan } from './plan.js';

export interface Shard {
  id: string;
  kind: 'head' | 'deletion';
  /** The head shard this one waits for (deletion shards). */
  after?: string;
  /** Stage keys in plan order. */
  keys: string[];
}

export function shardPlan(plan: Plan): Shard[] {
  const byKey = new Map(plan.stages.map((s) => [s.key, s] as const));
  const order = new Map(plan.stages.map((s, i) => [s.key, i] as const));
  const heads = new Map<string, Set<string>>();
  const deletions = new Map<string, { head: string; roots: string[] }>();
  for (const c of plan.cells) {
    const lineage = `${c.axes.dataset}/${c.axes.arch}/seed${c.axes.seed}`;
    const head = `head:${lineage}`;
    const h = heads.get(head) ?? new Set<string>();
    heads.set(head, h);
    h.add(c.chain.prune!);
    const id = `deletion:${lineage}/${c.axes.deletion}@${c.axes.deletion_size}`;
    const d = deletions.get(id) ?? { head, roots: [] };
    deletions.set(id, d);
    d.roots.push(c.evaluate, c.goldEvaluate, c.originalEvaluate);
  }
  const sorted = (keys: Set<string>) => [...keys].sort((a, b) => order.get(a)! - order.get(b)!);
  return [
    ...[...heads].map(([id, prunes]) => ({ id, kind: 'head' as const, keys: sorted(closure(byKey, [...prunes])) })),
    ...[...deletions].map(([id, d]) => ({
      id,
      kind: 'deletion' as const,
      after: d.head,
      keys: sorted(closure(byKey, d.roots)),
    })),
  ];
}

/** The stages of one shard, with inputs outside it dropped (they are done before the shard starts, or found done). */
export function shardStages(plan: Plan, shard: Shard): AnyStage[] {
  const inShard = new Set(shard.keys);
  const byKey = new Map(plan.stages.map((s) => [s.key, s] as const));
  return shard.keys.map((k) => {
    const s = byKey.get(k)!;
    const inputs = Object.fromEntries(Object.entries(s.inputs).filter(([, v]) => inShard.has(v as string)));
    return { ...s, inputs } as AnyStage;
  });
}

/** Upper bounds for history arithmetic: events per executed stage, and per workflow run. */
export const HISTORY = {
  /** ActivityTaskScheduled/Started/Completed plus, at worst, one workflow task (3 events) per completion. */
  eventsPerStage: 6,
  /** Stages a shard runs before continuing as new. */
  maxStagesPerRun: 5000,
  /** A progress signal to the parent every this many finished stages. */
  progressEvery: 50,
  eventLimit: 51200,
  sizeLimitBytes: 50 * 1024 * 1024,
  payloadLimitBytes: 2 * 1024 * 1024,
};

export interface HistoryBudget {
  shards: number;
  /** Largest shard (stages in its closure) and the most events / bytes any single workflow run records. */
  maxShardStages: number;
  maxShardRunEvents: number;
  maxShardRunBytes: number;
  parentEvents: number;
  parentBytes: number;
  /** Largest single payload: an activity input, a findDone batch, a child's input or a progress signal. */
  maxPayloadBytes: number;
  maxPendingActivities: number;
  maxPendingChildren: number;
}

/** Upper-bound arithmetic of the workflow histories a plan produces under the shard scheme. */
export function historyBudget(
  plan: Plan,
  opts: { concurrency: number; maxChildren: number; store: string },
): HistoryBudget {
  const shards = shardPlan(plan);
  const byKey = new Map(plan.stages.map((s) => [s.key, s] as const));
  const EVENT_OVERHEAD = 300; // bytes of an event's own fields
  const REPORT_BYTES = 2000 + 100 * 200; // a progress signal: counts plus up to 100 failure lines
  const childInput = JSON.stringify({
    sweep: plan.sweep,
    store: opts.store,
    shardId: 'x'.repeat(120),
    parentId: 'x'.repeat(120),
  }).length;
  let maxShardStages = 0;
  let maxEvents = 0;
  let maxBytes = 0;
  let maxPayload = childInput;
  let signals = 0;
  for (const shard of shards) {
    maxShardStages = Math.max(maxShardStages, shard.keys.length);
    const inputs = shard.keys.map((k) => JSON.stringify({ stage: byKey.get(k), store: opts.store }).length);
    const findDone = JSON.stringify({
      store: opts.store,
      stages: shard.keys.map((key) => ({ kind: 'evaluate', key })),
    }).length;
    maxPayload = Math.max(maxPayload, findDone, ...inputs);
    for (let from = 0; from < shard.keys.length; from += HISTORY.maxStagesPerRun) {
      const run = inputs.slice(from, from + HISTORY.maxStagesPerRun);
      const runSignals = Math.ceil(run.length / HISTORY.progressEvery) + 1;
      signals += runSignals;
      const events = 3 + 6 + run.length * HISTORY.eventsPerStage + runSignals * 5 + 5;
      const bytes =
        events * EVENT_OVERHEAD + childInput + findDone + run.reduce((a, b) => a + b, 0) + runSignals * REPORT_BYTES;
      maxEvents = Math.max(maxEvents, events);
      maxBytes = Math.max(maxBytes, bytes);
    }
  }
  const parentEvents = 3 + shards.length * 6 + signals * 4 + 6 + 5;
  return {
    shards: shards.length,
    maxShardStages,
    maxShardRunEvents: maxEvents,
    maxShardRunBytes: maxBytes,
    parentEvents,
    parentBytes: parentEvents * EVENT_OVERHEAD + shards.length * childInput + signals * REPORT_BYTES,
    maxPayloadBytes: Math.max(maxPayload, REPORT_BYTES),
    maxPendingActivities: opts.concurrency,
    maxPendingChildren: opts.maxChildren,
  };
}
