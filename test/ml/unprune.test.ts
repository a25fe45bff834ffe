import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fullView, without } from '../../ml/data/dataset.js';
import { forgetSet } from '../../ml/data/forget-set.js';
import { makeSynthetic } from '../../ml/data/synthetic.js';
import { countKept, maskIoU, type Mask } from '../../ml/metrics/masks.js';
import { buildArch } from '../../ml/models/architectures.js';
import { initWeights } from '../../ml/models/init-weights.js';
import { pruneNetwork } from '../../ml/prune/prune-network.js';
import { goldStandard } from '../../ml/unlearn/gold.js';
import { criterionScores, errorBound, repairedWeights, repruneMask, swapMask } from '../../ml/unprune/reprune.js';
import { trainedWeights, useBackend } from '../helpers/ml.js';

await useBackend();

test('re-pruning with the exact estimate (θ̂_r := θ_r) returns m_r exactly, for OMP and structured masks', async () => {
  const ds = makeSynthetic({ train: 240, test: 40, inputShape: [6, 6, 1], numClasses: 3, noise: 2, seed: 8 });
  const def = buildArch('mlp', ds.inputShape, 3);
  const init = initWeights(def, 2);
  const train = { epochs: 2, batchSize: 32, optimizer: 'sgd' as const, lr: 0.05, momentum: 0.9, seed: 0 };
  const dense = await trainedWeights(def, init, fullView(ds, 'train'), train);
  const retain = without(fullView(ds, 'train'), forgetSet(ds.train.y, 3, { kind: 'random', size: 0.25, seed: 0 }));
  for (const method of ['omp', 'structured'] as const) {
    const req = { method, sparsity: 0.5, seed: 0, softEpochs: 0 };
    const m = (await pruneNetwork({ def, init, dense, view: fullView(ds, 'train'), train }, req)).mask;
    const gold = await goldStandard(def, init, retain, train, req);
    assert.ok(maskIoU(m, gold.mask) < 1, `${method}: the deleted data changed the mask`);
    const mu = repruneMask(def, method, gold.dense, m);
    assert.deepEqual(mu, gold.mask, `${method}: m_u = m_r`);
    assert.equal(countKept(mu), countKept(m), 'same budget');
    const bound = errorBound(criterionScores(def, method, gold.dense), mu, 0);
    assert.ok(bound.nearThreshold >= 1, 'ε = 0 counts only the threshold weights themselves');
  }
  assert.equal(
    repruneMask(def, 'synflow', dense, { layers: [] } as Mask).layers.length,
    0,
    'SynFlow masks pass unchanged',
  );
});

test('IMP re-pruning replays the rounds: with θ̂_r := θ_r and full rounds it returns m_r exactly; one-shot top-k is refused', async () => {
  const { iterativeRepruneMask } = await import('../../ml/unprune/reprune.js');
  const { unprune } = await import('../../ml/unprune/unprune.js');
  const { viewOf } = await import('../../ml/data/dataset.js');
  const ds = makeSynthetic({ train: 240, test: 40, inputShape: [6, 6, 1], numClasses: 3, noise: 2, seed: 8 });
  const def = buildArch('mlp', ds.inputShape, 3);
  const init = initWeights(def, 2);
  const train = { epochs: 2, batchSize: 32, optimizer: 'sgd' as const, lr: 0.05, momentum: 0.9, seed: 0 };
  const dense = await trainedWeights(def, init, fullView(ds, 'train'), train);
  const df = forgetSet(ds.train.y, 3, { kind: 'random', size: 0.25, seed: 0 });
  const retain = without(fullView(ds, 'train'), df);
  const req = { method: 'imp' as const, sparsity: 0.7, rounds: 3, seed: 0 };
  const pruned = await pruneNetwork({ def, init, dense, view: fullView(ds, 'train'), train }, req);
  const gold = await goldStandard(def, init, retain, train, req);
  assert.ok(maskIoU(pruned.mask, gold.mask) < 1, 'the deleted data changed the IMP mask');
  const exact = await iterativeRepruneMask({ def, init, retain, train, roundEpochs: train.epochs }, req, gold.dense);
  assert.deepEqual(exact.mask, gold.mask, 'm_u = m_r');
  assert.throws(() => repruneMask(def, 'imp', gold.dense, pruned.mask), /replaying the rounds/);
  // Through unprune: the retrain estimator's epochs set each replayed round's; the budget is m's.
  const inputs = { def, init, dense, retain, forget: viewOf(ds, df), train, epochs: train.epochs };
  const u = await unprune('reprune', 'retrain', req, pruned.mask, pruned.weights, inputs, gold.dense);
  assert.deepEqual(u.mask, gold.mask, 'unprune replays full rounds when the retrain estimator has all epochs');
  assert.equal(countKept(u.mask), countKept(pruned.mask), 'same budget');
  const short = await unprune(
    'reprune',
    'retrain',
    req,
    pruned.mask,
    pruned.weights,
    { ...inputs, epochs: 1 },
    gold.dense,
  );
  assert.equal(countKept(short.mask), countKept(pruned.mask), 'same budget with truncated rounds');
  assert.notDeepEqual(short.mask, gold.mask, 'truncated rounds are an estimate, not the gold run');
});

test('swap keeps the number of kept weights exactly and moves toward higher saliency', () => {
  const m: Mask = { layers: [{ name: 'w', shape: [6], keep: Uint8Array.from([1, 1, 1, 0, 0, 0]) }] };
  const saliency = { w: Float32Array.from([0.1, 5, 0.3, 4, 0.05, 0.2]) };
  const s = swapMask(m, saliency);
  assert.deepEqual(Array.from(s.layers[0]!.keep), [0, 1, 1, 1, 0, 0]);
  assert.equal(countKept(s), countKept(m));
  assert.deepEqual(swapMask(s, saliency), s, 'a fixed point once no swap helps');
});

test('repaired weights: unlearned where m_u and m agree, θ̂_r where regrown, zero where pruned', () => {
  const m: Mask = { layers: [{ name: 'w', shape: [4], keep: Uint8Array.from([1, 1, 0, 0]) }] };
  const mu: Mask = { layers: [{ name: 'w', shape: [4], keep: Uint8Array.from([1, 0, 1, 0]) }] };
  const w = repairedWeights(
    { w: Float32Array.from([1, 2, 0, 0]), b: Float32Array.from([9]) },
    { w: Float32Array.from([5, 6, 7, 8]) },
    m,
    mu,
  );
  assert.deepEqual(Array.from(w.w!), [1, 0, 7, 0]);
  assert.deepEqual(Array.from(w.b!), [9]);
});

test('unprune with every estimator and variant, in both orders: budget kept, m_u enforced, none is the baseline', async () => {
  const { unlearnWithUnpruning, UNPRUNE_ORDERS } = await import('../../ml/unprune/unprune.js');
  const { ESTIMATORS } = await import('../../ml/unprune/estimators.js');
  const { viewOf } = await import('../../ml/data/dataset.js');
  const ds = makeSynthetic({ train: 200, test: 40, inputShape: [6, 6, 1], numClasses: 3, noise: 2, seed: 9 });
  const def = buildArch('mlp', ds.inputShape, 3);
  const init = initWeights(def, 3);
  const train = { epochs: 1, batchSize: 32, optimizer: 'sgd' as const, lr: 0.05, momentum: 0.9, seed: 0 };
  const dense = await trainedWeights(def, init, fullView(ds, 'train'), train);
  const req = { method: 'omp' as const, sparsity: 0.6, seed: 0 };
  const pruned = await pruneNetwork({ def, init, dense, view: fullView(ds, 'train'), train }, req);
  const df = forgetSet(ds.train.y, 3, { kind: 'random', size: 0.2, seed: 0 });
  const inputs = { def, init, dense, retain: without(fullView(ds, 'train'), df), forget: viewOf(ds, df), train };
  for (const order of UNPRUNE_ORDERS) {
    const none = await unlearnWithUnpruning(order, 'none', 'finetune', req, pruned, 'ft', { epochs: 1 }, inputs);
    assert.equal(maskIoU(none.mask, pruned.mask), 1);
    for (const variant of ['reprune', 'swap'] as const) {
      for (const estimator of ESTIMATORS) {
        const r = await unlearnWithUnpruning(order, variant, estimator, req, pruned, 'ft', { epochs: 1 }, inputs);
        const what = `${order}/${variant}/${estimator}`;
        assert.equal(countKept(r.mask), countKept(pruned.mask), `${what}: budget`);
        for (const l of r.mask.layers) {
          const w = r.weights[l.name]!;
          for (let i = 0; i < w.length; i++) if (!l.keep[i]) assert.ok(w[i] === 0, `${what}: ${l.name}[${i}]`);
        }
        assert.ok(r.unprune.epsilon >= 0 && r.unprune.nearThreshold >= 0, `${what}: diagnostic`);
      }
    }
  }
});
