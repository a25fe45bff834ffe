// The data-driven unlearning algorithms, each a variation of masked training. Defaults follow the reference
// implementations (docs/paper-notes.md: Unlearn-Sparse README/arg_parser, K1nght's SalUn).
import * as tf from '@tensorflow/tfjs-core';
import { countTrainingExamples } from '../training-examples.js';
import { concatViews, gatherBatch, labelsOf, type DataView } from '../data/dataset.js';
import { deriveSeed, SeededRandom } from '../data/seeded-random.js';
import type { Mask } from '../mask.js';
import { Network, type Weights } from '../models/network.js';
import { applyMask, maskFromScores, prunableParams } from '../prune/mask-ops.js';
import { crossEntropy, scaledCrossEntropy, type LossFn } from '../train.js';
import { maskedRun, maskGradients, sgdConfig, type UnlearnInputs, type UnlearnParams } from './unlearn-context.js';

/** Retrain: train from the same init on D_r with the same mask and the original training configuration. */
export function retrain(inputs: UnlearnInputs, params: UnlearnParams): Promise<Weights> {
  const cfg = {
    ...inputs.train,
    ...(params.epochs ? { epochs: params.epochs } : {}),
    ...(params.lr ? { lr: params.lr } : {}),
  };
  return maskedRun(inputs, applyMask(inputs.init, inputs.mask), inputs.retain, cfg);
}

/** FT: fine-tune on D_r with SGD (lr 0.01, 10 epochs). */
export function finetune(inputs: UnlearnInputs, params: UnlearnParams): Promise<Weights> {
  return maskedRun(inputs, inputs.weights, inputs.retain, sgdConfig(inputs, params, { epochs: 10, lr: 0.01 }));
}

/** GA: gradient ascent on D_f, i.e. minimise −CE on D_f (lr 1e-4, 5 epochs). */
export function gradientAscent(inputs: UnlearnInputs, params: UnlearnParams): Promise<Weights> {
  const loss = scaledCrossEntropy(-1);
  return maskedRun(inputs, inputs.weights, inputs.forget, sgdConfig(inputs, params, { epochs: 5, lr: 1e-4 }), { loss });
}

/**
 * NegGrad+ (the standard form, as in SCRUB's reference): every step takes one retain batch and one forget batch
 * (D_f cycled), loss = α·mean CE(retain batch) − (1 − α)·mean CE(forget batch), α = 0.99. The two means are taken
 * separately, so the ascent's weight is (1 − α) whatever |D_f| is (one mixed stream gave it (1 − α)·|D_f|/|D|).
 */
export function negGradPlus(inputs: UnlearnInputs, params: UnlearnParams): Promise<Weights> {
  const k = inputs.def.numClasses;
  const alpha = params.alpha ?? 0.99;
  const loss: LossFn = (logits, labels) =>
    tf.tidy(() => {
      const isForget = tf.cast(tf.greaterEqual(labels, k), 'float32');
      const isRetain = tf.sub(1, isForget);
      const y = tf.sub(labels, tf.mul(tf.cast(isForget, 'int32'), tf.scalar(k, 'int32'))) as tf.Tensor1D;
      const perExample = tf.neg(tf.sum(tf.mul(tf.oneHot(y, k), tf.logSoftmax(logits)), 1));
      const meanOver = (part: tf.Tensor) => tf.div(tf.sum(tf.mul(perExample, part)), tf.maximum(tf.sum(part), 1));
      return tf.sub(tf.mul(alpha, meanOver(isRetain)), tf.mul(1 - alpha, meanOver(isForget))) as tf.Scalar;
    });
  return maskedRun(inputs, inputs.weights, inputs.retain, sgdConfig(inputs, params, { epochs: 5, lr: 0.01 }), {
    loss,
    companion: { view: inputs.forget, labelOffset: k },
  });
}

/** RL's labels for D_f: uniform over the k classes, or (SalUn) uniform over the k − 1 wrong ones. */
export function randomForgetLabels(trueLabels: Int32Array, k: number, seed: number, wrongOnly: boolean): Int32Array {
  const rng = new SeededRandom(deriveSeed(seed, 'random-labels'));
  return trueLabels.map((y) => {
    if (!wrongOnly) return rng.int(k);
    const r = rng.int(k - 1);
    return r >= y ? r + 1 : r;
  });
}

/** D_r with its labels followed by D_f with random ones. */
function relabelledUnion(inputs: UnlearnInputs, seed: number, wrongOnly: boolean): DataView {
  const labels = randomForgetLabels(labelsOf(inputs.forget), inputs.def.numClasses, seed, wrongOnly);
  return concatViews(inputs.retain, inputs.forget, undefined, labels);
}

/** RL: train on D_r ∪ D_f with D_f's labels replaced by random ones (lr 0.01, 10 epochs). */
export function randomLabels(inputs: UnlearnInputs, params: UnlearnParams): Promise<Weights> {
  const cfg = sgdConfig(inputs, params, { epochs: 10, lr: 0.01 });
  return maskedRun(inputs, inputs.weights, relabelledUnion(inputs, cfg.seed, false), cfg);
}

/** ℓ1-sparse: FT with penalty α_t‖θ‖₁, α_t = α·(1 − t/T) decaying linearly over the epochs (α = 5e-4, lr 0.01). */
export function l1Sparse(inputs: UnlearnInputs, params: UnlearnParams): Promise<Weights> {
  const cfg = sgdConfig(inputs, params, { epochs: 10, lr: 0.01 });
  const alpha = params.alpha ?? 5e-4;
  const loss: LossFn = (logits, labels, net, epoch) =>
    tf.tidy(() => {
      const at = alpha * (1 - epoch / cfg.epochs);
      const l1 = tf.addN(net.trainableVariables().map((v) => tf.sum(tf.abs(v))));
      return tf.add(crossEntropy(logits, labels), tf.mul(l1, at)) as tf.Scalar;
    });
  return maskedRun(inputs, inputs.weights, inputs.retain, cfg, { loss });
}

/** SalUn's weight saliency: |Σ_batches ∇(−CE) on D_f|, keeping the globally top `fraction` of prunable weights. */
export function saliencyMask(
  inputs: UnlearnInputs,
  fraction: number,
  batchSize: number,
  gradients: UnlearnParams['gradients'] = 'masked',
  ranks: UnlearnParams['saliencyOver'] = 'weights',
): Mask {
  const net = new Network(inputs.def, inputs.weights);
  // `all` (SalUn's reference): every trainable parameter competes for the budget, biases and BatchNorm included.
  const def =
    ranks === 'all'
      ? { ...inputs.def, params: inputs.def.params.map((p) => (p.trainable ? { ...p, prunable: true } : p)) }
      : inputs.def;
  const params = prunableParams(def);
  const sums = params.map((p) => tf.zeros(p.shape));
  try {
    const [h, w, c] = inputs.def.inputShape;
    const n = inputs.forget.indices.length;
    for (let start = 0; start < n; start += batchSize) {
      const positions = Int32Array.from({ length: Math.min(batchSize, n - start) }, (_, i) => start + i);
      const batch = gatherBatch(inputs.forget, positions);
      tf.tidy(() => {
        const x = tf.tensor4d(batch.x, [positions.length, h, w, c]);
        const y = tf.tensor1d(batch.y, 'int32');
        const vars = params.map((p) => net.variable(p.name));
        countTrainingExamples(positions.length);
        const { grads } = tf.variableGrads(() => tf.neg(crossEntropy(net.apply(x, false), y)), vars);
        params.forEach((p, i) => {
          const g = grads[vars[i]!.name]!;
          const next = tf.add(sums[i]!, g);
          sums[i]!.dispose();
          sums[i] = tf.keep(next);
        });
      });
    }
    const scores: Weights = {};
    params.forEach((p, i) => (scores[p.name] = tf.tidy(() => tf.abs(sums[i]!).dataSync() as Float32Array)));
    // Masked (default): pruned weights score 0, so the budget goes to weights that can move.
    maskGradients(inputs, { gradients }, scores);
    return maskFromScores(def, scores, 1 - fraction, 'global');
  } finally {
    for (const s of sums) s.dispose();
    net.dispose();
  }
}

/** SalUn: RL with wrong-only random labels on D_f, updating only the most salient 20% of weights (lr 0.007, 10 epochs). */
export function salun(inputs: UnlearnInputs, params: UnlearnParams): Promise<Weights> {
  const cfg = sgdConfig(inputs, params, { epochs: 10, lr: 0.007 });
  const gradMask = saliencyMask(inputs, params.alpha ?? 0.2, cfg.batchSize, params.gradients, params.saliencyOver);
  return maskedRun(inputs, inputs.weights, relabelledUnion(inputs, cfg.seed, true), cfg, { gradMask });
}
