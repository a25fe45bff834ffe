import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fullView, without } from '../../ml/data/dataset.js';
import { forgetSet } from '../../ml/data/forget-set.js';
import { makeSynthetic } from '../../ml/data/synthetic.js';
import { compareToGold } from '../../ml/metrics/gold-comparison.js';
import type { Mask } from '../../ml/mask.js';
import { maskSparsity } from '../../ml/metrics/masks.js';
import { buildArch } from '../../ml/models/architectures.js';
import { initWeights } from '../../ml/models/init-weights.js';
import { goldModel, useBackend } from '../helpers/ml.js';

await useBackend();

test('compareToGold on hand-built masks: IoU, base IoU, recovery, Hamming', () => {
  const mk = (bits: number[]): Mask => ({ layers: [{ name: 'w', shape: [bits.length], keep: Uint8Array.from(bits) }] });
  const gold = mk([1, 1, 0, 0]);
  const original = mk([1, 0, 1, 0]); // IoU with gold 1/3
  const repaired = mk([1, 1, 0, 0]); // equals gold
  const half = mk([1, 1, 1, 0]); // IoU 2/3
  assert.equal(compareToGold(repaired, original, gold).recovery, 1);
  const c = compareToGold(half, original, gold);
  assert.ok(Math.abs(c.iouGoldBase - 1 / 3) < 1e-12 && Math.abs(c.iouGold - 2 / 3) < 1e-12);
  assert.ok(Math.abs(c.recovery - 0.5) < 1e-12);
  assert.equal(c.hammingGold, 1);
  assert.equal(compareToGold(original, original, gold).recovery, 0);
  assert.ok(Number.isNaN(compareToGold(gold, gold, gold).recovery));
});

test('the gold standard trains on D_r from the same init and prunes at the same budget', async () => {
  const ds = makeSynthetic({ train: 200, test: 50, inputShape: [6, 6, 1], numClasses: 3, seed: 4 });
  const def = buildArch('mlp', ds.inputShape, 3);
  const init = initWeights(def, 0);
  const df = forgetSet(ds.train.y, 3, { kind: 'random', size: 0.2, seed: 1 });
  const retain = without(fullView(ds, 'train'), df);
  const train = { epochs: 2, batchSize: 32, optimizer: 'sgd' as const, lr: 0.05, momentum: 0.9, seed: 0 };
  const g = await goldModel(def, init, retain, train, { method: 'omp', sparsity: 0.6, seed: 0 });
  assert.ok(Math.abs(maskSparsity(g.mask) - 0.6) < 0.005);
  const again = await goldModel(def, init, retain, train, { method: 'omp', sparsity: 0.6, seed: 0 });
  assert.deepEqual(again.mask, g.mask, 'deterministic');
});

test('UA, RA, TA and gaps to gold on a model whose predictions are known', async () => {
  const { modelOutputs } = await import('../../ml/metrics/unlearning-metrics.js');
  const { mlp } = await import('../../ml/models/architectures.js');
  const { Network } = await import('../../ml/models/network.js');
  const { viewOf } = await import('../../ml/data/dataset.js');
  const ds = makeSynthetic({ train: 10, test: 4, inputShape: [1, 1, 1], numClasses: 2, seed: 0 });
  // A linear model with zero weights and bias [1, 0] predicts class 0 for everything.
  const def = mlp(ds.inputShape, 2, []);
  const net = new Network(def, { 'fc1.w': Float32Array.from([0, 0]), 'fc1.b': Float32Array.from([1, 0]) });
  const frac = (v: { indices: Int32Array; split: { y: Int32Array } }) =>
    (100 * Array.from(v.indices).filter((i) => v.split.y[i] === 0).length) / v.indices.length;
  const forget = viewOf(ds, [0, 1, 2]);
  const retain = viewOf(ds, [3, 4, 5, 6, 7, 8, 9]);
  const test = fullView(ds, 'test');
  const o = modelOutputs(net, { retain, forget, test });
  assert.equal(o.metrics.ua, 100 - frac(forget));
  assert.equal(o.metrics.ra, frac(retain));
  assert.equal(o.metrics.ta, frac(test));
  assert.equal(o.forget.probs.length, 6);
  net.dispose();
});
