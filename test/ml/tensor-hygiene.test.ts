// Tensor hygiene: no tfjs tensor outlives any stage, over every pruning method, unlearning algorithm, estimator,
// un-pruning variant and the evaluation, run through the production stage functions (activities/run-stage.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runStage } from '../../activities/run-stage.js';
import { tf } from '../../ml/backend.js';
import { ESTIMATORS, PRUNE_METHODS, UNLEARN_METHODS } from '../../ml/catalog.js';
import { useBackend } from '../helpers/ml.js';
import { runSweepInProcess } from '../helpers/stages.js';

await useBackend();

/** Runs `fn` and fails if the number of live tensors grew (what leaked is named by `what`). */
export async function assertNoLeak(what: string, fn: () => Promise<unknown>): Promise<void> {
  const before = tf.memory().numTensors;
  await fn();
  const after = tf.memory().numTensors;
  assert.equal(after, before, `${what} leaked ${after - before} tensor(s)`);
}

const base = {
  dataset: { name: 'synthetic', train: 128, test: 32 },
  model: { arch: 'mlp' },
  train: { epochs: 1, batch: 32, lr: 0.05 },
  seeds: [0],
  deletion: { kind: 'random', sizes: [0.1] },
  evaluate: { miaShadow: 16 },
};

const sweeps: Record<string, Record<string, unknown>> = {
  'every pruning method': {
    prune: PRUNE_METHODS.map((method) => ({ method, sparsity: [0.5], iterations: 2, rounds: 2 })),
    unlearn: [{ method: 'ft', epochs: 1 }],
    unprune: ['none'],
  },
  'every unlearning algorithm': {
    prune: [{ method: 'omp', sparsity: [0.5] }],
    unlearn: UNLEARN_METHODS.map((method) => ({ method, epochs: 1 })),
    unprune: ['none'],
  },
  'every estimator, both orders, and regrow (magnitude and structured)': {
    prune: [
      { method: 'omp', sparsity: [0.5] },
      { method: 'structured', sparsity: [0.5] },
    ],
    unlearn: [{ method: 'ga', epochs: 1 }],
    unprune: [
      ...ESTIMATORS.flatMap((estimator) =>
        (['unprune-first', 'unlearn-first'] as const).map((order) => ({
          variant: 'reprune',
          estimator,
          order,
          epochs: 1,
          name: `reprune/${estimator}/${order}`,
        })),
      ),
      { variant: 'regrow', rounds: 2 },
      { variant: 'regrow', init: 'random', name: 'regrow/random' },
    ],
  },
};

for (const [what, spec] of Object.entries(sweeps)) {
  test(`no stage leaks a tensor: ${what}`, async () => {
    // Plan only (no stages run), then each stage under the leak check.
    const { plan, ctx } = await runSweepInProcess({ ...base, ...spec }, { run: false });
    for (const s of plan.stages)
      await assertNoLeak(`${s.kind} ${JSON.stringify(s.params).slice(0, 120)}`, () => runStage(s, ctx));
  });
}

test('no tensor outlives a failure: a cancelled or diverging training run, a bad weight set', async () => {
  const { makeSynthetic } = await import('../../ml/data/synthetic.js');
  const { fullView } = await import('../../ml/data/dataset.js');
  const { Network } = await import('../../ml/models/network.js');
  const { trainNetwork } = await import('../../ml/train.js');
  type TrainingCheckpoint = import('../../ml/train.js').TrainingCheckpoint;
  const { makeNet } = await import('../helpers/ml.js');
  const ds = makeSynthetic({ train: 64, test: 8, inputShape: [4, 4, 1], numClasses: 2, seed: 1 });
  const cfg = { epochs: 1, batchSize: 8, optimizer: 'sgd' as const, lr: 0.05, seed: 0 };
  const { def, init, net } = makeNet('mlp', ds.inputShape, 2);
  const cancel = new AbortController();
  await assertNoLeak('a cancelled run', () =>
    assert.rejects(
      trainNetwork(net, fullView(ds, 'train'), cfg, {
        hooks: { signal: cancel.signal, progressEvery: 1, onProgress: () => cancel.abort() },
      }),
    ),
  );
  await assertNoLeak('a diverging run', () =>
    assert.rejects(trainNetwork(net, fullView(ds, 'train'), { ...cfg, lr: 1e30 }), /NaN or infinite/),
  );
  const fresh = new Network(def, init);
  let checkpoint: TrainingCheckpoint | undefined;
  await trainNetwork(fresh, fullView(ds, 'train'), cfg, { onEpochEnd: (_e, take) => void (checkpoint = take()) });
  await assertNoLeak('a resumed run (optimiser state imported)', () =>
    trainNetwork(fresh, fullView(ds, 'train'), { ...cfg, epochs: 2 }, { resume: checkpoint }),
  );
  fresh.dispose();
  net.dispose();
  await assertNoLeak('a bad weight set', async () => {
    const bad = { ...init, [def.params.at(-1)!.name]: new Float32Array(1) };
    assert.throws(() => new Network(def, bad), /values, shape/);
  });
});
