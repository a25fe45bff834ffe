// Temporal without a server (none can run here, see ENVIRONMENT.md): the workflow bundle, and the stage activities
// under MockActivityEnvironment — heartbeats, cancellation, resuming from a checkpoint, idempotency.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { activities } from '../../activities/temporal-activities.js';
import { openStore } from '../../store/artifact-store.js';
import { decodeWeights } from '../../store/codec.js';
import { planSweep, type StageNode } from '../../sweep/plan.js';
import { parseSweep } from '../../sweep/spec.js';
import { useBackend } from '../helpers/ml.js';

await useBackend();

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

function trainStageOf(epochs: number): StageNode<'train'> {
  const plan = planSweep(
    parseSweep(`
name: act
dataset: { name: synthetic, train: 512, test: 64 }
model: { arch: mlp }
train: { epochs: ${epochs}, batch: 16, lr: 0.05 }
seeds: [0]
prune: [{ method: omp, sparsity: 0.5 }]
deletion: { kind: random, sizes: [0.1] }
unlearn: [{ method: ft, epochs: 1 }]
`),
  );
  return plan.stages.find((s) => s.kind === 'train' && s.params.sample === 'all') as StageNode<'train'>;
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

test('activity heartbeats carry training progress, at least once per epoch; a finished stage returns at once', async () => {
  const store = tmp();
  const stage = trainStageOf(3);
  const env = new MockActivityEnvironment();
  const beats: string[] = [];
  env.on('heartbeat', (d: { detail?: string }) => beats.push(String(d?.detail)));
  assert.equal(await env.run(activities.train, { stage, store }), 'done');
  for (const e of [1, 2, 3])
    assert.ok(
      beats.some((b) => b.includes(`epoch ${e}/3`)),
      beats.join(' | '),
    );
  const again = new MockActivityEnvironment();
  const t = performance.now();
  assert.equal(await again.run(activities.train, { stage, store }), 'cached');
  assert.ok(performance.now() - t < 1000);
  assert.deepEqual(
    await new MockActivityEnvironment().run(activities.findDone, {
      store,
      stages: [
        { kind: 'train' as const, key: stage.key },
        { kind: 'prune' as const, key: 'prune-x' },
      ],
    }),
    [stage.key],
  );
});

test('a cancelled activity stops within one heartbeat; the retry resumes from its checkpoint and matches an uninterrupted run', async () => {
  const stage = trainStageOf(6);
  const reference = tmp();
  await new MockActivityEnvironment().run(activities.train, { stage, store: reference });

  const store = tmp();
  const env = new MockActivityEnvironment();
  const beats: string[] = [];
  let afterCancel = 0;
  let cancelled = false;
  env.on('heartbeat', (d: { detail?: string }) => {
    beats.push(String(d?.detail));
    if (cancelled) afterCancel++;
    if (!cancelled && String(d?.detail).includes('epoch 2/6 batch 32/32')) {
      cancelled = true;
      env.cancel();
    }
  });
  await assert.rejects(env.run(activities.train, { stage, store }), /cancel/i);
  assert.ok(afterCancel <= 1, `${afterCancel} heartbeats after the cancel`);
  assert.equal(await openStore(store).isDone('train', stage.key), false);

  const retry = new MockActivityEnvironment({ attempt: 2 });
  const retryBeats: string[] = [];
  retry.on('heartbeat', (d: { detail?: string }) => retryBeats.push(String(d?.detail)));
  assert.equal(await retry.run(activities.train, { stage, store }), 'done');
  assert.ok(
    retryBeats.some((b) => /resuming train all after epoch 2\/6/.test(b)),
    retryBeats.join(' | '),
  );
  assert.ok(!retryBeats.some((b) => /^train all: epoch [12]\/6/.test(b)), 'epochs before the checkpoint are not rerun');
  const a = decodeWeights((await openStore(reference).readBlob('train', stage.key, 'weights.bin'))!);
  const b = decodeWeights((await openStore(store).readBlob('train', stage.key, 'weights.bin'))!);
  assert.deepEqual(b, a, 'bit-identical to the uninterrupted run');
  assert.equal(await openStore(store).readStage('train-checkpoint', stage.key), null, 'checkpoint removed');
});

test('activities report to the worker metrics: stage counts and duration, training examples, store traffic', async () => {
  const { UnpruneMetrics } = await import('../../worker/metrics.js');
  const { observeStages } = await import('../../activities/temporal-activities.js');
  const metrics = new UnpruneMetrics({ defaultMetrics: false });
  observeStages(metrics);
  try {
    const store = tmp();
    const stage = trainStageOf(2);
    await new MockActivityEnvironment().run(activities.train, { stage, store });
    await new MockActivityEnvironment().run(activities.train, { stage, store });
    const text = await metrics.registry.metrics();
    assert.match(text, /unprune_stages_total\{kind="train",outcome="completed"\} 1/);
    assert.match(text, /unprune_stages_total\{kind="train",outcome="cached"\} 1/);
    assert.match(text, /unprune_training_examples_total\{kind="train"\} 1024/);
    assert.match(text, /unprune_store_bytes_total\{store="fs",direction="written"\} [1-9]/);
    assert.match(text, /unprune_stages_in_flight\{kind="train"\} 0/);
  } finally {
    observeStages(undefined);
  }
});
