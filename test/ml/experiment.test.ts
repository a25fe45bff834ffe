// The seeded science check on real MNIST: MLP, OMP at 80%, random deletion of 10%, 3 seeds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fullView, viewOf, without, type Dataset } from '../../ml/data/dataset.js';
import { forgetSet } from '../../ml/data/forget-set.js';
import { loadMnist } from '../../ml/data/mnist.js';
import { evaluate } from '../../ml/metrics/accuracy.js';
import { maskIoU } from '../../ml/metrics/masks.js';
import { buildArch } from '../../ml/models/architectures.js';
import { initWeights } from '../../ml/models/init-weights.js';
import { Network } from '../../ml/models/network.js';
import { pruneNetwork } from '../../ml/prune/prune-network.js';
import { unlearn } from '../../ml/unlearn/unlearn.js';
import { unprune } from '../../ml/unprune/unprune.js';
import { goldModel, trainedWeights, useBackend } from '../helpers/ml.js';

await useBackend();

/** The seeded MLP trained densely on all of `ds` (SGD, batch 128). */
async function denseMlp(ds: Dataset, seed: number, epochs: number) {
  const def = buildArch('mlp', ds.inputShape, 10);
  const init = initWeights(def, seed);
  const train = { epochs, batchSize: 128, optimizer: 'sgd' as const, lr: 0.05, momentum: 0.9, seed };
  return { def, init, train, dense: await trainedWeights(def, init, fullView(ds, 'train'), train) };
}

test('deleted data changes the mask; reprune moves it toward m_r; Retrain forgets like test data; GA forgets', async () => {
  const ds = loadMnist({ train: 5000, test: 1000 });
  const rows: {
    base: number;
    repruned: number;
    retrainForget: number;
    retrainTest: number;
    gaBefore: number;
    gaAfter: number;
  }[] = [];
  for (const seed of [0, 1, 2]) {
    const { def, init, train, dense } = await denseMlp(ds, seed, 2);
    const req = { method: 'omp' as const, sparsity: 0.8, seed };
    const pruned = await pruneNetwork({ def, init, dense, view: fullView(ds, 'train'), train }, req);
    const df = forgetSet(ds.train.y, 10, { kind: 'random', size: 0.1, seed });
    const retain = without(fullView(ds, 'train'), df);
    const forget = viewOf(ds, df);
    const gold = await goldModel(def, init, retain, train, req);
    const u = await unprune('reprune', 'retrain', req, pruned.mask, pruned.weights, {
      def,
      init,
      dense,
      retain,
      forget,
      train,
    });
    const inputs = { def, weights: pruned.weights, mask: pruned.mask, init, retain, forget, train };
    const acc = async (w: typeof dense, view: typeof retain) => {
      const n = new Network(def, w);
      const a = evaluate(n, view).accuracy;
      n.dispose();
      return a;
    };
    const re = await unlearn('retrain', inputs);
    const ga = await unlearn('ga', inputs, { epochs: 5, lr: 0.01 });
    rows.push({
      base: maskIoU(pruned.mask, gold.mask),
      repruned: maskIoU(u.mask, gold.mask),
      retrainForget: await acc(re.weights, forget),
      retrainTest: await acc(re.weights, fullView(ds, 'test')),
      gaBefore: await acc(pruned.weights, forget),
      gaAfter: await acc(ga.weights, forget),
    });
  }
  const mean = (k: keyof (typeof rows)[number]) => rows.reduce((s, r) => s + r[k], 0) / rows.length;
  for (const r of rows)
    console.log(`# ${JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, +v.toFixed(4)])))}`);
  assert.ok(
    rows.every((r) => r.base < 1),
    'IoU(m, m_r) < 1: the deleted data changes the topology',
  );
  assert.ok(mean('repruned') > mean('base'), `reprune ${mean('repruned')} vs none ${mean('base')}`);
  assert.ok(
    Math.abs(mean('retrainForget') - mean('retrainTest')) <= 2,
    `Retrain forget ${mean('retrainForget')} vs test ${mean('retrainTest')}`,
  );
  assert.ok(
    rows.every((r) => r.gaAfter < r.gaBefore),
    'GA lowers forget accuracy',
  );
});

test('IMP: re-pruning by replaying the rounds from θ̂_r moves the mask toward m_r (a one-shot top-k moved it away)', async () => {
  const { iterativeRepruneMask, criterionScores } = await import('../../ml/unprune/reprune.js');
  const { truncatedRetrainEstimate } = await import('../../ml/unprune/estimators.js');
  const { maskFromScores } = await import('../../ml/prune/mask-ops.js');
  const ds = loadMnist({ train: 5000, test: 100 });
  const rows: { base: number; replayed: number; oneShot: number }[] = [];
  for (const seed of [0, 1, 2]) {
    const { def, init, train, dense } = await denseMlp(ds, seed, 3);
    const req = { method: 'imp' as const, sparsity: 0.8, rounds: 3, seed };
    const pruned = await pruneNetwork({ def, init, dense, view: fullView(ds, 'train'), train }, req);
    const df = forgetSet(ds.train.y, 10, { kind: 'random', size: 0.1, seed });
    const retain = without(fullView(ds, 'train'), df);
    const gold = await goldModel(def, init, retain, train, req);
    const estimate = await truncatedRetrainEstimate({ def, init, dense, retain, forget: viewOf(ds, df), train });
    const replayed = await iterativeRepruneMask({ def, init, retain, train, roundEpochs: 2 }, req, estimate);
    // What the one-shot criterion would have kept: the top 20% of |θ̂_r| per layer.
    const oneShot = maskFromScores(def, criterionScores(def, 'omp', estimate), 0.8, 'layer');
    rows.push({
      base: maskIoU(pruned.mask, gold.mask),
      replayed: maskIoU(replayed.mask, gold.mask),
      oneShot: maskIoU(oneShot, gold.mask),
    });
  }
  for (const r of rows)
    console.log(
      `# IMP IoU to m_r: none ${r.base.toFixed(4)}, replayed ${r.replayed.toFixed(4)}, one-shot ${r.oneShot.toFixed(4)}`,
    );
  const mean = (k: 'base' | 'replayed' | 'oneShot') => rows.reduce((s, r) => s + r[k], 0) / rows.length;
  assert.ok(mean('replayed') > mean('base'), `replayed ${mean('replayed')} vs none ${mean('base')}`);
  assert.ok(mean('oneShot') < mean('base'), `one-shot ${mean('oneShot')} vs none ${mean('base')}`);
});
