import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fullView, viewOf, without } from '../../ml/data/dataset.js';
import { forgetSet } from '../../ml/data/forget-set.js';
import { makeSynthetic } from '../../ml/data/synthetic.js';
import { evaluate } from '../../ml/metrics/accuracy.js';
import { maskSize } from '../../ml/mask.js';
import { Network } from '../../ml/models/network.js';
import { magnitudeMask } from '../../ml/prune/magnitude.js';
import { applyMask } from '../../ml/prune/mask-ops.js';
import { trainNetwork, type TrainConfig } from '../../ml/train.js';
import { saliencyMask } from '../../ml/unlearn/basic-algorithms.js';
import { UNLEARN_METHODS } from '../../ml/catalog.js';
import { unlearn } from '../../ml/unlearn/unlearn.js';
import type { UnlearnInputs } from '../../ml/unlearn/unlearn-context.js';
import { makeNet, useBackend } from '../helpers/ml.js';

await useBackend();
const ds = makeSynthetic({ train: 400, test: 100, inputShape: [8, 8, 1], numClasses: 4, noise: 2.5, seed: 5 });
const train: TrainConfig = { epochs: 4, batchSize: 32, optimizer: 'sgd', lr: 0.05, momentum: 0.9, seed: 0 };
const { def, init, net } = makeNet('mlp', ds.inputShape, 4, 1);
await trainNetwork(net, fullView(ds, 'train'), train);
const mask = magnitudeMask(def, net.getWeights(), 0.7);
const sparse = applyMask(net.getWeights(), mask);
net.dispose();
const df = forgetSet(ds.train.y, 4, { kind: 'random', size: 0.1, seed: 0 });
const forget = viewOf(ds, df);
const retain = without(fullView(ds, 'train'), df);

// Every algorithm trains through maskedRun, which re-applies the mask after every step (checked step by step in
// train.test.ts); here the results of each algorithm are checked.
const inputs: UnlearnInputs = { def, weights: sparse, mask, init, retain, forget, train };

test('every algorithm keeps every pruned weight exactly zero, reports its wall time, and changes the model', async () => {
  for (const method of UNLEARN_METHODS) {
    const r = await unlearn(method, inputs, { epochs: 2 });
    assert.ok(r.seconds > 0, `${method}: RTE`);
    let changed = false;
    for (const l of mask.layers) {
      const w = r.weights[l.name]!;
      for (let i = 0; i < w.length; i++) {
        if (!l.keep[i]) assert.ok(w[i] === 0, `${method}: pruned ${l.name}[${i}] became ${w[i]}`);
        if (w[i] !== sparse[l.name]![i]) changed = true;
      }
    }
    assert.ok(changed, `${method} changed the weights`);
  }
});

test('GA lowers accuracy on the forget set relative to the original model', async () => {
  const original = new Network(def, sparse);
  const before = evaluate(original, forget).accuracy;
  original.dispose();
  const r = await unlearn('ga', inputs, { epochs: 5, lr: 0.05 });
  const after = new Network(def, r.weights);
  const acc = evaluate(after, forget).accuracy;
  after.dispose();
  console.log(`# GA: forget accuracy ${before.toFixed(1)}% → ${acc.toFixed(1)}%`);
  assert.ok(acc < before, `${before} → ${acc}`);
});

test("SalUn's saliency mask keeps the requested fraction of weights", () => {
  const m = saliencyMask(inputs, 0.2, 32);
  const kept = m.layers.reduce((s, l) => s + l.keep.reduce((a, b) => a + b, 0), 0);
  assert.equal(kept, Math.round(0.2 * maskSize(m)));
});

test('SCRUB distillation KL: zero for identical logits, the closed form for two classes', async () => {
  const { distillKL } = await import('../../ml/unlearn/scrub.js');
  const { tf } = await import('../../ml/backend.js');
  const a = tf.tensor2d([[1, 2]]);
  const b = tf.tensor2d([[0, 0]]);
  assert.ok(Math.abs(distillKL(a, a, 4).dataSync()[0]!) < 1e-7);
  // Teacher b (uniform), student a at T = 1: KL = Σ 0.5·(log 0.5 − log p_s).
  const ps = [Math.exp(1) / (Math.exp(1) + Math.exp(2)), Math.exp(2) / (Math.exp(1) + Math.exp(2))];
  const expected = 0.5 * (Math.log(0.5) - Math.log(ps[0]!)) + 0.5 * (Math.log(0.5) - Math.log(ps[1]!));
  assert.ok(Math.abs(distillKL(a, b, 1).dataSync()[0]! - expected) < 1e-6);
  a.dispose();
  b.dispose();
});

test('FF diagonal Fisher equals the closed form for softmax regression', async () => {
  const { diagonalFisher } = await import('../../ml/unlearn/fisher-forgetting.js');
  const { mlp } = await import('../../ml/models/architectures.js');
  const { initWeights } = await import('../../ml/models/init-weights.js');
  const small = makeSynthetic({ train: 8, test: 2, inputShape: [1, 3, 1], numClasses: 2, seed: 1 });
  const lin = mlp(small.inputShape, 2, []); // logits = x·W + b
  const w = initWeights(lin, 0);
  const view = fullView(small, 'train');
  const F = diagonalFisher(
    { def: lin, weights: w, mask: { layers: [] }, init: w, retain: view, forget: view, train },
    32,
  );
  // Closed form: p = softmax(xW + b); for each class y, ∇_W mean-CE = (1/B) Σ x_i (p_i − e_y)ᵀ; F = Σ_y p̄_y (∇)².
  const W = w['fc1.w']!;
  const b = w['fc1.b']!;
  const B = small.train.n;
  const probs: number[][] = [];
  for (let i = 0; i < B; i++) {
    const x = small.train.x.subarray(i * 3, i * 3 + 3);
    const z = [0, 1].map((k) => b[k]! + x.reduce((s, v, j) => s + v * W[j * 2 + k]!, 0));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    probs.push(e.map((v) => v / (e[0]! + e[1]!)));
  }
  const expected = new Array<number>(6).fill(0);
  for (let y = 0; y < 2; y++) {
    const pbar = probs.reduce((s, p) => s + p[y]!, 0) / B;
    for (let j = 0; j < 3; j++) {
      for (let k = 0; k < 2; k++) {
        let g = 0;
        for (let i = 0; i < B; i++) g += small.train.x[i * 3 + j]! * (probs[i]![k]! - (k === y ? 1 : 0));
        expected[j * 2 + k]! += pbar * (g / B) ** 2;
      }
    }
  }
  F['fc1.w']!.forEach((v, i) =>
    assert.ok(Math.abs(v - expected[i]!) < 1e-5 * Math.max(1, expected[i]!), `${i}: ${v} vs ${expected[i]}`),
  );
});

test('WoodFisher recursion equals Sherman–Morrison in closed form when every gradient is the same', async () => {
  const { woodfisherInverse } = await import('../../ml/unlearn/woodfisher.js');
  const g = Float64Array.from([0.5, -1, 2]);
  const v = Float64Array.from([1, 2, -0.5]);
  const m = 6;
  const N = 10;
  const k = woodfisherInverse(
    v,
    Array.from({ length: m }, () => g),
    N,
  );
  // (I + c·g gᵀ)⁻¹ v = v − c·g (gᵀv) / (1 + c|g|²), with c = (m − 1)/N (the first gradient only seeds the recursion).
  const c = (m - 1) / N;
  const gv = g.reduce((s, x, i) => s + x * v[i]!, 0);
  const gg = g.reduce((s, x) => s + x * x, 0);
  v.forEach((vi, i) => assert.ok(Math.abs(k[i]! - (vi - (c * g[i]! * gv) / (1 + c * gg))) < 1e-12));
});

test("FF's noise variance, by hand: capped inverse Fisher × α, averaged over the input axis, × 10 on the output layer and 1-D parameters", async () => {
  const { noiseVariance } = await import('../../ml/unlearn/fisher-forgetting.js');
  const alpha = 1e-6;
  // Hidden dense [in 2, out 2]: 1/(F + 1e-8) capped at 1e3, mean over the input axis (rows), not scaled.
  const hidden = { name: 'fc1.w', shape: [2, 2], role: 'dense' as const, trainable: true, prunable: true };
  const v = noiseVariance(hidden, Float32Array.from([1, 0.5, 1e-9, 4]), alpha);
  const col0 = (alpha * (1 / (1 + 1e-8)) + alpha * 1e3) / 2; // 1/(1e-9 + 1e-8) ≈ 9e7 is capped at 1e3
  const col1 = (alpha * (1 / (0.5 + 1e-8)) + alpha * (1 / (4 + 1e-8))) / 2;
  const close = (a: number, e: number) => Math.abs(a - e) <= 1e-6 * Math.abs(e); // float32 storage
  [col0, col1, col0, col1].forEach((e, i) => assert.ok(close(v[i]!, e), `hidden[${i}] ${v[i]} vs ${e}`));
  // Output weights: cap 1e2, then × 10.
  const out = noiseVariance({ ...hidden, name: 'fc2.w', output: true }, Float32Array.from([0, 0, 0, 0]), alpha);
  assert.ok(close(out[0]!, alpha * 1e2 * 10));
  // A hidden bias (1-D): no averaging, × 10.
  const bias = noiseVariance(
    { ...hidden, name: 'fc1.b', shape: [2], prunable: false },
    Float32Array.from([2, 1e-12]),
    alpha,
  );
  assert.ok(close(bias[0]!, alpha * (1 / (2 + 1e-8)) * 10) && close(bias[1]!, alpha * 1e3 * 10));
});

test('SalUn with masked gradients (the default): a budget larger than the kept weights covers every kept weight (pruned ones score 0; RL would update them all); dense gradients spend it on pruned weights', async () => {
  // A linear model (no ReLU, so no weight has an exactly-zero gradient): 30% kept, a 50% saliency budget.
  const { mlp } = await import('../../ml/models/architectures.js');
  const { initWeights } = await import('../../ml/models/init-weights.js');
  const linear = mlp(ds.inputShape, 4, []);
  const w0 = initWeights(linear, 3);
  const m = magnitudeMask(linear, w0, 0.7);
  const lin = { ...inputs, def: linear, weights: applyMask(w0, m), mask: m, init: w0 };
  const share = (s: ReturnType<typeof saliencyMask>) => {
    let kept = 0;
    let covered = 0;
    m.layers.forEach((l, i) =>
      l.keep.forEach((k, j) => {
        kept += k;
        covered += k & s.layers[i]!.keep[j]!;
      }),
    );
    return covered / kept;
  };
  assert.equal(share(saliencyMask(lin, 0.5, 32)), 1, 'masked: every kept weight is salient');
  assert.ok(share(saliencyMask(lin, 0.5, 32, 'dense')) < 1, 'dense: some budget went to pruned weights');
});

test('IU inverse on non-collinear gradients, against a dense inverse: the exact form equals it, the WoodFisher recursion does not', async () => {
  const { woodfisherInverse, exactFisherInverse } = await import('../../ml/unlearn/woodfisher.js');
  const d = 5;
  const N = 3;
  const gs = [
    [1, 0, 2, -1, 0.5],
    [0.3, -2, 1, 0, 1],
    [-1, 1, 0.5, 2, -0.5],
    [2, 0.5, -1, 1, 1.5],
    [0, 1.5, 1, -2, 0.2],
  ].map((g) => Float64Array.from(g));
  const v = Float64Array.from([1, -1, 0.5, 2, -0.3]);
  // Dense: solve (I + (1/N)·Σ_{t≥2} g gᵀ) k = v by Gaussian elimination (the first gradient only seeds the recursion).
  const M = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)));
  for (const g of gs.slice(1)) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) M[i]![j]! += (g[i]! * g[j]!) / N;
  const b = Array.from(v);
  for (let c = 0; c < d; c++)
    for (let r = c + 1; r < d; r++) {
      const f = M[r]![c]! / M[c]![c]!;
      for (let j = c; j < d; j++) M[r]![j]! -= f * M[c]![j]!;
      b[r]! -= f * b[c]!;
    }
  const dense = new Array<number>(d).fill(0);
  for (let r = d - 1; r >= 0; r--) {
    let s = b[r]!;
    for (let j = r + 1; j < d; j++) s -= M[r]![j]! * dense[j]!;
    dense[r] = s / M[r]![r]!;
  }
  const exact = exactFisherInverse(v, gs, N);
  dense.forEach((e, i) => assert.ok(Math.abs(exact[i]! - e) < 1e-10, `exact[${i}] ${exact[i]} vs ${e}`));
  const recursion = woodfisherInverse(v, gs, N);
  const gap = Math.max(...dense.map((e, i) => Math.abs(recursion[i]! - e)));
  console.log(`# WoodFisher recursion vs the dense inverse on non-collinear gradients: max gap ${gap.toFixed(4)}`);
  assert.ok(gap > 1e-3, 'the recursion is an approximation here');
});

test("RL's labels are uniform over the k classes; SalUn's are uniform over the k − 1 wrong ones and never the true one", async () => {
  const { randomForgetLabels } = await import('../../ml/unlearn/basic-algorithms.js');
  const k = 5;
  const n = 50_000;
  const truth = Int32Array.from({ length: n }, (_, i) => i % k);
  const count = (labels: Int32Array, keep: (i: number) => boolean) => {
    const c = new Array<number>(k).fill(0);
    labels.forEach((y, i) => keep(i) && c[y]!++);
    return c;
  };
  // Each frequency within 4 binomial standard errors of its expectation (a 1-in-15,000 chance per class to fail).
  const near = (c: number, m: number, p: number) => Math.abs(c - m * p) <= 4 * Math.sqrt(m * p * (1 - p));
  const rl = randomForgetLabels(truth, k, 1, false);
  count(rl, () => true).forEach((c, y) => assert.ok(near(c, n, 1 / k), `RL class ${y}: ${c}`));
  const salun = randomForgetLabels(truth, k, 1, true);
  assert.ok(
    salun.every((y, i) => y !== truth[i]),
    'never the true label',
  );
  for (let t = 0; t < k; t++) {
    const c = count(salun, (i) => truth[i] === t);
    c.forEach((v, y) => assert.ok(y === t ? v === 0 : near(v, n / k, 1 / (k - 1)), `SalUn true ${t} → ${y}: ${v}`));
  }
});

test('IU moves a trained model up the forget set loss and barely on the retain set (the sign of the influence step)', async () => {
  const { mlp } = await import('../../ml/models/architectures.js');
  const { initWeights } = await import('../../ml/models/init-weights.js');
  const { crossEntropy } = await import('../../ml/train.js');
  const { tf } = await import('../../ml/backend.js');
  const { gatherBatch } = await import('../../ml/data/dataset.js');
  // A linear softmax model (a convex loss) trained to near its optimum on D, then one IU step removing D_f.
  const linear = mlp(ds.inputShape, 4, []);
  const start = initWeights(linear, 1);
  const net = new Network(linear, start);
  await trainNetwork(net, fullView(ds, 'train'), { ...train, epochs: 20 });
  const trained = net.getWeights();
  net.dispose();
  const full = { layers: [{ name: 'fc1.w', shape: [64, 4], keep: new Uint8Array(256).fill(1) }] };
  const loss = (w: typeof trained, view: typeof forget) => {
    const n = new Network(linear, w);
    const b = gatherBatch(
      view,
      Int32Array.from({ length: view.indices.length }, (_, i) => i),
    );
    const v = tf.tidy(
      () =>
        crossEntropy(n.apply(tf.tensor4d(b.x, [b.y.length, 8, 8, 1]), false), tf.tensor1d(b.y, 'int32')).dataSync()[0]!,
    );
    n.dispose();
    return v;
  };
  for (const inverse of ['woodfisher', 'exact'] as const) {
    const r = await unlearn(
      'iu',
      { def: linear, weights: trained, mask: full, init: start, retain, forget, train },
      {
        inverse,
        samples: 100,
        // α = 1 moves the loss by ~1e-5, near float32 resolution; a larger step keeps the sign well measurable.
        alpha: 50,
      },
    );
    const df = loss(r.weights, forget) - loss(trained, forget);
    const dr = loss(r.weights, retain) - loss(trained, retain);
    console.log(`# IU (${inverse}): Δ loss on D_f ${df.toExponential(2)}, on D_r ${dr.toExponential(2)}`);
    assert.ok(df > 0, `${inverse}: the forget loss rises (${df})`);
    assert.ok(df > Math.abs(dr), `${inverse}: more on D_f than on D_r (${df} vs ${dr})`);
  }
});

test("SalUn's saliency over all parameters (its reference's setting) ranks biases too: some are frozen, the budget is kept", async () => {
  const all = saliencyMask(inputs, 0.2, 32, 'masked', 'all');
  const biases = all.layers.filter((l) => l.name.endsWith('.b'));
  assert.ok(biases.length > 0, 'biases are in the saliency mask');
  const kept = all.layers.reduce((n, l) => n + l.keep.reduce((a, b) => a + b, 0), 0);
  const total = all.layers.reduce((n, l) => n + l.keep.length, 0);
  assert.ok(Math.abs(kept / total - 0.2) < 0.01, `20% of all parameters: ${kept}/${total}`);
  assert.ok(!saliencyMask(inputs, 0.2, 32).layers.some((l) => l.name.endsWith('.b')), 'default: weights only');
  const r = await unlearn('salun', inputs, { epochs: 1, saliencyOver: 'all' });
  const frozen = biases[0]!;
  frozen.keep.forEach((k, i) => {
    if (!k) assert.equal(r.weights[frozen.name]![i], sparse[frozen.name]![i], `${frozen.name}[${i}] frozen`);
  });
});
