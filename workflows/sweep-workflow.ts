// Temporal workflows for a sweep. `sweepWorkflow` plans the sweep and runs its shards as child workflows (a head
// shard per lineage, then a shard per deletion), so every history stays far below Temporal's limits; each
// `shardWorkflow` drives the same scheduler as the local engine (sweep/runner.ts) with activities as executors.
// Deterministic: no Node built-ins (lint), activity types only, time from the workflow clock.
import { STAGE_RETRY } from '../sweep/retry-policy.js';
import {
  ActivityCancellationType,
  CancellationScope,
  CancelledFailure,
  continueAsNew,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
  type ActivityOptions,
  type ChildWorkflowHandle,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { StageActivities, StageTask } from '../activities/temporal-activities.js';
import { planSweep, PLANNED_KINDS, STAGE_KIND, type AnyStage, type StageKind } from '../sweep/plan.js';
import { runStages, type RunProgress, type StageOutcome } from '../sweep/runner.js';
import { HISTORY, shardPlan, shardStages, type Shard } from '../sweep/shards.js';
import { validateSweep, type Sweep } from '../sweep/spec.js';
import {
  DEFAULT_QUEUES,
  SWEEP_STATUS_ATTRIBUTE,
  type SweepInput,
  type SweepProgress,
  type TaskQueues,
} from './sweep-types.js';

export const progressQuery = defineQuery<SweepProgress>('progress');
export const shardProgressSignal = defineSignal<[ShardReport]>('shardProgress');

export interface ShardReport {
  shard: string;
  progress: RunProgress;
  byKind: Record<string, { done: number; cached: number; failed: number }>;
  failures: { key: string; error: string }[];
}

/** Per-kind timeouts: heavy stages train for minutes; heartbeats come at least once per epoch. */
function activityOptions(kind: StageKind, queues: TaskQueues): ActivityOptions {
  const heavy = STAGE_KIND[kind].queue === 'gpu';
  return {
    taskQueue: heavy ? queues.gpu : queues.cpu,
    startToCloseTimeout: heavy ? '4 hours' : '30 minutes',
    heartbeatTimeout: heavy ? '5 minutes' : '2 minutes',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: `${STAGE_RETRY.initialSeconds} seconds`,
      backoffCoefficient: STAGE_RETRY.backoff,
      maximumInterval: `${STAGE_RETRY.maxSeconds} seconds`,
      maximumAttempts: 1 + STAGE_RETRY.retries,
    },
  };
}

function stageActivities(queues: TaskQueues) {
  return Object.fromEntries(
    PLANNED_KINDS.map((k) => [k, proxyActivities<StageActivities>(activityOptions(k, queues))[k]]),
  ) as unknown as Pick<StageActivities, StageKind>;
}

function emptyProgress(): SweepProgress {
  return {
    total: 0,
    done: 0,
    cached: 0,
    running: 0,
    failed: 0,
    skipped: 0,
    remaining: 0,
    byKind: {},
    shards: { total: 0, finished: 0 },
    failures: [],
    etaSeconds: null,
    status: 'planning',
  };
}

export interface ShardInput {
  sweep: Sweep;
  store: string;
  queues: TaskQueues;
  shardId: string;
  parentId: string;
  concurrency: number;
  /** Carried across continue-as-new. */
  carried?: ShardReport;
}

/** Runs one shard's stages; continues as new after HISTORY.maxStagesPerRun executed stages. */
export async function shardWorkflow(input: ShardInput): Promise<ShardReport> {
  const plan = planSweep(input.sweep);
  const shard = shardPlan(plan).find((s) => s.id === input.shardId);
  if (!shard) throw new Error(`no shard ${input.shardId} in sweep ${plan.id}`);
  const stages = shardStages(plan, shard);
  const acts = stageActivities(input.queues);
  const { findDone } = proxyActivities<StageActivities>({
    taskQueue: input.queues.cpu,
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '1 minute',
  });
  const done = new Set(
    await findDone({ store: input.store, stages: stages.map((s) => ({ kind: s.kind, key: s.key })) }),
  );
  const report: ShardReport = input.carried ?? {
    shard: shard.id,
    progress: zeroProgress(stages.length),
    byKind: {},
    failures: [],
  };
  const parent = getExternalWorkflowHandle(input.parentId);
  let executed = 0;
  let sinceSignal = 0;
  const scope = CancellationScope.current();
  const bump = (kind: string, field: 'done' | 'cached' | 'failed') => {
    const k = (report.byKind[kind] ??= { done: 0, cached: 0, failed: 0 });
    k[field]++;
  };
  const summary = await runStages(stages, {
    concurrency: input.concurrency,
    shouldStop: () => executed >= HISTORY.maxStagesPerRun || scope.consideredCancelled,
    execute: async (stage: AnyStage): Promise<StageOutcome> => {
      if (done.has(stage.key)) return 'cached';
      executed++;
      const task: StageTask = { stage, store: input.store };
      return (acts[stage.kind] as (t: StageTask) => Promise<StageOutcome>)(task);
    },
    onEvent: (e) => {
      if (e.type === 'started') return;
      if (e.type === 'finished') bump(e.stage.kind, e.outcome);
      else {
        bump(e.stage.kind, 'failed');
        report.failures.push({ key: e.stage.key, error: e.error.message });
      }
      report.progress = e.progress;
      if (++sinceSignal >= HISTORY.progressEvery) {
        sinceSignal = 0;
        void parent.signal(shardProgressSignal, report).catch(() => undefined);
      }
    },
  });
  report.progress = summary.progress;
  // Cancelled: running activities were cancelled (and awaited); the stages they left have no manifest.
  if (scope.consideredCancelled) throw new CancelledFailure('sweep cancelled');
  if (summary.cancelled && executed >= HISTORY.maxStagesPerRun) {
    // Finished stages are in the store; the next run finds them done and goes on.
    await continueAsNew<typeof shardWorkflow>({ ...input, carried: report });
  }
  await parent.signal(shardProgressSignal, report).catch(() => undefined);
  return report;
}

function zeroProgress(total: number): RunProgress {
  return { total, done: 0, cached: 0, running: 0, failed: 0, skipped: 0, remaining: total };
}

/** The sweep: plans, then runs head shards and, as each finishes, its deletion shards (bounded concurrency). */
export async function sweepWorkflow(input: SweepInput): Promise<SweepProgress> {
  const sweep = validateSweep(input.sweep, { maxCells: input.maxCells });
  const plan = planSweep(sweep);
  const shards = shardPlan(plan);
  const queues = { ...DEFAULT_QUEUES, ...input.queues };
  const concurrency = input.concurrency ?? 32;
  const maxChildren = input.maxChildren ?? 16;
  const started = Date.now();
  const state = emptyProgress();
  const setStatus = (status: SweepProgress['status']) => {
    state.status = status;
    if (input.searchAttributes) upsertSearchAttributes([{ key: SWEEP_STATUS_ATTRIBUTE, value: status }]);
  };
  state.total = plan.stages.length;
  state.remaining = plan.stages.length;
  state.shards.total = shards.length;
  setStatus('running');
  const reports = new Map<string, ShardReport>();
  const stageTotals = new Map(shards.map((s) => [s.id, s.keys.length] as const));
  const refresh = () => {
    // Shards overlap (a deletion shard lists its head's stages, found cached), so counts are per shard, summed.
    const sum = (f: keyof RunProgress) => [...reports.values()].reduce((n, r) => n + r.progress[f], 0);
    state.total = [...stageTotals.values()].reduce((a, b) => a + b, 0);
    for (const f of ['done', 'cached', 'running', 'failed', 'skipped'] as const) state[f] = sum(f);
    state.remaining = state.total - state.done - state.cached - state.failed - state.skipped;
    state.byKind = {};
    for (const r of reports.values())
      for (const [k, v] of Object.entries(r.byKind)) {
        const t = (state.byKind[k] ??= { done: 0, cached: 0, failed: 0 });
        t.done += v.done;
        t.cached += v.cached;
        t.failed += v.failed;
      }
    state.failures = [...reports.values()].flatMap((r) => r.failures).slice(0, 100);
    const elapsed = (Date.now() - started) / 1000;
    state.etaSeconds = state.done > 0 ? (elapsed / state.done) * state.remaining : null;
  };
  setHandler(shardProgressSignal, (r) => {
    reports.set(r.shard, r);
    refresh();
  });
  setHandler(progressQuery, () => state);

  const byId = new Map(shards.map((s) => [s.id, s] as const));
  const waiting = shards.filter((s) => s.kind === 'head');
  const afterHead = new Map<string, Shard[]>();
  for (const s of shards) if (s.after) afterHead.set(s.after, [...(afterHead.get(s.after) ?? []), s]);
  const running = new Map<string, Promise<void>>();
  const finished = new Set<string>();
  try {
    while (waiting.length || running.size) {
      while (waiting.length && running.size < maxChildren) {
        const shard = waiting.shift()!;
        const handle: ChildWorkflowHandle<typeof shardWorkflow> = await startChild(shardWorkflow, {
          workflowId: `${workflowInfo().workflowId}/${shard.id}`,
          taskQueue: workflowInfo().taskQueue,
          args: [
            { sweep, store: input.store, queues, shardId: shard.id, parentId: workflowInfo().workflowId, concurrency },
          ],
        });
        running.set(
          shard.id,
          handle.result().then((r) => {
            reports.set(r.shard, r);
            refresh();
            running.delete(shard.id);
            finished.add(shard.id);
            state.shards.finished = finished.size;
            if (byId.get(shard.id)!.kind === 'head') {
              // A failed head leaves its deletion shards with failing inputs: they run and report the skip.
              waiting.push(...(afterHead.get(shard.id) ?? []));
            }
          }),
        );
      }
      if (running.size) await Promise.race(running.values());
    }
    refresh();
    const { writeSweepRows } = proxyActivities<StageActivities>({
      taskQueue: queues.cpu,
      startToCloseTimeout: '30 minutes',
      retry: { maximumAttempts: 5 },
    });
    await writeSweepRows({ sweep, store: input.store });
    setStatus(state.failed > 0 ? 'failed' : 'completed');
    return state;
  } catch (err) {
    // Cancelling the sweep cancels its children, and they cancel their running activities (delivered with the
    // activities' next heartbeat); finished stages stay in the store for a later run.
    if (isCancellation(err)) setStatus('cancelled');
    throw err;
  }
}
