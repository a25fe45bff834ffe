// FF, Fisher forgetting (Golatkar et al., 2020; Unlearn-Sparse `fisher_new`): add Gaussian noise scaled by the
// inverse diagonal Fisher on D_r, so weights that D_r does not pin down are perturbed most.
//   F = (1/#batches) Σ_batches Σ_y mean_batch(p_y) · (∇ mean-CE(x, y))²          (batch 32, every class y)
//   var = α · min(1/(F + 1e-8), 1e3)  (1e2 on the output layer), averaged over the input axis for weight tensors,
//         × 10 on the output layer and on 1-D parameters (biases, BatchNorm), as the reference's get_mean_var does
//   θ ← θ + √var · N(0, 1), then the mask is re-applied.
// α defaults to 1e-6 (the reference passes α per run; its arg_parser default 0.2 is shared with ℓ1-sparse and
// would add noise of std ≈ 14 to weights the Fisher does not constrain). The class-wise special case of the
// reference (zeroing the forgotten class's output row) is not applied.
import * as tf from '@tensorflow/tfjs-core';
import { countTrainingExamples } from '../training-examples.js';
import { gatherBatch } from '../data/dataset.js';
import { deriveSeed, SeededRandom } from '../data/seeded-random.js';
import { Network, type ParamInfo, type Weights } from '../models/network.js';
import { applyMask } from '../prune/mask-ops.js';
import { crossEntropy } from '../train.js';
import { maskGradients, type UnlearnInputs, type UnlearnParams } from './unlearn-context.js';

export function diagonalFisher(inputs: UnlearnInputs, batchSize = 32): Weights {
  const net = new Network(inputs.def, inputs.weights);
  const params = inputs.def.params.filter((p) => p.trainable);
  const vars = params.map((p) => net.variable(p.name));
  const acc: tf.Tensor[] = params.map((p) => tf.zeros(p.shape));
  const k = inputs.def.numClasses;
  const [h, w, c] = inputs.def.inputShape;
  const n = inputs.retain.indices.length;
  let batches = 0;
  try {
    for (let s = 0; s < n; s += batchSize, batches++) {
      const pos = Int32Array.from({ length: Math.min(batchSize, n - s) }, (_, i) => s + i);
      const b = gatherBatch(inputs.retain, pos);
      tf.tidy(() => {
        const x = tf.tensor4d(b.x, [pos.length, h, w, c]);
        const probs = tf.softmax(net.apply(x, false));
        const meanP = tf.mean(probs, 0).dataSync();
        for (let y = 0; y < k; y++) {
          const labels = tf.fill([pos.length], y, 'int32') as tf.Tensor1D;
          countTrainingExamples(pos.length);
          const { grads } = tf.variableGrads(() => crossEntropy(net.apply(x, false), labels), vars);
          vars.forEach((v, i) => {
            const next = tf.add(acc[i]!, tf.mul(tf.square(grads[v.name]!), meanP[y]!));
            acc[i]!.dispose();
            acc[i] = tf.keep(next);
          });
        }
      });
    }
    const out: Weights = {};
    const count = Math.max(1, batches);
    params.forEach((p, i) => {
      const sum = acc[i]!.dataSync() as Float32Array;
      const mean = new Float32Array(sum.length);
      for (let j = 0; j < sum.length; j++) mean[j] = sum[j]! / count;
      out[p.name] = mean;
    });
    return out;
  } finally {
    for (const a of acc) a.dispose();
    net.dispose();
  }
}

/** var averaged over the input axis (dense [in, out]: axis 0; conv [kh, kw, cin, cout]: axis 2), broadcast back. */
function averageOverInputs(v: Float32Array, p: ParamInfo): Float32Array {
  if (p.shape.length < 2) return v;
  const axis = p.shape.length === 2 ? 0 : 2;
  const dims = p.shape;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const len = dims[axis]!;
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const out = new Float32Array(v.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let sum = 0;
      for (let a = 0; a < len; a++) sum += v[(o * len + a) * inner + i]!;
      for (let a = 0; a < len; a++) out[(o * len + a) * inner + i] = sum / len;
    }
  }
  return out;
}

/** FF's noise variance for one parameter from its diagonal Fisher (the formula in the header). */
export function noiseVariance(p: ParamInfo, fisher: Float32Array, alpha: number): Float32Array {
  const cap = p.output ? 1e2 : 1e3;
  const perWeight = new Float32Array(fisher.length);
  for (let i = 0; i < fisher.length; i++) perWeight[i] = alpha * Math.min(1 / (fisher[i]! + 1e-8), cap);
  const variance = averageOverInputs(perWeight, p);
  if (p.output || p.shape.length === 1) for (let i = 0; i < variance.length; i++) variance[i]! *= 10;
  return variance;
}

export function fisherForgetting(inputs: UnlearnInputs, params: UnlearnParams): Promise<Weights> {
  const alpha = params.alpha ?? 1e-6;
  const fisher = maskGradients(inputs, params, diagonalFisher(inputs, params.batchSize ?? 32));
  const rng = new SeededRandom(deriveSeed(params.seed ?? inputs.train.seed, 'fisher-forgetting'));
  const out: Weights = { ...inputs.weights };
  for (const p of inputs.def.params.filter((q) => q.trainable)) {
    const variance = noiseVariance(p, fisher[p.name]!, alpha);
    const w = inputs.weights[p.name]!;
    const noisy = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) noisy[i] = w[i]! + Math.sqrt(variance[i]!) * rng.normal();
    out[p.name] = noisy;
  }
  return Promise.resolve(applyMask(out, inputs.mask));
}
