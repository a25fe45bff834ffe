// Orchestration overhead through a real Temporal server (bench/scheduler.ts runs it when TEMPORAL_ADDRESS is set):
// no-op stages (activities/noop.ts) as one shard workflow, run by two `unprune worker` processes polling the same
// queues, each with its stage process pool, on a filesystem store. Everything is the production path except the
// science: the shardSchedule activity, one activity per stage, a workflow task per completion.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { NoopStage } from '../activities/noop.js';
import { temporalClient } from '../cli/temporal-commands.js';
import type { ShardBlob } from '../sweep/shards.js';
import { startWorkerProcess } from '../test/helpers/temporal-worker-process.js';
import { temporalSettings } from '../worker/temporal-connection.js';
import type { TaskQueues } from '../workflows/sweep-types.js';

export interface TemporalOverhead {
  workers: number;
  slotsPerWorker: number;
  throughput: { stages: number; seconds: number; perSecond: number };
  /** Rounds of 1-second stages on every slot: 12 rounds minus 4 (fixed costs cancel), and those fixed costs. */
  oneSecond: {
    stages: number;
    seconds: number;
    ideal: number;
    fixedS: number;
    overheadPerStageS: number;
    fractionOf1s: number;
  };
}

/** Runs `stages` as one shard workflow; the wall time from its start to its close, as the server records them. */
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
  await client.connection.close();
  return (d.closeTime!.getTime() - d.startTime.getTime()) / 1000;
}

export async function measureTemporal(
  root: string,
  noopStages: (n: number, chain: number, sleepMs?: number, salt?: string) => NoopStage[],
  count: number,
): Promise<TemporalOverhead> {
  const tag = Date.now().toString(36);
  const queues = { workflows: `bench-wf-${tag}`, gpu: `bench-gpu-${tag}`, cpu: `bench-cpu-${tag}` };
  const slots = 2;
  const workers = [startWorkerProcess(queues, slots), startWorkerProcess(queues, slots)];
  await Promise.all(workers.map((w) => w.ready));
  try {
    const total = 2 * slots;
    // Warm-up: workflow bundles, stage process pools, sticky caches.
    await runShard(root, 'warmup', noopStages(2 * total, 1, 0, 't'), queues, total);
    const n = Math.min(count, 400);
    const seconds = await runShard(root, 'throughput', noopStages(n, 1, 0, 'u'), queues, total);
    // 1-second stages, as many at once as there are slots, in 4 and in 12 rounds: the difference holds 8 rounds of
    // stages and none of the fixed costs (starting the workflow, loading its schedule, closing it).
    const rounds = async (r: number, salt: string) =>
      runShard(root, `one-second-${r}`, noopStages(r * total, 1, 1000, salt), queues, total);
    const short = await rounds(4, 'v');
    const long = await rounds(12, 'x');
    const m = 8 * total;
    const perStage = (long - short - 8) / 8;
    return {
      workers: 2,
      slotsPerWorker: slots,
      throughput: { stages: n, seconds, perSecond: n / seconds },
      oneSecond: {
        stages: m,
        seconds: long - short,
        ideal: 8,
        fixedS: short - 4 - 4 * perStage,
        overheadPerStageS: perStage,
        fractionOf1s: perStage,
      },
    };
  } finally {
    for (const w of workers) w.child.kill('SIGTERM');
  }
}
