// Orchestration overhead through a real Temporal server (bench/scheduler.ts runs it when TEMPORAL_ADDRESS is set):
// no-op stages (activities/noop.ts) as one shard workflow, run by two `unprune worker` processes polling the same
// queues, each with its stage process pool, on a filesystem store. Everything is the production path except the
// science: the shardSchedule activity, one activity per stage, a workflow task per completion.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import jstatModule from 'jstat';
import type { NoopStage } from '../activities/noop.js';
import { temporalClient } from '../cli/temporal-commands.js';
import type { ShardBlob } from '../sweep/shards.js';
import { startWorkerProcess } from '../test/helpers/temporal-worker-process.js';
import { temporalSettings } from '../worker/temporal-connection.js';
import { DEFAULT_SHARD_CONCURRENCY, type TaskQueues } from '../workflows/sweep-types.js';

/** Rounds of 1-second stages on every slot, with a given number of activities in flight. */
export interface OneSecondRounds {
  /** Activities the shard keeps scheduled: the slot count (each next stage waits for a workflow task), or more. */
  inFlight: number;
  /** Light-queue stages each worker takes beyond its slots (`unprune worker --prefetch`). */
  prefetch: number;
  stages: number;
  seconds: number;
  /** Per stage, what a slot loses between stages in the steady state (server event times). */
  overheadPerStageS: number;
  fractionOf1s: number;
  /** Starting the workflow, loading its schedule, its first stage processes, closing it. */
  fixedS: number;
}

export interface TemporalOverhead {
  workers: number;
  slotsPerWorker: number;
  throughput: { stages: number; seconds: number; perSecond: number };
  oneSecond: OneSecondRounds[];
}

/** A history event's time in ms (the server's clock). */
const eventMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

/**
 * Runs `stages` as one shard workflow: the wall time from its start to its close, and its activities' completion
 * times (ms, sorted), as the server records them.
 */
async function runShard(root: string, name: string, stages: NoopStage[], queues: TaskQueues, concurrency: number) {
  const store = join(root, name);
  mkdirSync(join(store, 'shards'), { recursive: true });
  const blob: ShardBlob = { id: name, stages, labels: stages.map((s) => `noop ${s.params.index}`) };
  writeFileSync(join(store, 'shards', 'blob.json'), JSON.stringify(blob));
  const client = await temporalClient(temporalSettings());
  const handle = await client.workflow.start('shardWorkflow', {
    taskQueue: queues.workflows,
    workflowId: `bench-${name}-${Date.now()}`,
    args: [
      {
        store,
        queues,
        shard: { id: name, kind: 'head', path: 'shards/blob.json', stages: stages.length },
        concurrency,
      },
    ],
  });
  await handle.result();
  const d = await handle.describe();
  const history = await handle.fetchHistory();
  await client.connection.close();
  const completed = (history.events ?? [])
    .filter((e) => e.activityTaskCompletedEventAttributes)
    .map((e) => eventMs(e.eventTime))
    .sort((a, b) => a - b);
  return { seconds: (d.closeTime!.getTime() - d.startTime.getTime()) / 1000, completed };
}

/**
 * What a slot loses per stage in the steady state, from the server's completion times of `slots`-wide rounds of
 * `stageS`-second stages. In the steady state each completion is followed by its own slot's next one `slots`
 * completions later, one stage time plus the overhead apart; the median of those gaps ignores the start-up (the
 * first two rounds), the drain (the last round) and the odd swap of two slots' order.
 */
function steadyOverheadS(completed: number[], slots: number, stageS: number): number {
  const gaps: number[] = [];
  for (let k = 2 * slots; k + 2 * slots < completed.length; k++) gaps.push(completed[k + slots]! - completed[k]!);
  return jstatModule.jStat.median(gaps) / 1000 - stageS;
}

export async function measureTemporal(
  root: string,
  noopStages: (n: number, chain: number, sleepMs?: number, salt?: string) => NoopStage[],
  count: number,
): Promise<TemporalOverhead> {
  const slots = 2;
  const total = 2 * slots;
  let throughput: TemporalOverhead['throughput'] | undefined;
  const oneSecond: OneSecondRounds[] = [];
  // The workers' default (one light-queue stage prefetched), then none, for the trade-off.
  for (const prefetch of [1, 0]) {
    const tag = `${Date.now().toString(36)}-${prefetch}`;
    const queues = { workflows: `bench-wf-${tag}`, gpu: `bench-gpu-${tag}`, cpu: `bench-cpu-${tag}` };
    const workers = [0, 1].map(() => startWorkerProcess(queues, { slots, prefetch }));
    try {
      await Promise.all(workers.map((w) => w.ready));
      // Warm-up: workflow bundles, stage process pools, sticky caches.
      await runShard(root, `warmup-${prefetch}`, noopStages(2 * total, 1, 0, `t${prefetch}`), queues, total);
      if (!throughput) {
        const n = Math.min(count, 400);
        const { seconds } = await runShard(root, 'throughput', noopStages(n, 1, 0, 'u'), queues, total);
        throughput = { stages: n, seconds, perSecond: n / seconds };
      }
      // 12 rounds of 1-second stages on every slot, with one activity in flight per slot (each next stage is
      // scheduled by the workflow task that handles a completion: a dependency chain's case), and with the shard
      // workflow's default 32 in flight (more ready stages than slots, queued at the server: a sweep's usual case).
      const rounds = 12;
      for (const inFlight of [total, DEFAULT_SHARD_CONCURRENCY]) {
        const stages = noopStages(rounds * total, 1, 1000, `x${inFlight}p${prefetch}`);
        const run = await runShard(root, `one-second-${inFlight}-${prefetch}`, stages, queues, inFlight);
        const perStage = steadyOverheadS(run.completed, total, 1);
        oneSecond.push({
          inFlight,
          prefetch,
          stages: stages.length,
          seconds: run.seconds,
          overheadPerStageS: perStage,
          fractionOf1s: perStage / 1,
          fixedS: run.seconds - rounds * (1 + perStage),
        });
      }
    } finally {
      for (const w of workers) w.child.kill('SIGTERM');
    }
  }
  return { workers: 2, slotsPerWorker: slots, throughput: throughput!, oneSecond };
}
