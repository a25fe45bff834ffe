import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fullView } from '../../ml/data/dataset.js';
import { makeSynthetic } from '../../ml/data/synthetic.js';
import { layerSparsity, maskIoU, maskSparsity } from '../../ml/metrics/masks.js';
import {
  impRoundSparsity,
  iterativeMagnitudeMask,
  iterativeMagnitudePrune,
  magnitudeMask,
} from '../../ml/prune/magnitude.js';
import { keepCount, topK, topKInJavaScript } from '../../ml/prune/mask-ops.js';
import { pruneNetwork } from '../../ml/prune/prune-network.js';
import { randomMask } from '../../ml/prune/random-pruning.js';
import { filterMaskFromWeights, filterNorms, softFilterPrune } from '../../ml/prune/structured.js';
import { synflowMask } from '../../ml/prune/synflow.js';
import { buildArch } from '../../ml/models/architectures.js';
import { initWeights } from '../../ml/models/init-weights.js';
import type { TrainConfig } from '../../ml/train.js';
import { useBackend } from '../helpers/ml.js';

await useBackend();
const ds = makeSynthetic({ train: 256, test: 64, inputShape: [12, 12, 1], numClasses: 4, seed: 2 });
const train: TrainConfig = { epochs: 1, batchSize: 32, optimizer: 'sgd', lr: 0.05, momentum: 0.9, seed: 0 };

test('topK keeps exactly k, prefers larger scores and breaks ties by index', () => {
  const keep = topK(Float32Array.from([0.5, 2, 2, 1, 2, -1]), 3);
  assert.deepEqual(Array.from(keep), [0, 1, 1, 0, 1, 0]);
  assert.deepEqual(Array.from(topK(Float32Array.from([3, 3, 3, 3]), 2)), [1, 1, 0, 0]);
  assert.deepEqual(Array.from(topK(Float32Array.from([5, 4, 3]), 2, Uint8Array.from([0, 1, 1]))), [0, 1, 1]);
  assert.equal(keepCount(10, 0.8), 2);
});

/** The order of Float32Array.prototype.sort: numeric, −0 before +0, every NaN last. */
function sortOrder(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number(Number.isNaN(a)) - Number(Number.isNaN(b));
  if (a !== b) return a < b ? -1 : 1;
  return Number(Object.is(b, -0)) - Number(Object.is(a, -0));
}

/** The definition: sort the eligible scores; the k-th largest is the threshold; keep all above it, then ties by index. */
function topKBySorting(scores: Float32Array, k: number, eligible?: Uint8Array): number[] {
  const order = Array.from(scores.keys()).filter((i) => !eligible || eligible[i]);
  const keep = new Array<number>(scores.length).fill(0);
  if (k <= 0) return keep;
  if (k >= order.length) {
    for (const i of order) keep[i] = 1;
    return keep;
  }
  const sorted = order.map((i) => scores[i]!).sort(sortOrder);
  const threshold = sorted[sorted.length - k]!;
  let taken = 0;
  for (const i of order) {
    if (sortOrder(scores[i]!, threshold) > 0) {
      keep[i] = 1;
      taken++;
    }
  }
  for (const i of order) {
    if (taken < k && sortOrder(scores[i]!, threshold) === 0) {
      keep[i] = 1;
      taken++;
    }
  }
  return keep;
}

test('topK (radix select) matches sorting on ties, negatives, ±0, NaN, ±∞ and eligibility masks', () => {
  const score = fc.oneof(
    fc.constantFrom(0, -0, 1, -1, 2, NaN, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38),
    fc.float({ noDefaultInfinity: false }),
    fc.integer({ min: -3, max: 3 }),
  );
  fc.assert(
    fc.property(
      fc.array(score, { minLength: 1, maxLength: 60 }),
      fc.nat(70),
      fc.option(fc.array(fc.boolean(), { minLength: 60, maxLength: 60 })),
      (values, k, flags) => {
        const scores = Float32Array.from(values);
        const eligible = flags ? Uint8Array.from(flags.slice(0, values.length), Number) : undefined;
        const expected = topKBySorting(scores, k, eligible);
        // The addon's selection (where it is built) and the JavaScript one it replaces.
        assert.deepEqual(Array.from(topK(scores, k, eligible)), expected);
        assert.deepEqual(Array.from(topKInJavaScript(scores, k, eligible)), expected);
      },
    ),
    { numRuns: 3000, seed: 7 },
  );
  // NaN scores sort above +∞, so they are kept first and exactly k entries are always kept.
  assert.deepEqual(Array.from(topK(Float32Array.from([1, NaN, Infinity, NaN]), 3)), [0, 1, 1, 1]);
  // −0 sorts below +0.
  assert.deepEqual(Array.from(topK(Float32Array.from([-0, 0, -0]), 1)), [0, 1, 0]);
  // A large layer, every key distinct in its high 16 bits or not: the same choice as sorting.
  const big = Float32Array.from({ length: 100_000 }, (_, i) => Math.sin(i) * (i % 7 === 0 ? 1e-30 : 1));
  const flags = Uint8Array.from(big, (_, i) => (i % 3 === 0 ? 0 : 1));
  for (const select of [topK, topKInJavaScript]) {
    assert.deepEqual(Array.from(select(big, 12_345)), topKBySorting(big, 12_345));
    assert.deepEqual(Array.from(select(big, 12_345, flags)), topKBySorting(big, 12_345, flags));
  }
});

test('OMP keeps the largest magnitudes per layer or globally at the exact sparsity', () => {
  const def = buildArch('mlp', [2, 2, 1], 2);
  const w = initWeights(def, 0);
  const layer = magnitudeMask(def, w, 0.75, 'layer');
  for (const [name, s] of Object.entries(layerSparsity(layer)))
    assert.ok(Math.abs(s - 0.75) < 1 / 300 + 1e-9, `${name} ${s}`);
  const fc1 = w['fc1.w']!;
  const kept = layer.layers[0]!;
  const minKept = Math.min(
    ...Array.from(fc1)
      .filter((_, i) => kept.keep[i])
      .map(Math.abs),
  );
  const maxPruned = Math.max(
    ...Array.from(fc1)
      .filter((_, i) => !kept.keep[i])
      .map(Math.abs),
  );
  assert.ok(minKept >= maxPruned);
  const global = magnitudeMask(def, w, 0.75, 'global');
  const total = global.layers.reduce((s, l) => s + l.keep.length, 0);
  assert.equal(
    global.layers.reduce((s, l) => s + l.keep.reduce((a, b) => a + b, 0), 0),
    keepCount(total, 0.75),
  );
});

test('IMP reaches its target sparsity in the stated rounds, pruning within the previous mask', async () => {
  const def = buildArch('mlp', ds.inputShape, 4);
  const init = initWeights(def, 0);
  const r = await iterativeMagnitudePrune(def, init, init, fullView(ds, 'train'), train, { sparsity: 0.9, rounds: 3 });
  assert.equal(r.roundSparsities.length, 3);
  assert.ok(Math.abs(r.roundSparsities[2]! - 0.9) < 1e-12);
  assert.ok(Math.abs(impRoundSparsity(0.9, 3, 1) - (1 - Math.cbrt(0.1))) < 1e-12);
  assert.ok(Math.abs(maskSparsity(r.mask) - 0.9) < 0.005);
  for (const l of r.mask.layers) {
    const w = r.weights[l.name]!;
    for (let i = 0; i < w.length; i++) if (!l.keep[i]) assert.ok(w[i] === 0);
  }
  // The mask alone (no final retraining) is the same mask, scored from the same weights.
  const m = await iterativeMagnitudeMask(def, init, init, fullView(ds, 'train'), train, { sparsity: 0.9, rounds: 3 });
  assert.deepEqual(m.mask, r.mask);
  assert.deepEqual(m.scored, r.scored);
});

test("SynFlow's mask depends only on the init and the seed: the same for two different data sets", async () => {
  const def = buildArch('lenet5', [16, 16, 1], 4);
  const init = initWeights(def, 11);
  const a = synflowMask(def, init, 0.8, 20);
  const b = synflowMask(def, init, 0.8, 20);
  assert.equal(maskIoU(a, b), 1);
  assert.ok(Math.abs(maskSparsity(a) - 0.8) < 0.001);
  const other = synflowMask(def, initWeights(def, 12), 0.8, 20);
  assert.ok(maskIoU(a, other) < 1, 'a different init gives a different mask');
  // Through the prune entry point, with two different data sets, the masks are identical.
  const ds1 = makeSynthetic({ train: 64, test: 16, inputShape: [16, 16, 1], numClasses: 4, seed: 1 });
  const ds2 = makeSynthetic({ train: 64, test: 16, inputShape: [16, 16, 1], numClasses: 4, seed: 99, noise: 3 });
  const req = { method: 'synflow' as const, sparsity: 0.8, iterations: 20, seed: 0 };
  const p1 = await pruneNetwork({ def, init, dense: init, view: fullView(ds1, 'train'), train }, req);
  const p2 = await pruneNetwork({ def, init, dense: init, view: fullView(ds2, 'train'), train }, req);
  assert.equal(maskIoU(p1.mask, p2.mask), 1);
  assert.notDeepEqual(p1.weights['fc1.w'], p2.weights['fc1.w'], 'the trained weights do depend on the data');
  // So the gold standard takes the original's mask as given (the plan wires the prune stage's mask in): the same
  // mask and the same trained weights, bit for bit, as recomputing it; the random method likewise.
  const given = await pruneNetwork(
    { def, init, dense: init, view: fullView(ds2, 'train'), train, dataFreeMask: p1.mask },
    req,
  );
  assert.deepEqual(given.mask, p2.mask);
  assert.deepEqual(given.weights, p2.weights);
  const rand = { method: 'random' as const, sparsity: 0.7, seed: 3 };
  const r1 = await pruneNetwork({ def, init, dense: init, view: fullView(ds1, 'train'), train }, rand);
  const r2 = await pruneNetwork(
    { def, init, dense: init, view: fullView(ds2, 'train'), train, dataFreeMask: r1.mask },
    rand,
  );
  assert.deepEqual(
    r2.mask,
    (await pruneNetwork({ def, init, dense: init, view: fullView(ds2, 'train'), train }, rand)).mask,
  );
});

test('structured pruning zeroes whole filters/neurons, never the classifier, and is soft before it is hard', async () => {
  const def = buildArch('lenet5', [16, 16, 1], 4);
  const init = initWeights(def, 0);
  assert.deepEqual(Array.from(filterNorms(Float32Array.from([3, 0, 4, 1]), 2)), [5, 1]);
  const m = filterMaskFromWeights(def, init, 0.5);
  for (const l of m.layers) {
    const units = l.shape[l.shape.length - 1]!;
    const kept = new Set<number>();
    for (let i = 0; i < l.keep.length; i++) if (l.keep[i]) kept.add(i % units);
    for (let i = 0; i < l.keep.length; i++) assert.equal(l.keep[i], kept.has(i % units) ? 1 : 0, 'whole filters');
    const expected = l.name === 'fc3.w' ? units : units - Math.floor(units * 0.5);
    assert.equal(kept.size, expected, `${l.name} keeps ${expected} filters`);
  }
  const view = fullView(makeSynthetic({ train: 64, test: 16, inputShape: [16, 16, 1], numClasses: 4 }), 'train');
  const r = await softFilterPrune(def, init, view, train, { sparsity: 0.5, softEpochs: 2 });
  for (const l of r.mask.layers) {
    const w = r.weights[l.name]!;
    const units = l.shape[l.shape.length - 1]!;
    for (let u = 0; u < units; u++) {
      let any = false;
      for (let i = u; i < w.length; i += units) any ||= w[i] !== 0;
      const keptUnit = l.keep[u] === 1;
      if (!keptUnit) assert.ok(!any, `${l.name} filter ${u} is entirely zero`);
    }
  }
});

test('random pruning hits the sparsity in every layer and is seeded', () => {
  const def = buildArch('mlp', [4, 4, 1], 3);
  const a = randomMask(def, 0.6, 1);
  for (const [, s] of Object.entries(layerSparsity(a))) assert.ok(Math.abs(s - 0.6) < 0.02);
  assert.equal(maskIoU(a, randomMask(def, 0.6, 1)), 1);
  assert.ok(maskIoU(a, randomMask(def, 0.6, 2)) < 1);
});

test('every method through pruneNetwork returns sparse weights, mask, per-layer sparsity and the dense weights', async () => {
  const def = buildArch('mlp', ds.inputShape, 4);
  const init = initWeights(def, 0);
  for (const method of ['omp', 'imp', 'synflow', 'structured', 'random'] as const) {
    const r = await pruneNetwork(
      { def, init, dense: init, view: fullView(ds, 'train'), train },
      { method, sparsity: 0.5, rounds: 2, iterations: 10, seed: 0, finetuneEpochs: 1 },
    );
    assert.ok(r.sparsity > 0.3 && r.sparsity <= 0.5 + 1e-9, `${method} sparsity ${r.sparsity}`);
    assert.deepEqual(Object.keys(r.layerSparsity), ['fc1.w', 'fc2.w', 'fc3.w']);
    assert.ok(r.dense['fc1.w']);
    for (const l of r.mask.layers) {
      const w = r.weights[l.name]!;
      for (let i = 0; i < w.length; i++) if (!l.keep[i]) assert.ok(w[i] === 0, `${method} ${l.name}[${i}]`);
    }
  }
  await assert.rejects(
    pruneNetwork(
      { def, init, dense: init, view: fullView(ds, 'train'), train },
      { method: 'omp', sparsity: 1.5, seed: 0 },
    ),
    /sparsity must be in \[0, 1\), got 1.5/,
  );
});

test('SynFlow on a two-layer net, by hand: one iteration keeps the global top-k of |W1|·Σ|W2| and |W2|·(Σ|W1| + |b1|)', async () => {
  const { synflowMask } = await import('../../ml/prune/synflow.js');
  const { maskFromScores } = await import('../../ml/prune/mask-ops.js');
  const { mlp } = await import('../../ml/models/architectures.js');
  const { initWeights } = await import('../../ml/models/init-weights.js');
  const [d, h, k] = [5, 4, 3];
  const def = mlp([1, 1, d], k, [h]);
  const init = initWeights(def, 11);
  const W1 = init['fc1.w']!; // [d, h]
  const b1 = init['fc1.b']!;
  const W2 = init['fc2.w']!; // [h, k]
  // R = Σ_j (Σ_u relu(Σ_i |W1[i,u]| + |b1_u|)·|W2[u,j]| + |b2_j|) on an all-ones input: every pre-activation is positive.
  const s1 = Float32Array.from(W1, (w, t) => {
    const u = t % h;
    let out = 0;
    for (let j = 0; j < k; j++) out += Math.abs(W2[u * k + j]!);
    return Math.abs(w) * out;
  });
  const s2 = Float32Array.from(W2, (w, t) => {
    const u = Math.floor(t / k);
    let into = Math.abs(b1[u]!);
    for (let i = 0; i < d; i++) into += Math.abs(W1[i * h + u]!);
    return Math.abs(w) * into;
  });
  for (const sparsity of [0.3, 0.6, 0.9]) {
    const byHand = maskFromScores(def, { 'fc1.w': s1, 'fc2.w': s2 }, sparsity, 'global');
    assert.deepEqual(synflowMask(def, init, sparsity, 1), byHand, `sparsity ${sparsity}`);
  }
});

test('SynFlow avoids layer collapse: at 99.5% sparsity over 100 iterations every layer keeps weights', async () => {
  const { synflowMask } = await import('../../ml/prune/synflow.js');
  const { buildArch } = await import('../../ml/models/architectures.js');
  const { initWeights } = await import('../../ml/models/init-weights.js');
  const def = buildArch('mlp', [28, 28, 1], 10);
  const m = synflowMask(def, initWeights(def, 0), 0.995, 100);
  for (const l of m.layers)
    assert.ok(
      l.keep.some((x) => x === 1),
      `${l.name} collapsed`,
    );
});

test('IMP rewinds and nests: with a zero learning rate every retraining leaves the rewound init, so round 2 ranks |θ_0| within the round-1 mask', async () => {
  const { iterativeMagnitudePrune, magnitudeMask, impRoundSparsity } = await import('../../ml/prune/magnitude.js');
  const { maskFromScores, applyMask } = await import('../../ml/prune/mask-ops.js');
  const { mlp } = await import('../../ml/models/architectures.js');
  const { initWeights } = await import('../../ml/models/init-weights.js');
  const { makeSynthetic } = await import('../../ml/data/synthetic.js');
  const { fullView } = await import('../../ml/data/dataset.js');
  const ds = makeSynthetic({ train: 32, test: 4, inputShape: [2, 2, 1], numClasses: 2, seed: 1 });
  const def = mlp(ds.inputShape, 2, [6]);
  const init = initWeights(def, 4);
  const dense = initWeights(def, 9); // stands for the trained weights: any weights other than the init
  const train = { epochs: 1, batchSize: 8, optimizer: 'sgd' as const, lr: 0, momentum: 0, seed: 0 };
  const r = await iterativeMagnitudePrune(def, init, dense, fullView(ds, 'train'), train, {
    sparsity: 0.75,
    rounds: 2,
  });
  const m1 = magnitudeMask(def, dense, impRoundSparsity(0.75, 2, 1));
  const abs = (w: typeof init) => Object.fromEntries(Object.entries(w).map(([n, a]) => [n, a.map(Math.abs)]));
  const expected = maskFromScores(def, abs(applyMask(init, m1)), 0.75, 'layer', m1);
  assert.deepEqual(r.mask, expected, 'round 2 scored the rewound init within m1');
  r.mask.layers.forEach((l, i) => l.keep.forEach((k, j) => assert.ok(!k || m1.layers[i]!.keep[j], 'nested in m1')));
  assert.deepEqual(r.weights, applyMask(init, r.mask), 'final weights: the rewound init (lr 0)');
});

test("prune.layers conv (Unlearn-Sparse's setting): only convolutions are pruned and masked, dense layers stay whole; an MLP is refused", async () => {
  const { buildArch } = await import('../../ml/models/architectures.js');
  const { initWeights } = await import('../../ml/models/init-weights.js');
  const { makeSynthetic } = await import('../../ml/data/synthetic.js');
  const { fullView } = await import('../../ml/data/dataset.js');
  const ds = makeSynthetic({ train: 16, test: 4, inputShape: [28, 28, 1], numClasses: 10, seed: 2 });
  const def = buildArch('lenet5', ds.inputShape, 10);
  const init = initWeights(def, 0);
  const train = { epochs: 1, batchSize: 8, optimizer: 'sgd' as const, lr: 0.01, seed: 0 };
  const inputs = { def, init, dense: init, view: fullView(ds, 'train'), train };
  for (const scope of ['layer', 'global'] as const) {
    const r = await pruneNetwork(inputs, { method: 'omp', sparsity: 0.5, scope, layers: 'conv', seed: 0 });
    const convs = def.params.filter((p) => p.prunable && p.role === 'conv').map((p) => p.name);
    assert.deepEqual(
      r.mask.layers.map((l) => l.name),
      convs,
      `${scope}: the mask covers the convolutions only`,
    );
    assert.ok(Math.abs(maskSparsity(r.mask) - 0.5) < 0.01, `${scope}: half the conv weights pruned`);
    for (const p of def.params.filter((q) => q.role === 'dense'))
      assert.deepEqual(r.weights[p.name], init[p.name], `${scope}: ${p.name} untouched`);
  }
  const mlpDef = buildArch('mlp', ds.inputShape, 10);
  await assert.rejects(
    pruneNetwork(
      { ...inputs, def: mlpDef, init: initWeights(mlpDef, 0), dense: initWeights(mlpDef, 0) },
      {
        method: 'omp',
        sparsity: 0.5,
        layers: 'conv',
        seed: 0,
      },
    ),
    /has no convolution to prune/,
  );
});

test("IMP's rewind point (rewindEpoch k): the training run stopped after k epochs — at k = all epochs, the dense weights themselves", async () => {
  const { rewindPoint } = await import('../../ml/prune/magnitude.js');
  const { trainedWeights } = await import('../helpers/ml.js');
  const { mlp } = await import('../../ml/models/architectures.js');
  const { initWeights } = await import('../../ml/models/init-weights.js');
  const { makeSynthetic } = await import('../../ml/data/synthetic.js');
  const { fullView } = await import('../../ml/data/dataset.js');
  const ds = makeSynthetic({ train: 48, test: 4, inputShape: [3, 3, 1], numClasses: 3, seed: 5 });
  const def = mlp(ds.inputShape, 3, [8]);
  const init = initWeights(def, 2);
  const train = {
    epochs: 2,
    batchSize: 16,
    optimizer: 'sgd' as const,
    lr: 0.1,
    seed: 3,
    schedule: { kind: 'cosine' as const },
  };
  const view = fullView(ds, 'train');
  assert.equal(await rewindPoint(def, init, view, train, 0), init, 'k = 0: the init');
  assert.deepEqual(await rewindPoint(def, init, view, train, 2), await trainedWeights(def, init, view, train));
  const one = await rewindPoint(def, init, view, train, 1);
  assert.notDeepEqual(one, init);
  await assert.rejects(rewindPoint(def, init, view, train, 3), /past the training/);
});

test('SFP: a filter zeroed at the start of a soft epoch keeps receiving gradients and can grow back past a kept one', async () => {
  const { mlp } = await import('../../ml/models/architectures.js');
  const { initWeights } = await import('../../ml/models/init-weights.js');
  const { makeSynthetic } = await import('../../ml/data/synthetic.js');
  const { fullView } = await import('../../ml/data/dataset.js');
  const ds = makeSynthetic({ train: 96, test: 4, inputShape: [3, 3, 1], numClasses: 3, seed: 0 });
  const def = mlp(ds.inputShape, 3, [8]);
  const init = initWeights(def, 0);
  // Small filters and positive biases: every hidden unit stays active once zeroed (a ReLU unit whose bias is ≤ 0
  // gets no gradient after its weights are zeroed, so it could not regrow).
  const dense = { ...init, 'fc1.w': init['fc1.w']!.map((v) => v * 1e-3), 'fc1.b': new Float32Array(8).fill(0.5) };
  const train = { epochs: 1, batchSize: 16, optimizer: 'sgd' as const, lr: 0.5, seed: 0 };
  const units = (m: { layers: { keep: Uint8Array }[] }) => Array.from({ length: 8 }, (_, k) => m.layers[0]!.keep[k]!);
  const before = units(filterMaskFromWeights(def, dense, 0.5));
  const after = units(
    (await softFilterPrune(def, dense, fullView(ds, 'train'), train, { sparsity: 0.5, softEpochs: 1 })).mask,
  );
  assert.ok(
    before.some((k, u) => !k && after[u]),
    `a zeroed filter grew back: ${before.join('')} → ${after.join('')}`,
  );
  assert.equal(
    after.reduce((a, b) => a + b, 0),
    before.reduce((a, b) => a + b, 0),
    'same number of filters',
  );
});

test('SFP from the init (softFrom: init, its reference): the dense run is not used; with a zero learning rate it keeps the strongest filters of the init', async () => {
  const { mlp } = await import('../../ml/models/architectures.js');
  const { initWeights } = await import('../../ml/models/init-weights.js');
  const { makeSynthetic } = await import('../../ml/data/synthetic.js');
  const { fullView } = await import('../../ml/data/dataset.js');
  const { applyMask } = await import('../../ml/prune/mask-ops.js');
  const ds = makeSynthetic({ train: 48, test: 4, inputShape: [3, 3, 1], numClasses: 3, seed: 1 });
  const def = mlp(ds.inputShape, 3, [8]);
  const init = initWeights(def, 1);
  const view = fullView(ds, 'train');
  const req = { method: 'structured' as const, sparsity: 0.5, softFrom: 'init' as const, seed: 0 };
  const train = { epochs: 2, batchSize: 16, optimizer: 'sgd' as const, lr: 0.1, seed: 0 };
  const a = await pruneNetwork({ def, init, dense: initWeights(def, 7), view, train }, req);
  const b = await pruneNetwork({ def, init, dense: initWeights(def, 8), view, train }, req);
  assert.deepEqual(a.mask, b.mask, 'the dense weights play no part');
  const still = await pruneNetwork({ def, init, dense: init, view, train: { ...train, lr: 0, momentum: 0 } }, req);
  const expected = filterMaskFromWeights(def, init, 0.5);
  assert.deepEqual(still.mask, expected, "lr 0: the init's filter norms decide");
  const plusZero = (w: typeof init) => Object.fromEntries(Object.entries(w).map(([n, v]) => [n, v.map((x) => x + 0)]));
  assert.deepEqual(plusZero(still.weights), plusZero(applyMask(init, expected)), 'the init, its pruned filters zero');
});

test("maskOnly (a noise floor's gold run): the same mask as the full pipeline, and no training after it is fixed", async () => {
  const def = buildArch('mlp', ds.inputShape, 4);
  const init = initWeights(def, 0);
  const dense = initWeights(def, 5);
  const inputs = { def, init, dense, view: fullView(ds, 'train'), train };
  const masked = (w: Record<string, Float32Array>, keep: Map<string, Uint8Array>) =>
    Object.fromEntries(
      Object.entries(w).map(([n, a]) => [n, keep.has(n) ? a.map((x, i) => (keep.get(n)![i] ? x : 0)) : a]),
    );
  for (const [method, start] of [
    ['omp', dense],
    ['imp', init],
  ] as const) {
    const req = { method, sparsity: 0.6, rounds: 3, seed: 0, finetuneEpochs: 2 };
    const full = await pruneNetwork(inputs, req);
    const only = await pruneNetwork({ ...inputs, maskOnly: true }, req);
    assert.deepEqual(only.mask, full.mask, `${method}: the mask`);
    const keep = new Map(only.mask.layers.map((l) => [l.name, l.keep] as const));
    // The weights the skipped training would have started from: OMP's masked dense weights, IMP's masked rewind point.
    assert.deepEqual(only.weights, masked(start, keep), `${method}: untrained`);
    assert.notDeepEqual(full.weights, only.weights, `${method}: the full pipeline trains after the mask`);
  }
});
