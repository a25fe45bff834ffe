// No workflow activation does work that grows with the grid: the paper grid (47,502 stages, 90 shards) driven
// through the real workflow code with scripted activity results (test/helpers/history-builder.ts; no server runs
// here). On a real server its plan inside workflow code took 2.3 s per activation and shards hit the SDK's 5 s
// limit; now planning is an activity and workflows see shard references and light schedules.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { planSweep } from '../../sweep/plan.js';
import { scheduleOf, shardBlobs, shardPlan, type ShardRef } from '../../sweep/shards.js';
import { parseSweep } from '../../sweep/spec.js';
import { HistoryBuilder, WORKFLOWS } from '../helpers/history-builder.js';

const spec = parseSweep(readFileSync(new URL('../../examples/paper-grid.yaml', import.meta.url), 'utf8'));
const plan = planSweep(spec);
const shards = shardPlan(plan);
const refs: ShardRef[] = shards.map((s, i) => ({
  id: s.id,
  kind: s.kind,
  after: s.after,
  path: `sweeps/${plan.id}/shards/${i}.json`,
  stages: s.keys.length,
}));

type History = ReturnType<HistoryBuilder['history']>;

/**
 * Seconds per activation: replaying the history up to each workflow task, minus the replay up to the one before
 * (the replay worker's own start is in both and cancels out), and the whole replay.
 */
async function activationSeconds(prefixes: History[]): Promise<{ max: number; total: number }> {
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS, logger: new DefaultLogger('ERROR') });
  const replay = async (h: History) => {
    const t = performance.now();
    await Worker.runReplayHistory({ workflowBundle, replayName: 'paper-grid' }, h, 'wf-1');
    return (performance.now() - t) / 1000;
  };
  await replay(prefixes[0]!); // warm-up
  const times: number[] = [];
  for (const h of prefixes) times.push(await replay(h));
  const steps = times.map((t, i) => (i === 0 ? t : t - times[i - 1]!));
  return { max: Math.max(...steps), total: times.at(-1)! };
}

test('paper grid, the sweep workflow: planning is an activity; every activation takes under 1 s', async () => {
  const b = new HistoryBuilder('sweepWorkflow', [
    { sweep: spec, store: 's3://unprune/paper', maxCells: 1e6, maxChildren: 100 },
  ]);
  let children = 0;
  const prefixes: History[] = [];
  while (!b.done) {
    await b.step();
    if (b.done) break;
    b.childrenStarted();
    if (b.openChildren.size) {
      // Every open shard finishes at once, and up to 100 start at once: few workflow tasks, each as large as it gets.
      for (const [seq, ch] of [...b.openChildren.entries()]) {
        const id = ch.workflowId.slice(ch.workflowId.indexOf('/') + 1);
        const n = refs.find((r) => r.id === id)!.stages;
        children++;
        b.childCompleted(seq, {
          shard: id,
          final: true,
          progress: { total: n, done: n, cached: 0, running: 0, failed: 0, skipped: 0, remaining: 0 },
          byKind: {},
          failures: [],
          failedKeys: [],
        });
      }
    } else {
      const [seq, a] = [...b.openActivities.entries()][0]!;
      if (a.activityType === 'planShards')
        b.complete(seq, { sweepId: plan.id, cells: plan.cells.length, stages: plan.stages.length, shards: refs });
      else b.complete(seq, { rows: plan.cells.length, missing: 0, path: `sweeps/${plan.id}/rows.jsonl` });
    }
    b.nextTask();
    prefixes.push(b.history());
  }
  assert.equal(children, shards.length);
  const bytes = JSON.stringify(b.history().toJSON()).length;
  const { max, total } = await activationSeconds(prefixes);
  console.log(
    `# paper grid: ${plan.stages.length} stages, ${shards.length} shards; parent history ${b.events.length} events, ` +
      `${(bytes / 1024).toFixed(0)} KiB, ${prefixes.length} workflow tasks; largest activation ≈ ${max.toFixed(3)} s, ` +
      `whole replay ${total.toFixed(2)} s`,
  );
  assert.ok(max < 1, `${max} s`);
  assert.ok(bytes < 10 * 1024 * 1024);
});

test('paper grid, its largest shard: loading its schedule and starting its stages takes under 1 s', async () => {
  const largest = shards.reduce((a, s) => (s.keys.length > a.keys.length ? s : a));
  const schedule = scheduleOf(shardBlobs(plan, shards)[shards.indexOf(largest)]!);
  const b = new HistoryBuilder('shardWorkflow', [
    {
      store: 's3://unprune/paper',
      queues: { workflows: 'unprune-sweeps', gpu: 'unprune-gpu', cpu: 'unprune-cpu' },
      shard: refs[shards.indexOf(largest)],
      concurrency: 32,
    },
  ]);
  await b.step();
  const [seq] = [...b.openActivities.keys()];
  const first = b.history();
  b.complete(seq!, { stages: schedule, done: [] });
  b.nextTask();
  const cmds = await b.step();
  b.nextTask();
  const scheduled = cmds.filter((c) => c.type === 'activity').length;
  assert.ok(scheduled > 0, 'stages scheduled');
  const { max } = await activationSeconds([first, b.history()]);
  console.log(
    `# largest shard: ${largest.keys.length} stages; ${scheduled} stages scheduled at once; its largest activation ≈ ${max.toFixed(3)} s`,
  );
  assert.ok(max < 1, `${max} s`);
});
