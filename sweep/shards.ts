// Shards of a plan for the Temporal engine, so no workflow history nears Temporal's limits: per lineage (data set ×
// architecture × seed) a head shard (dense training and pruning: everything that needs no forget set, shared by
// every deletion), then one shard per (lineage, deletion) with everything downstream. A shard lists its whole
// closure; stages another shard already finished are found in the store and not run again, and each stage is
// counted by the first shard that lists it. The plan and its shards are made once, by an activity, and
// stored; workflows see shard references and light schedules (ScheduledStage), never the plan. Pure, like plan.ts.
import type { Plan } from './plan.js';
import { closure, inputKeys, type AnyStage, type StageKind } from './stage-kinds.js';

/** A shard as workflows see it: its full stages are in the store at `path` (content-addressed). */
export interface ShardRef {
  id: string;
  kind: 'head' | 'deletion';
  after?: string;
  path: string;
  /** The stages it counts: those no earlier shard lists (a deletion shard reads its head's, never counts them). */
  stages: number;
}

/** The sweep as the plan activity hands it to the workflow: sizes and shard references only. */
export interface PlannedSweep {
  sweepId: string;
  cells: number;
  /** Distinct stages in the plan (the sum of the shards' own stages). */
  stages: number;
  shards: ShardRef[];
}

/** A stage as a shard's scheduler sees it: `inputs` are indices of earlier stages of the same shard. */
export interface ScheduledStage {
  key: string;
  kind: StageKind;
  label: string;
  inputs: number[];
  /** An earlier shard lists it too and counts it (its head's stages, a shared forget set): not counted here. */
  shared?: true;
}

/** What a shard's blob holds: its stages as planned (inputs outside it included), with their labels. */
export interface ShardBlob {
  id: string;
  stages: AnyStage[];
  labels: string[];
  /** Indices of the stages an earlier shard lists too (and counts): found done here, or run if not, never counted. */
  shared?: number[];
}

/**
 * A readable label per stage key, from the first cell whose chain holds it, with only the axes the stage depends on
 * (`mnist/lenet5/seed0 omp@0.9 random@0.01 ga reprune`): Temporal activity ids and failure lists show it.
 */
export function stageLabels(plan: Plan): Map<string, string> {
  const labels = new Map<string, string>();
  const kindOf = new Map(plan.stages.map((s) => [s.key, s.kind] as const));
  for (const c of plan.cells) {
    const a = c.axes;
    const parts = {
      lineage: `${a.dataset}/${a.arch}/seed${a.seed}`,
      prune: `${a.prune}@${a.sparsity}`,
      deletion: `${a.deletion}@${a.deletion_size}`,
    };
    const byKind: Record<StageKind, string[]> = {
      train: [parts.lineage],
      forget: [parts.lineage, parts.deletion],
      prune: [parts.lineage, parts.prune],
      gold: [parts.lineage, parts.prune, parts.deletion],
      estimate: [parts.lineage, parts.deletion, a.unprune],
      unlearn: [parts.lineage, parts.prune, parts.deletion, a.unlearn],
      unprune: [parts.lineage, parts.prune, parts.deletion, a.unlearn, a.unprune],
      evaluate: [parts.lineage, parts.prune, parts.deletion, a.unlearn, a.unprune],
      noop: [],
    };
    for (const key of [...Object.values(c.chain), c.evaluate, c.goldEvaluate, c.originalEvaluate]) {
      const kind = kindOf.get(key);
      if (kind && !labels.has(key)) labels.set(key, byKind[kind].join(' '));
    }
  }
  // Stages outside the cells' chains (a gold's retraining on D_r, a noise floor's reshuffled training) are named
  // after a stage that needs them, so that every activity and failure says which cell it is for.
  for (let changed = true; changed;) {
    changed = false;
    for (const s of plan.stages) {
      const label = labels.get(s.key);
      if (label === undefined) continue;
      for (const input of inputKeys(s))
        if (!labels.has(input)) {
          labels.set(input, `for ${s.kind} ${label}`);
          changed = true;
        }
    }
  }
  return labels;
}

/** The light schedule of a shard's blob: inputs that are in the shard, as indices; the rest are found done. */
export function scheduleOf(blob: ShardBlob): ScheduledStage[] {
  const index = new Map(blob.stages.map((s, i) => [s.key, i] as const));
  const shared = new Set(blob.shared);
  return blob.stages.map((s, i) => ({
    key: s.key,
    kind: s.kind,
    label: blob.labels[i] ?? s.kind,
    inputs: Object.values(s.inputs as Record<string, string | undefined>)
      .map((k) => (k === undefined ? undefined : index.get(k)))
      .filter((n): n is number => n !== undefined),
    ...(shared.has(i) ? { shared: true as const } : {}),
  }));
}

/**
 * Every shard's blob, in shardPlan's order: its stages as planned, their labels, and which are shared (listed by an
 * earlier shard, which counts them: its head's stages, or a forget set another architecture's shard also needs).
 */
export function shardBlobs(plan: Plan, shards: Shard[] = shardPlan(plan)): ShardBlob[] {
  const labels = stageLabels(plan);
  const byKey = new Map(plan.stages.map((s) => [s.key, s] as const));
  const owned = new Set<string>();
  return shards.map((shard) => {
    const stages = shard.keys.map((k) => byKey.get(k)!);
    const shared = shard.keys.flatMap((k, i) => (owned.has(k) ? [i] : []));
    for (const k of shard.keys) owned.add(k);
    return {
      id: shard.id,
      stages,
      labels: stages.map((s) => labels.get(s.key) ?? s.kind),
      ...(shared.length ? { shared } : {}),
    };
  });
}

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
  maxStagesPerRun: 2000,
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
  /** Largest single payload: a shard's schedule, a child's input, a stage activity's input or a progress signal. */
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
  const blobs = shardBlobs(plan, shards);
  const EVENT_OVERHEAD = 300; // bytes of an event's own fields
  const REPORT_BYTES = 2000 + 20 * 400; // a shard's result: counts plus up to MAX_FAILURES (20) failure lines
  const path = `sweeps/${plan.id}/shards/${'0'.repeat(24)}.json`;
  const childInput = (keys: string[]) =>
    JSON.stringify({
      store: opts.store,
      queues: { workflows: 'x'.repeat(40), gpu: 'x'.repeat(40), cpu: 'x'.repeat(40) },
      shard: { id: 'x'.repeat(120), kind: 'deletion', after: 'x'.repeat(120), path, stages: 100000 },
      parentId: 'x'.repeat(120),
      concurrency: opts.concurrency,
      failedUpstream: keys, // at worst every stage of its head failed
    }).length;
  const stageInput = JSON.stringify({ store: opts.store, shard: path, key: 'evaluate-' + '0'.repeat(24) }).length;
  const plannedBytes = JSON.stringify({
    sweepId: plan.id,
    shards: shards.map((s) => ({ id: s.id, kind: s.kind, after: s.after, path, stages: s.keys.length })),
  }).length;
  let maxShardStages = 0;
  let maxEvents = 0;
  let maxBytes = 0;
  let maxPayload = plannedBytes;
  let childInputs = 0;
  const headOf = new Map(shards.map((s) => [s.id, s] as const));
  for (const [i, shard] of shards.entries()) {
    maxShardStages = Math.max(maxShardStages, shard.keys.length);
    const schedule = JSON.stringify({ stages: scheduleOf(blobs[i]!), done: shard.keys }).length;
    const input = childInput(shard.after ? headOf.get(shard.after)!.keys : []);
    childInputs += input;
    maxPayload = Math.max(maxPayload, schedule, input, stageInput);
    for (let from = 0; from < shard.keys.length; from += HISTORY.maxStagesPerRun) {
      const run = Math.min(HISTORY.maxStagesPerRun, shard.keys.length - from);
      // Shards report progress through a query (no events): a run is its start, the schedule, its stages, its end.
      const events = 3 + 6 + run * HISTORY.eventsPerStage + 5;
      const bytes = events * EVENT_OVERHEAD + input + schedule + run * stageInput + REPORT_BYTES;
      maxEvents = Math.max(maxEvents, events);
      maxBytes = Math.max(maxBytes, bytes);
    }
  }
  // The parent: its start, the plan activity, per shard a child's initiated/started/closed events and at worst a
  // workflow task, the rows activity, its end. Nothing grows with the stages.
  const parentEvents = 3 + 6 + shards.length * 6 + 6 + 5;
  return {
    shards: shards.length,
    maxShardStages,
    maxShardRunEvents: maxEvents,
    maxShardRunBytes: maxBytes,
    parentEvents,
    parentBytes: parentEvents * EVENT_OVERHEAD + plannedBytes + childInputs + shards.length * REPORT_BYTES,
    maxPayloadBytes: Math.max(maxPayload, REPORT_BYTES),
    maxPendingActivities: opts.concurrency,
    maxPendingChildren: opts.maxChildren,
  };
}
