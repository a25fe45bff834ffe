// The CG influence estimator's parts, against things it did not compute: conjugate gradients on a hand-solved
// system, and the Hessian-vector product's symmetry (uᵀHv = vᵀHu for any Hessian) on a trained network.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fullView, viewOf, without } from '../../ml/data/dataset.js';
import { makeSynthetic } from '../../ml/data/synthetic.js';
import { buildArch } from '../../ml/models/architectures.js';
import { initWeights } from '../../ml/models/init-weights.js';
import { conjugateGradient, influenceCgEstimate, retainedHessian } from '../../ml/unprune/influence-cg.js';
import { trainedWeights, useBackend } from '../helpers/ml.js';

await useBackend();

test('conjugate gradients solve a hand-made SPD system exactly in n steps', () => {
  // A = [[4,1,0],[1,3,1],[0,1,2]] (SPD), x = [1, −1, 2] ⇒ b = A x = [3, 0, 3]; vectors as one-block layouts.
  const A = [
    [4, 1, 0],
    [1, 3, 1],
    [0, 1, 2],
  ];
  const apply = (v: Float64Array[]) => [
    Float64Array.from(A.map((row) => row.reduce((s, a, j) => s + a * v[0]![j]!, 0))),
  ];
  const r = conjugateGradient(apply, [Float64Array.from([3, 0, 3])], 10, 1e-12);
  assert.ok(r.iterations <= 3);
  [1, -1, 2].forEach((want, i) => assert.ok(Math.abs(r.x[0]![i]! - want) < 1e-9, `x[${i}] = ${r.x[0]![i]}`));
});

test('the Hessian-vector product is symmetric (uᵀHv = vᵀHu); the estimate is finite and moves θ_D', async () => {
  const ds = makeSynthetic({ train: 256, test: 32, inputShape: [4, 4, 1], numClasses: 3, seed: 2 });
  const def = buildArch('mlp', ds.inputShape, ds.numClasses);
  // Trained briefly: a fully fitted synthetic problem has zero gradients and nothing to estimate.
  const train = { epochs: 1, batchSize: 32, optimizer: 'sgd' as const, lr: 0.01, seed: 1 };
  const dense = await trainedWeights(def, initWeights(def, 1), fullView(ds, 'train'), train);
  const forgetIdx = Int32Array.from({ length: 25 }, (_, i) => i * 10);
  const inputs = {
    def,
    dense,
    retain: without(fullView(ds, 'train'), forgetIdx),
    forget: viewOf(ds, forgetIdx),
    train,
  };
  const h = retainedHessian(inputs, { damping: 0, samples: 128 });
  const random = (seed: number) =>
    h.theta.map((t, i) => Float64Array.from(t, (_, j) => Math.sin(seed * 12.9898 + i * 78.233 + j * 37.719)));
  const u = random(1);
  const v = random(2);
  const dot = (a: Float64Array[], b: Float64Array[]) =>
    a.reduce((s, x, i) => s + x.reduce((t, e, j) => t + e * b[i]![j]!, 0), 0);
  const uHv = dot(u, h.times(v));
  const vHu = dot(v, h.times(u));
  console.log(`# uᵀHv ${uHv.toExponential(4)}, vᵀHu ${vHu.toExponential(4)}`);
  assert.ok(Math.abs(uHv - vHu) <= 0.02 * Math.max(Math.abs(uHv), Math.abs(vHu)), `${uHv} vs ${vHu}`);
  const est = influenceCgEstimate(inputs, { samples: 128, iterations: 10 });
  let moved = 0;
  for (const [name, w] of Object.entries(est)) {
    for (let i = 0; i < w.length; i++) {
      assert.ok(Number.isFinite(w[i]!), `${name}[${i}]`);
      moved += Math.abs(w[i]! - dense[name]![i]!);
    }
  }
  assert.ok(moved > 0, 'the Newton step moved the weights');
});
