// What the workflows decide, driven through the real workflow code with scripted activity results
// (test/helpers/history-builder.ts; no Temporal server runs here): the commands they issue and how they end.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { closure, planSweep } from '../../sweep/plan.js';
import { scheduleOf, shardBlobs, shardPlan } from '../../sweep/shards.js';
import { parseSweep } from '../../sweep/spec.js';
import { HistoryBuilder, type Command } from '../helpers/history-builder.js';

const sweep = parseSweep(readFileSync(new URL('../fixtures/specs/tiny.yaml', import.meta.url), 'utf8'));
const plan = planSweep(sweep);
const byKey = new Map(plan.stages.map((s) => [s.key, s] as const));
const shards = shardPlan(plan);
const blobs = shardBlobs(plan, shards);
const deletion = shards.find((s) => s.kind === 'deletion')!;
const head = shards.find((s) => s.id === deletion.after)!;
const queues = { workflows: 'unprune-sweeps', gpu: 'unprune-gpu', cpu: 'unprune-cpu' };
const ref = (s: typeof deletion) => ({
  id: s.id,
  kind: s.kind,
  after: s.after,
  path: `p/${s.id}`,
  stages: s.keys.length,
});
const schedule = (s: typeof deletion) => scheduleOf(blobs[shards.indexOf(s)]!);

/** Runs a shard to its end: every stage activity completes unless `fail` says otherwise. */
async function runShard(
  input: object,
  done: string[],
  fail: (key: string, b: HistoryBuilder, seq: number) => boolean = () => false,
) {
  const b = new HistoryBuilder('shardWorkflow', [input]);
  const scheduled: Command[] = [];
  let last: Command[] = [];
  while (!b.done) {
    last = await b.step();
    scheduled.push(...last.filter((c) => c.type === 'activity'));
    if (b.done) break;
    const [seq, a] = [...b.openActivities.entries()].sort((x, y) => x[0] - y[0])[0]!;
    if (a.activityType === 'shardSchedule') b.complete(seq, { stages: schedule(deletion), done });
    else {
      const key = (scheduled.find((c) => c.seq === seq)!.args as { key: string }[])[0]!.key;
      if (!fail(key, b, seq)) b.complete(seq, 'done');
    }
    b.nextTask();
  }
  return { scheduled, end: last.find((c) => c.type === 'complete' || c.type === 'failed')! };
}

test("a failed head's stages are skipped by its deletion shard, not re-run; the shard ends failed with its report", async () => {
  const failedTrain = head.keys.find((k) => k.startsWith('train-'))!;
  const { scheduled, end } = await runShard(
    { store: 's', queues, shard: ref(deletion), concurrency: 4, failedUpstream: [failedTrain] },
    head.keys.filter((k) => k !== failedTrain),
  );
  const keys = scheduled
    .filter((c) => c.activityType !== 'shardSchedule')
    .map((c) => (c.args as { key: string }[])[0]!.key);
  assert.ok(!keys.includes(failedTrain), 'the failed train is not scheduled again');
  // Everything downstream of that train is skipped; what does not need it (forget set, retained-data training,
  // gold) still runs.
  const needsTrain = deletion.keys.filter((k) => k !== failedTrain && closure(byKey, [k]).has(failedTrain));
  assert.ok(needsTrain.length > 0);
  for (const k of needsTrain) assert.ok(!keys.includes(k), `${k} depends on the failed train`);
  assert.ok(
    keys.some((k) => k.startsWith('gold-')),
    keys.join(' '),
  );
  assert.equal(end.type, 'failed');
  assert.equal(end.failureType, 'ShardFailed');
  const report = (end.details as { progress: { skipped: number; failed: number } }[])[0]!;
  assert.ok(report.progress.skipped > 0 && report.progress.failed === 0, JSON.stringify(report.progress));
});

test('a failing stage: its reason and cell in the report (not "Activity task failed"); activity ids name the stage', async () => {
  const { scheduled, end } = await runShard(
    { store: 's', queues, shard: ref(deletion), concurrency: 4 },
    head.keys,
    (key, b, seq) => key.startsWith('unlearn-') && (b.fail(seq, `no data for ${key}`), true),
  );
  const unlearn = scheduled.find((c) => c.activityType === 'unlearn')!;
  assert.match(String(unlearn.activityId), /^unlearn synthetic\/mlp\/seed0 \S+ \S+ \S+ [0-9a-f]{8}$/);
  assert.equal(end.type, 'failed');
  const report = (end.details as { failures: { label: string; error: string }[]; failedKeys: string[] }[])[0]!;
  assert.match(report.failures[0]!.error, /^no data for unlearn-/);
  assert.match(report.failures[0]!.label, /^synthetic\/mlp\/seed0/);
  assert.ok(report.failedKeys.length > 0);
  assert.match(String(end.message), /stage\(s\) failed.*first: synthetic\/mlp\/seed0.*no data for unlearn-/);
});

test('a spec the plan activity rejects fails the sweep workflow (not its task, which would retry for ever)', async () => {
  const b = new HistoryBuilder('sweepWorkflow', [{ sweep: { name: 'bad' }, store: 's' }]);
  await b.step();
  const [seq] = [...b.openActivities.keys()];
  b.fail(seq!, 'seeds: required');
  b.nextTask();
  const cmds = await b.step();
  const end = cmds.find((c) => c.type === 'failed')!;
  assert.equal(end.failureType, 'SweepNotPlanned');
  assert.match(String(end.message), /could not be planned: seeds: required/);
});

test("a stage whose stored input was lost: the shard recomputes that input's stage, then runs the stage again", async () => {
  let lostOnce = false;
  const { scheduled, end } = await runShard(
    { store: 's', queues, shard: ref(deletion), concurrency: 4 },
    head.keys,
    (key, b, seq) => {
      if (lostOnce || !key.startsWith('unlearn-')) return false;
      lostOnce = true;
      const model = (byKey.get(key)!.inputs as { model: string }).model;
      b.fail(seq, `input ${model} is missing from the store or fails its checksum`, 'LostInput', [model]);
      return true;
    },
  );
  const ids = scheduled.map((c) => String(c.activityId ?? c.activityType));
  const recomputed = ids.filter((id) => id.endsWith('(recomputed: lost)'));
  assert.equal(recomputed.length, 1, ids.join('\n'));
  assert.match(recomputed[0]!, /^prune /, "the lost model is the head's pruned model");
  assert.equal(ids.filter((id) => id.endsWith('(after recomputing its input)')).length, 1);
  assert.equal(end.type, 'complete', 'healed: the shard completes');
});
