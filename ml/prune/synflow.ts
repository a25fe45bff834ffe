// SynFlow (Tanaka et al., 2020): data-free pruning at initialisation. Score = |∂R/∂θ ⊙ θ| with
// R = Σ f(1; |θ|) (all-ones input, absolute-valued parameters, BN in inference mode), pruned globally over
// `iterations` rounds on an exponential schedule. The mask depends only on the init weights.
import * as tf from '@tensorflow/tfjs-core';
import type { Mask } from '../mask.js';
import { Network, type ArchDefinition, type Weights } from '../models/network.js';
import { absValues, fullMask, maskFromScores, prunableParams } from './mask-ops.js';

export function synflowMask(def: ArchDefinition, init: Weights, sparsity: number, iterations = 100): Mask {
  const absInit: Weights = {};
  for (const p of def.params) absInit[p.name] = absValues(init[p.name]!);
  const net = new Network(def, absInit);
  const prunable = prunableParams(def);
  let mask = fullMask(def);
  const ones = tf.ones([1, ...def.inputShape]);
  try {
    for (let j = 1; j <= iterations; j++) {
      const scores: Weights = {};
      tf.tidy(() => {
        const masked = new Map<string, tf.Tensor>();
        for (const [i, p] of prunable.entries()) {
          masked.set(p.name, tf.mul(net.variable(p.name), tf.tensor(new Float32Array(mask.layers[i]!.keep), p.shape)));
        }
        const vars = prunable.map((p) => masked.get(p.name)!);
        const grads = tf.grads((...ws: tf.Tensor[]) => {
          const over = new Map(prunable.map((p, i) => [p.name, ws[i]!] as const));
          return tf.sum(net.apply(ones, false, over));
        })(vars);
        prunable.forEach((p, i) => {
          scores[p.name] = tf.abs(tf.mul(grads[i]!, vars[i]!)).dataSync() as Float32Array;
        });
      });
      const s = 1 - Math.pow(1 - sparsity, j / iterations);
      mask = maskFromScores(def, scores, s, 'global', mask);
    }
  } finally {
    ones.dispose();
    net.dispose();
  }
  return mask;
}
