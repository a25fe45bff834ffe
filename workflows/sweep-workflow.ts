// Temporal workflows for a sweep. `sweepWorkflow` has an activity plan the sweep and store its shards (a head shard
// per lineage, then a shard per deletion), then runs them as child workflows; each `shardWorkflow` loads its light
// schedule and drives the same scheduler as the local engine (sweep/runner.ts) with activities as executors. No
// activation does work that grows with the grid: workflows see shard references and stage keys, never the plan.
// Deterministic: no Node built-ins (lint), activity types only, time from the workflow clock.
//
// Versioning: this is workflow code version 2 (plan in an activity). It does not replay version-1 histories, so
// no version-1 sweep may be running when workers are upgraded; every later change to the command sequence goes
// behind `patched()`, and the committed histories in test/fixtures/histories/ must keep replaying.
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ChildWorkflowFailure,
  continueAsNew,
  defineQuery,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  TemporalFailure,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import { STAGE_RETRY } from '../sweep/retry-policy.js';
import { runStages, type RunProgress, type StageOutcome } from '../sweep/runner.js';
import { HISTORY, type ScheduledStage, type ShardRef } from '../sweep/shards.js';
import { STAGE_KIND, stallSecondsOf, type StageKind } from '../sweep/stage-kinds.js';
import {
  addShardCounts,
  DEFAULT_QUEUES,
  DEFAULT_SHARD_CONCURRENCY,
  LOST_INPUT,
  MAX_FAILURES,
  SWEEP_STATUS_ATTRIBUTE,
  type StageFailure,
  type SweepActivities,
  type SweepInput,
  type SweepProgress,
  type SweepStatus,
  type TaskQueues,
} from './sweep-types.js';

/**
 * The sweep's progress: finished shards' reports summed, and the ids of the shards still running. Their live
 * progress is each shard's own `shardProgress` query (the CLI's `status` adds it up), so progress never costs the
 * parent history events: no signals, and a history that grows with the number of shards only.
 */
export const progressQuery = defineQuery<SweepProgress>('progress');
export const shardProgressQuery = defineQuery<ShardReport>('shardProgress');

export interface ShardReport {
  shard: string;
  /** The shard's result (or its failure's details); a query's answer before that is live progress. */
  final: boolean;
  progress: RunProgress;
  byKind: Record<string, { done: number; cached: number; failed: number }>;
  /** The first MAX_FAILURES failures; `failed` in progress has the count. */
  failures: StageFailure[];
  /** Every failed key (the deletion shards after a head skip what depends on them instead of re-running them). */
  failedKeys: string[];
}

/** The SDK's wrappers ("Activity task failed") dropped: the reason each attempt gave, and any timeout. */
export function failureReason(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; depth++, e = e.cause) {
    if (e instanceof ActivityFailure || e instanceof ChildWorkflowFailure) continue;
    const text =
      e instanceof TimeoutFailure
        ? `timed out (${(e.timeoutType ?? 'timeout').toLowerCase().replaceAll('_', '-')})`
        : e.message || e.name;
    if (!parts.some((p) => p.includes(text))) parts.push(text);
  }
  return parts.join(': ') || String(err);
}

/** Per kind: its queue, a heartbeat timeout from its liveness limit (stage processes beat every second). */
function activityOptions(kind: StageKind, queues: TaskQueues): ActivityOptions {
  const heavy = STAGE_KIND[kind].queue === 'gpu';
  return {
    taskQueue: heavy ? queues.gpu : queues.cpu,
    startToCloseTimeout: heavy ? '8 hours' : '1 hour',
    heartbeatTimeout: `${stallSecondsOf(kind)} seconds`,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: `${STAGE_RETRY.initialSeconds} seconds`,
      backoffCoefficient: STAGE_RETRY.backoff,
      maximumInterval: `${STAGE_RETRY.maxSeconds} seconds`,
      maximumAttempts: 1 + STAGE_RETRY.retries,
    },
  };
}

/** Planning, schedules and rows: light activities on the CPU queue, a bounded number of attempts. */
function lightActivities(queues: TaskQueues) {
  return proxyActivities<SweepActivities>({
    taskQueue: queues.cpu,
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '2 minutes',
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 1 + STAGE_RETRY.retries },
  });
}

export interface ShardInput {
  store: string;
  queues: TaskQueues;
  shard: ShardRef;
  concurrency: number;
  /** Keys that failed in an earlier shard (its head): here they and what depends on them are skipped, not re-run. */
  failedUpstream?: string[];
  /** Carried across continue-as-new. */
  carried?: ShardReport;
}

const zeroProgress = (total: number): RunProgress => ({
  total,
  done: 0,
  cached: 0,
  running: 0,
  failed: 0,
  skipped: 0,
  remaining: total,
});

/** Runs one shard's stages; continues as new after HISTORY.maxStagesPerRun executed stages. */
export async function shardWorkflow(input: ShardInput): Promise<ShardReport> {
  const { shardSchedule } = lightActivities(input.queues);
  const schedule = await shardSchedule({ store: input.store, shard: input.shard.path });
  const carried = input.carried;
  // Stages that failed before (upstream, or in this shard's earlier run) are not run again; neither is what needs them.
  const failedBefore = new Set([...(input.failedUpstream ?? []), ...(carried?.failedKeys ?? [])]);
  const dropped = new Set<number>();
  schedule.stages.forEach((s, i) => {
    if (failedBefore.has(s.key) || s.inputs.some((j) => dropped.has(j))) dropped.add(i);
  });
  // Shared stages are counted by the shard that owns them (the head's, done before this shard starts; a forget set
  // another architecture's shard also lists): here they are found done, or run if not (idempotent), never counted.
  const counted = (i: number) => !schedule.stages[i]!.shared;
  const total = schedule.stages.filter((_, i) => counted(i)).length;
  const upstreamSkipped = [...dropped].filter(counted).length;
  const notCounted = { done: 0, cached: 0, failed: 0, skipped: 0, running: 0 };
  const stages = schedule.stages
    .filter((_, i) => !dropped.has(i))
    .map((s) => ({
      ...s,
      inputs: Object.fromEntries(
        s.inputs.filter((j) => !dropped.has(j)).map((j, n) => [n, schedule.stages[j]!.key] as const),
      ),
    }));
  const done = new Set(schedule.done);
  const report: ShardReport = {
    shard: input.shard.id,
    final: false,
    progress: zeroProgress(total),
    byKind: carried?.byKind ?? {},
    failures: carried?.failures ?? [],
    failedKeys: carried?.failedKeys ?? [],
  };
  // A continued run finds its predecessor's work in the store: counted once, as done, not again as cached.
  const merge = (p: RunProgress): RunProgress => {
    const before = carried?.progress;
    const m = {
      total,
      done: p.done - notCounted.done + (before?.done ?? 0),
      cached: Math.max(0, p.cached - notCounted.cached - (before?.done ?? 0)) + (before?.cached ?? 0),
      running: p.running - notCounted.running,
      failed: p.failed - notCounted.failed + (before?.failed ?? 0),
      skipped: p.skipped - notCounted.skipped + (before?.skipped ?? 0) + (carried ? 0 : upstreamSkipped),
      remaining: 0,
    };
    m.remaining = Math.max(0, m.total - m.done - m.cached - m.failed - m.skipped);
    return m;
  };
  // Live progress for `unprune status` (the failed keys travel with the result only).
  setHandler(shardProgressQuery, () => ({ ...report, failedKeys: [] }));
  let executed = 0;
  const scope = CancellationScope.current();
  const byKey = new Map(schedule.stages.map((s) => [s.key, s] as const));
  type Named = Pick<ScheduledStage, 'key' | 'kind' | 'label'>;
  const run = (stage: Named, why = '') =>
    proxyActivities<SweepActivities>({
      ...activityOptions(stage.kind, input.queues),
      // The activity id names the stage's cell and short key: the Temporal UI lists pending activities by it.
      activityId: `${stage.kind} ${stage.label} ${stage.key.slice(stage.key.indexOf('-') + 1, stage.key.indexOf('-') + 9)}${why}`,
    })[stage.kind]({ store: input.store, shard: input.shard.path, key: stage.key });
  // Self-healing, as the local engine does: a stage whose stored input went missing or corrupt after it was
  // finished reruns that input's stage (and, the same way, anything that one finds lost), once per pair, then runs.
  const healed = new Set<string>();
  const recomputing = new Map<string, Promise<StageOutcome>>();
  const runHealing = async (stage: Named, why = ''): Promise<StageOutcome> => {
    for (let n = 0; ; n++) {
      try {
        return await run(stage, n ? `${why} (after recomputing its input)` : why);
      } catch (err) {
        const lost = lostInput(err);
        const source = lost === undefined ? undefined : byKey.get(lost);
        if (!source || healed.has(`${stage.key}>${lost}`)) throw err;
        healed.add(`${stage.key}>${lost}`);
        let again = recomputing.get(source.key);
        if (!again) recomputing.set(source.key, (again = runHealing(source, ' (recomputed: lost)')));
        await again.finally(() => recomputing.delete(source.key));
      }
    }
  };
  const bump = (kind: string, field: 'done' | 'cached' | 'failed') => {
    const k = (report.byKind[kind] ??= { done: 0, cached: 0, failed: 0 });
    k[field]++;
  };
  const summary = await runStages(stages, {
    concurrency: input.concurrency,
    shouldStop: () => executed >= HISTORY.maxStagesPerRun || scope.consideredCancelled,
    execute: async (stage): Promise<StageOutcome> => {
      if (done.has(stage.key)) return 'cached';
      executed++;
      return runHealing(stage);
    },
    onEvent: (e) => {
      const shared = !!e.stage.shared;
      if (e.type === 'started') {
        if (shared) notCounted.running++;
      } else if (e.type === 'finished') {
        if (shared) {
          notCounted.running--;
          notCounted[e.outcome]++;
        }
        // Found done before this run began (by an earlier run or another shard): counted as cached.
        else if (!(carried && e.outcome === 'cached')) bump(e.stage.kind, e.outcome);
      } else if (e.type === 'failed') {
        notCounted.skipped += e.skipped.filter((x) => x.shared).length;
        if (shared) notCounted.running--;
        if (isCancellation(e.error) || scope.consideredCancelled) return;
        if (shared) notCounted.failed++;
        else bump(e.stage.kind, 'failed');
        report.failedKeys.push(e.stage.key);
        if (report.failures.length < MAX_FAILURES)
          report.failures.push({ key: e.stage.key, label: e.stage.label, error: failureReason(e.error) });
      }
      report.progress = merge(e.progress);
    },
  });
  report.progress = merge(summary.progress);
  // Cancelled: running activities were cancelled (and awaited); the stages they left have no manifest.
  if (scope.consideredCancelled) throw new CancelledFailure('sweep cancelled');
  if (summary.cancelled && executed >= HISTORY.maxStagesPerRun) {
    // Finished stages are in the store; the next run finds them done and goes on.
    await continueAsNew<typeof shardWorkflow>({ ...input, carried: report });
  }
  report.final = true;
  const p = report.progress;
  if (p.failed + p.skipped > 0) {
    // The shard shows failed in the UI; its report travels as the failure's details.
    const first = report.failures[0];
    throw ApplicationFailure.create({
      type: 'ShardFailed',
      nonRetryable: true,
      message:
        `${p.failed} stage(s) failed, ${p.skipped} skipped` + (first ? `; first: ${first.label}: ${first.error}` : ''),
      details: [report],
    });
  }
  return report;
}

/** The key a stage found missing or corrupt among its inputs (a LOST_INPUT failure), if that is why it failed. */
function lostInput(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (cause instanceof ApplicationFailure && cause.type === LOST_INPUT) return cause.details?.[0] as string;
  return undefined;
}

/** A shard's report from its result or its failure (ShardFailed carries it); undefined for other failures. */
function reportOfFailure(err: unknown): ShardReport | undefined {
  if (!(err instanceof ChildWorkflowFailure)) return undefined;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure && cause.type === 'ShardFailed') return cause.details?.[0] as ShardReport;
  return undefined;
}

/** The sweep: plans (in an activity), then runs head shards and, as each finishes, its deletion shards. */
export async function sweepWorkflow(input: SweepInput): Promise<SweepProgress> {
  try {
    return await runSweep(input);
  } catch (err) {
    // An error in workflow code must fail the workflow, not its task (which Temporal would retry for ever).
    if (err instanceof TemporalFailure) throw err;
    throw ApplicationFailure.create({ type: 'SweepError', nonRetryable: true, message: failureReason(err) });
  }
}

async function runSweep(input: SweepInput): Promise<SweepProgress> {
  const queues = { ...DEFAULT_QUEUES, ...input.queues };
  const concurrency = input.concurrency ?? DEFAULT_SHARD_CONCURRENCY;
  const maxChildren = input.maxChildren ?? 16;
  const state: SweepProgress = {
    total: 0,
    done: 0,
    cached: 0,
    running: 0,
    failed: 0,
    skipped: 0,
    remaining: 0,
    byKind: {},
    shards: { total: 0, finished: 0, failed: 0 },
    failures: [],
    etaSeconds: null,
    status: 'planning',
  };
  const setStatus = (status: SweepStatus) => {
    state.status = status;
    if (input.searchAttributes) upsertSearchAttributes([{ key: SWEEP_STATUS_ATTRIBUTE, value: status }]);
  };
  setHandler(progressQuery, () => state);
  const { planShards, writeSweepRows } = lightActivities(queues);
  let planned;
  try {
    planned = await planShards({ sweep: input.sweep, store: input.store, maxCells: input.maxCells });
  } catch (err) {
    if (isCancellation(err)) throw err;
    setStatus('failed');
    throw ApplicationFailure.create({
      type: 'SweepNotPlanned',
      nonRetryable: true,
      message: `the sweep could not be planned: ${failureReason(err)}`,
    });
  }
  const shards = planned.shards;
  state.sweepId = planned.sweepId;
  state.shards.total = shards.length;
  const started = Date.now();
  setStatus('running');
  const reports = new Map<string, ShardReport>();
  /** Shards that failed without a report (their schedule could not be loaded): all their stages count as failed. */
  const lost = new Map<string, StageFailure>();
  const refresh = () => {
    state.total = shards.reduce((n, s) => n + s.stages, 0);
    for (const f of ['done', 'cached', 'running', 'skipped'] as const) state[f] = 0;
    // A lost shard (no report) counts every stage as failed.
    state.failed = [...lost.keys()].reduce((n, id) => n + shards.find((s) => s.id === id)!.stages, 0);
    state.byKind = {};
    state.failures = [...lost.values()].slice(0, MAX_FAILURES);
    addShardCounts(state, [...reports.values()], (Date.now() - started) / 1000);
    state.runningShards = [...running.keys()].map((id) => `${workflowInfo().workflowId}/${id}`);
  };

  const waiting: (ShardRef & { failedUpstream?: string[] })[] = shards.filter((s) => s.kind === 'head');
  const afterHead = new Map<string, ShardRef[]>();
  for (const s of shards) if (s.after) afterHead.set(s.after, [...(afterHead.get(s.after) ?? []), s]);
  const running = new Map<string, Promise<void>>();
  const finish = (shard: ShardRef, report: ShardReport | undefined, failure?: unknown) => {
    if (report) reports.set(shard.id, { ...report, final: true });
    else lost.set(shard.id, { key: shard.id, label: shard.id, error: failureReason(failure) });
    running.delete(shard.id);
    state.shards.finished++;
    if (!report || report.progress.failed + report.progress.skipped > 0) state.shards.failed++;
    refresh();
    if (shard.kind === 'head')
      // A failed head's stages are skipped (not re-run) by its deletion shards; a lost head fails them all.
      for (const next of afterHead.get(shard.id) ?? [])
        if (report) waiting.push({ ...next, failedUpstream: report.failedKeys });
        else lost.set(next.id, { key: next.id, label: next.id, error: `its head shard ${shard.id} failed` });
  };
  try {
    while (waiting.length || running.size) {
      while (waiting.length && running.size < maxChildren && !CancellationScope.current().consideredCancelled) {
        const { failedUpstream, ...ref } = waiting.shift()!;
        // Started together (not one start per workflow task): the shards of a wave are initiated in one task.
        const child = startChild(shardWorkflow, {
          workflowId: `${workflowInfo().workflowId}/${ref.id}`,
          taskQueue: workflowInfo().taskQueue,
          // Closing the sweep (terminated, timed out) asks its shards to cancel: no orphaned activities.
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          args: [
            {
              store: input.store,
              queues,
              shard: ref,
              concurrency,
              failedUpstream: failedUpstream?.length ? failedUpstream : undefined,
            },
          ],
        });
        running.set(
          ref.id,
          child
            .then((handle) => handle.result())
            .then(
              (r) => finish(ref, r),
              (err: unknown) => {
                if (isCancellation(err)) throw err;
                finish(ref, reportOfFailure(err), err);
              },
            ),
        );
      }
      refresh();
      if (running.size) await Promise.race(running.values());
      else if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('sweep cancelled');
    }
    refresh();
    state.rows = await writeSweepRows({ store: input.store, sweepId: planned.sweepId });
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled: every shard got the cancel request (they cancel their running activities); wait until all have
    // ended, so that nothing runs once the sweep says cancelled. Finished stages stay in the store.
    setStatus('cancelling');
    await CancellationScope.nonCancellable(() => Promise.allSettled(running.values()));
    refresh();
    setStatus('cancelled');
    throw err;
  }
  const failed = state.failed + state.skipped > 0 || lost.size > 0;
  setStatus(failed ? 'failed' : 'completed');
  if (failed) {
    const first = state.failures[0];
    throw ApplicationFailure.create({
      type: 'SweepFailed',
      nonRetryable: true,
      message:
        `${state.failed} stage(s) failed, ${state.skipped} skipped; rows for ${state.rows?.rows ?? 0} of ` +
        `${planned.cells} cells` +
        (first ? `; first failure: ${first.label}: ${first.error}` : ''),
      details: [state],
    });
  }
  return state;
}
