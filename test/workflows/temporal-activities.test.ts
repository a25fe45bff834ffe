// Temporal without a server (none installs on these machines): the workflow bundle, and the stage activities
// under MockActivityEnvironment — heartbeats, cancellation, resuming from a checkpoint, idempotency.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { checkpointKeys, CHECKPOINT_KIND } from '../../activities/train.js';
import { createActivities } from '../../worker/temporal-activities.js';
import { loadSettings } from '../../worker/settings.js';
import { openStore } from '../../store/artifact-store.js';
import { decodeWeights } from '../../store/codec.js';
import { planSweep } from '../../sweep/plan.js';
import type { PlannedSweep, ScheduledStage } from '../../sweep/shards.js';
import { parseSweep } from '../../sweep/spec.js';
const settings = loadSettings();

const tmp = () => mkdtempSync(join(tmpdir(), 'unprune-temporal-'));
const silent = {
  logger: {
    log: () => undefined,
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
  },
};

/** A one-lineage sweep planned into its shards in `store`; the train stage's task and key. */
async function plannedTrain(store: string, epochs: number, activities = createActivities({ settings, slots: 1 })) {
  const spec = {
    name: 'act',
    dataset: { name: 'synthetic', train: 512, test: 64 },
    model: { arch: 'mlp' },
    train: { epochs, batch: 16, lr: 0.05 },
    seeds: [0],
    prune: [{ method: 'omp', sparsity: 0.5 }],
    deletion: { kind: 'random', sizes: [0.1] },
    unlearn: [{ method: 'ft', epochs: 1 }],
  };
  const planned = (await new MockActivityEnvironment().run(activities.planShards, {
    sweep: spec,
    store,
  })) as PlannedSweep;
  const head = planned.shards.find((s) => s.kind === 'head')!;
  const plan = planSweep(parseSweep(JSON.stringify(spec)));
  const key = plan.stages.find((s) => s.kind === 'train' && s.params.sample === 'all')!.key;
  return { activities, planned, task: { store, shard: head.path, key } };
}

test('the workflows bundle; a workflow importing a Node built-in does not', async () => {
  const ok = await bundleWorkflowCode({
    workflowsPath: new URL('../../workflows/index.ts', import.meta.url).pathname,
    ...silent,
  });
  assert.ok(ok.code.includes('sweepWorkflow'));
  await assert.rejects(
    bundleWorkflowCode({
      workflowsPath: new URL('../fixtures/workflows/forbidden-import.ts', import.meta.url).pathname,
      ...silent,
    }),
    /Webpack finished with errors|disallowed/,
  );
});

test('stages run in a stage process: heartbeats carry its progress text; a finished stage returns at once', async () => {
  const store = tmp();
  // Several seconds (160 epochs once did; 1.3 s on CI after the trainer got faster, and no sign of life came with
  // progress): the stage process's once-a-second signs of life carry it.
  const { activities, task } = await plannedTrain(store, 800);
  try {
    const env = new MockActivityEnvironment();
    const beats: string[] = [];
    env.on('heartbeat', (d: { detail?: string }) => beats.push(String(d?.detail)));
    assert.equal(await env.run(activities.train, task), 'done');
    assert.ok(
      beats.some((b) => /train all: epoch \d+\/800/.test(b)),
      beats.join(' | '),
    );
    const t = performance.now();
    assert.equal(await new MockActivityEnvironment().run(activities.train, task), 'cached');
    assert.ok(performance.now() - t < 2000);
    const schedule = (await new MockActivityEnvironment().run(activities.shardSchedule, {
      store,
      shard: task.shard,
    })) as { stages: ScheduledStage[]; done: string[] };
    assert.deepEqual(schedule.done, [task.key], 'the schedule lists what the store holds');
    assert.ok(schedule.stages.every((s) => s.inputs.every((i) => i < schedule.stages.indexOf(s))));
    assert.match(schedule.stages[0]!.label, /^synthetic\/mlp\/seed0/);
  } finally {
    await activities.close();
  }
});

test('a cancelled activity kills its stage process at once; the retry resumes from its checkpoint and matches an uninterrupted run', async () => {
  const reference = tmp();
  const ref = await plannedTrain(reference, 600);
  await new MockActivityEnvironment().run(ref.activities.train, ref.task);
  await ref.activities.close();

  const store = tmp();
  // A checkpoint after every epoch: these epochs take milliseconds, the default interval is seconds.
  const everyEpoch = { ...settings, checkpointSeconds: 0 };
  const { activities, task } = await plannedTrain(store, 600, createActivities({ settings: everyEpoch, slots: 1 }));
  try {
    const env = new MockActivityEnvironment();
    let cancelledAt = 0;
    env.on('heartbeat', (d: { detail?: string }) => {
      const m = /epoch (\d+)\/600/.exec(String(d?.detail));
      if (!cancelledAt && m && Number(m[1]) >= 3) {
        cancelledAt = performance.now();
        env.cancel();
      }
    });
    await assert.rejects(env.run(activities.train, task), /cancel/i);
    const stopped = performance.now() - cancelledAt;
    console.log(`# cancelled after epoch ≥ 3; the activity ended ${stopped.toFixed(0)} ms later`);
    assert.ok(cancelledAt > 0 && stopped < 2000, `${stopped} ms`);
    assert.equal(await openStore(store).isDone('train', task.key), false);
    const slots = await Promise.all(
      checkpointKeys(task.key).map((k) => openStore(store).readStage(CHECKPOINT_KIND, k)),
    );
    assert.ok(slots.some(Boolean), 'a whole checkpoint stays for the retry');

    assert.equal(await new MockActivityEnvironment({ attempt: 2 }).run(activities.train, task), 'done');
    const a = decodeWeights((await openStore(reference).readBlob('train', task.key, 'weights.bin'))!);
    const b = decodeWeights((await openStore(store).readBlob('train', task.key, 'weights.bin'))!);
    assert.deepEqual(b, a, 'bit-identical to the uninterrupted run');
    for (const k of checkpointKeys(task.key))
      assert.equal(await openStore(store).readStage(CHECKPOINT_KIND, k), null, 'checkpoints removed');
  } finally {
    await activities.close();
  }
});

test('errors are classified once for both engines: a bad spec and an unknown stage are non-retryable; a lost input is named', async () => {
  const activities = createActivities({ settings, slots: 1 });
  const store = tmp();
  await assert.rejects(
    new MockActivityEnvironment().run(activities.planShards, { sweep: { name: 'x', seeds: 'zero' }, store }),
    (err: Error & { nonRetryable?: boolean; type?: string }) =>
      err.nonRetryable === true && err.type === 'SpecError' && /seeds/.test(err.message),
  );
  const { task } = await plannedTrain(store, 1, activities);
  await assert.rejects(
    new MockActivityEnvironment().run(activities.prune, { ...task, key: 'prune-000000000000000000000000' }),
    (err: Error & { nonRetryable?: boolean }) => err.nonRetryable === true,
  );
  // A stored input lost after its stage finished: not retried (it would fail the same way) but named, so that
  // the shard workflow recomputes it.
  await new MockActivityEnvironment().run(activities.train, task);
  const schedule = (await new MockActivityEnvironment().run(activities.shardSchedule, {
    store,
    shard: task.shard,
  })) as { stages: ScheduledStage[] };
  const prune = schedule.stages.find((s) => s.kind === 'prune')!;
  rmSync(join(store, openStore(store).stageDir('train', task.key), 'weights.bin'));
  await assert.rejects(
    new MockActivityEnvironment().run(activities.prune, { ...task, key: prune.key }),
    (err: Error & { nonRetryable?: boolean; type?: string; details?: unknown[] }) =>
      err.nonRetryable === true && err.type === 'LostInput' && err.details?.[0] === task.key,
  );
  await activities.close();
});

test('activities report to the worker metrics: stage counts and duration, training examples, store traffic', async () => {
  const { UnpruneMetrics } = await import('../../worker/metrics.js');
  const metrics = new UnpruneMetrics({ defaultMetrics: false });
  const activities = createActivities({ settings, slots: 1, observer: metrics });
  try {
    const store = tmp();
    const { task } = await plannedTrain(store, 2, activities);
    await new MockActivityEnvironment().run(activities.train, task);
    await new MockActivityEnvironment().run(activities.train, task);
    const text = await metrics.registry.metrics();
    assert.match(text, /unprune_stages_total\{kind="train",outcome="completed"\} 1/);
    assert.match(text, /unprune_stages_total\{kind="train",outcome="cached"\} 1/);
    assert.match(text, /unprune_training_examples_total\{kind="train"\} 1024/);
    assert.match(text, /unprune_store_bytes_total\{store="fs",direction="written"\} [1-9]/);
    assert.match(text, /unprune_stages_in_flight\{kind="train"\} 0/);
  } finally {
    await activities.close();
  }
});
