// SCRUB (Kurmanji et al., 2023): a student starting from the original model moves away from the frozen original
// (teacher) on D_f (max-steps: minimise −KL) while staying close to it and correct on D_r (min-steps: γ·CE + α·KL).
// KL_T = KL(softmax(z_t/T) ‖ softmax(z_s/T)) · T². Defaults: K1nght's CIFAR-10 settings (SGD lr 8e-5, momentum 0.9,
// wd 5e-4, 6 epochs, 2 max-step epochs, T = 4, γ = 0.99, α = 0.001). One optimiser serves every max and min pass,
// as in the reference (its momentum carries across passes); the schedule runs over the epochs.
import { deriveSeed } from '../data/seeded-random.js';
import * as tf from '@tensorflow/tfjs-core';
import { Network, type Weights } from '../models/network.js';
import type { DataView } from '../data/dataset.js';
import type { OptimizerState } from '../optimizers.js';
import { crossEntropy, trainNetwork, type LossFn } from '../train.js';
import { sgdConfig, type UnlearnInputs, type UnlearnParams } from './unlearn-context.js';

export interface ScrubParams extends UnlearnParams {
  maxSteps?: number;
  temperature?: number;
  gamma?: number;
}

export function distillKL(student: tf.Tensor2D, teacher: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const logPs = tf.logSoftmax(tf.div(student, temperature));
    const logPt = tf.logSoftmax(tf.div(teacher, temperature));
    const kl = tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs)), 1);
    return tf.mul(tf.mean(kl), temperature * temperature) as tf.Scalar;
  });
}

export async function scrub(inputs: UnlearnInputs, params: ScrubParams): Promise<Weights> {
  const cfg = sgdConfig(inputs, params, { epochs: 6, lr: 8e-5 });
  const T = params.temperature ?? 4;
  const gamma = params.gamma ?? 0.99;
  const alpha = params.alpha ?? 0.001;
  const maxSteps = params.maxSteps ?? 2;
  const teacher = new Network(inputs.def, inputs.weights);
  const student = new Network(inputs.def, inputs.weights);
  const teacherLogits = (x: tf.Tensor) => teacher.apply(x, false);
  const maxLoss: LossFn = (logits, _labels, _net, _epoch, x) => tf.neg(distillKL(logits, teacherLogits(x), T));
  const minLoss: LossFn = (logits, labels, _net, _epoch, x) =>
    tf.add(
      tf.mul(crossEntropy(logits, labels), gamma),
      tf.mul(distillKL(logits, teacherLogits(x), T), alpha),
    ) as tf.Scalar;
  try {
    let state: OptimizerState | undefined;
    const run = async (view: DataView, loss: LossFn, e: number) => {
      // Epoch e of the run (schedule position e), one epoch long, continuing the optimiser's state.
      const pass = { ...cfg, stopAfter: e + 1, seed: deriveSeed(cfg.seed, `scrub-pass:${e}`) };
      const resume = state && { epoch: e, weights: student.getWeights(), optimizer: state };
      await trainNetwork(student, view, pass, {
        mask: inputs.mask,
        loss,
        hooks: inputs.hooks,
        resume,
        onEpochEnd: (_epoch, checkpoint) => void (state = checkpoint().optimizer),
      });
    };
    for (let e = 0; e < cfg.epochs; e++) {
      if (e < maxSteps) await run(inputs.forget, maxLoss, e);
      await run(inputs.retain, minLoss, e);
    }
    return student.getWeights();
  } finally {
    teacher.dispose();
    student.dispose();
  }
}
