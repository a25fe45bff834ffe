// NegGrad+ against a hand computation: one step on a linear softmax model equals
// W − lr·(α·mean_{D_r batch} ∇CE − (1 − α)·mean_{D_f batch} ∇CE), whatever |D_f| is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeSynthetic } from '../../ml/data/synthetic.js';
import { viewOf } from '../../ml/data/dataset.js';
import { mlp } from '../../ml/models/architectures.js';
import { initWeights } from '../../ml/models/init-weights.js';
import { unlearn } from '../../ml/unlearn/unlearn.js';
import { useBackend } from '../helpers/ml.js';

await useBackend();

/** ∂CE/∂(W, b) of one example for logits = x·W + b (W stored [in, out]). */
function exampleGrad(W: Float32Array, b: Float32Array, x: Float32Array, y: number, k: number) {
  const d = x.length;
  const logits = Array.from({ length: k }, (_, j) => b[j]! + x.reduce((s, xi, i) => s + xi * W[i * k + j]!, 0));
  const m = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - m));
  const z = e.reduce((a, v) => a + v, 0);
  const delta = e.map((v, j) => v / z - (j === y ? 1 : 0));
  return { gW: Array.from({ length: d * k }, (_, t) => x[Math.floor(t / k)]! * delta[t % k]!), gb: delta };
}

test('NegGrad+: one step equals the hand-computed α-weighted gradient, for |D_f| = 1 and 3', async () => {
  const k = 2;
  const ds = makeSynthetic({ train: 12, test: 2, inputShape: [1, 1, 3], numClasses: k, seed: 3 });
  const def = mlp(ds.inputShape, k, []);
  const init = initWeights(def, 5);
  const mask = { layers: [{ name: 'fc1.w', shape: [3, k], keep: new Uint8Array(3 * k).fill(1) }] };
  const alpha = 0.9;
  const lr = 0.5;
  const retainIdx = [0, 1, 2, 3];
  for (const forgetIdx of [[4], [5, 6, 7]]) {
    const retain = viewOf(ds, retainIdx);
    const forget = viewOf(ds, forgetIdx);
    const train = { epochs: 1, batchSize: 4, optimizer: 'sgd' as const, lr, seed: 0 };
    const r = await unlearn(
      'neggrad+',
      { def, weights: init, mask, init, retain, forget, train },
      { epochs: 1, lr, momentum: 0, weightDecay: 0, batchSize: 4, alpha },
    );
    const W = init['fc1.w']!;
    const b = init['fc1.b']!;
    const mean = (idx: number[]) => {
      const gW = new Array(W.length).fill(0);
      const gb = new Array(k).fill(0);
      for (const i of idx) {
        const x = ds.train.x.subarray(i * 3, i * 3 + 3);
        const g = exampleGrad(W, b, x, ds.train.y[i]!, k);
        g.gW.forEach((v, t) => (gW[t] += v / idx.length));
        g.gb.forEach((v, t) => (gb[t] += v / idx.length));
      }
      return { gW, gb };
    };
    const gr = mean(retainIdx);
    const gf = mean(forgetIdx);
    const expectW = Array.from(W, (w, t) => w - lr * (alpha * gr.gW[t]! - (1 - alpha) * gf.gW[t]!));
    const expectB = Array.from(b, (v, t) => v - lr * (alpha * gr.gb[t]! - (1 - alpha) * gf.gb[t]!));
    const got = [...r.weights['fc1.w']!, ...r.weights['fc1.b']!];
    [...expectW, ...expectB].forEach((e, t) =>
      assert.ok(Math.abs(got[t]! - e) < 1e-5, `|D_f| = ${forgetIdx.length}: parameter ${t}: ${got[t]} vs ${e}`),
    );
  }
});
