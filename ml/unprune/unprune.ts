// The un-pruning entry point and the order flag. Variants: `none` (baseline: m_u = m), `reprune` (re-score θ̂_r
// with the cell's criterion at the same budget), `swap` (budget-preserving swaps under retained-data saliency
// |w · ∂L_{D_r}/∂w|, with pruned positions valued at θ̂_r).
import * as tf from '@tensorflow/tfjs-core';
import { gatherBatch } from '../data/dataset.js';
import type { Mask } from '../metrics/masks.js';
import { Network, type Weights } from '../models/network.js';
import type { PruneRequest } from '../prune/prune-network.js';
import { crossEntropy } from '../train.js';
import type { UnlearnParams } from '../unlearn/unlearn-context.js';
import { unlearn, type UnlearnMethod } from '../unlearn/unlearn.js';
import { estimateRetainedWeights, truncatedRetrainEpochs, type Estimator, type EstimatorInputs } from './estimators.js';
import {
  criterionScores,
  errorBound,
  estimateEpsilon,
  iterativeRepruneMask,
  maskNeedsRepair,
  repairedWeights,
  repruneMask,
  swapMask,
} from './reprune.js';

export const UNPRUNE_VARIANTS = ['none', 'reprune', 'swap'] as const;
export type UnpruneVariant = (typeof UNPRUNE_VARIANTS)[number];
export const UNPRUNE_ORDERS = ['unprune-first', 'unlearn-first'] as const;
export type UnpruneOrder = (typeof UNPRUNE_ORDERS)[number];

export interface UnpruneResult {
  mask: Mask;
  weights: Weights;
  epsilon: number;
  nearThreshold: number;
  seconds: number;
}

/** |w · ∂L_{D_r}/∂w| for the prunable weights (gradient over up to 1,024 retained examples). */
function retainedSaliency(inputs: EstimatorInputs, weights: Weights, names: string[]): Weights {
  const net = new Network(inputs.def, weights);
  try {
    const n = Math.min(1024, inputs.retain.indices.length);
    const b = gatherBatch(
      inputs.retain,
      Int32Array.from({ length: n }, (_, i) => i),
    );
    const [h, w, c] = inputs.def.inputShape;
    return tf.tidy(() => {
      const vars = names.map((name) => net.variable(name));
      const x = tf.tensor4d(b.x, [n, h, w, c]);
      const y = tf.tensor1d(b.y, 'int32');
      const { grads } = tf.variableGrads(() => crossEntropy(net.apply(x, false), y), vars);
      const out: Weights = {};
      names.forEach(
        (name, i) => (out[name] = tf.abs(tf.mul(grads[vars[i]!.name]!, vars[i]!)).dataSync() as Float32Array),
      );
      return out;
    });
  } finally {
    net.dispose();
  }
}

/** The pruning a cell's mask came from: its method, and for IMP the sparsity, rounds and scope to replay. */
export type PruneTarget = Pick<PruneRequest, 'method' | 'sparsity' | 'rounds' | 'scope'>;

/**
 * Repairs mask m of the current weights (pruned or unlearned) for a cell pruned by `prune`. `precomputed` is θ̂_r
 * when the estimator already ran (a sweep shares one estimate across pruning methods and algorithms).
 */
export async function unprune(
  variant: UnpruneVariant,
  estimator: Estimator,
  prune: PruneTarget,
  m: Mask,
  current: Weights,
  inputs: EstimatorInputs,
  precomputed?: Weights,
): Promise<UnpruneResult> {
  const start = performance.now();
  const { method } = prune;
  if (variant === 'none' || !maskNeedsRepair(method)) {
    return { mask: m, weights: current, epsilon: 0, nearThreshold: 0, seconds: (performance.now() - start) / 1000 };
  }
  const estimate = precomputed ?? (await estimateRetainedWeights(estimator, inputs));
  const names = m.layers.map((l) => l.name);
  let mu: Mask;
  // The weights whose criterion scores decided m_u (for IMP, those its last replayed round scored).
  let scored = estimate;
  if (variant === 'reprune' && method === 'imp') {
    // The retrain estimator's truncation, per round: with the other estimators `epochs` means something else.
    const roundEpochs = truncatedRetrainEpochs(estimator === 'retrain' ? inputs : { train: inputs.train });
    const r = await iterativeRepruneMask({ ...inputs, roundEpochs }, prune, estimate);
    mu = r.mask;
    scored = r.scored;
  } else if (variant === 'reprune') {
    mu = repruneMask(inputs.def, method, estimate, m);
  } else {
    mu = swapMask(m, retainedSaliency(inputs, estimate, names));
  }
  const epsilon = estimateEpsilon(inputs.dense, estimate, names);
  const { nearThreshold } = errorBound(criterionScores(inputs.def, method, scored), mu, epsilon);
  return {
    mask: mu,
    weights: repairedWeights(current, estimate, m, mu),
    epsilon,
    nearThreshold,
    seconds: (performance.now() - start) / 1000,
  };
}

export interface CellResult {
  weights: Weights;
  mask: Mask;
  unlearnSeconds: number;
  unprune: UnpruneResult;
}

/** Unlearning and un-pruning in either order; the mask in force (m, or m_u) is enforced during unlearning. */
export async function unlearnWithUnpruning(
  order: UnpruneOrder,
  variant: UnpruneVariant,
  estimator: Estimator,
  prune: PruneTarget,
  pruned: { weights: Weights; mask: Mask },
  algorithm: UnlearnMethod,
  params: UnlearnParams,
  inputs: EstimatorInputs,
): Promise<CellResult> {
  const run = (weights: Weights, mask: Mask) =>
    unlearn(
      algorithm,
      {
        def: inputs.def,
        weights,
        mask,
        init: inputs.init,
        retain: inputs.retain,
        forget: inputs.forget,
        train: inputs.train,
      },
      params,
    );
  const est = {
    ...inputs,
    unlearnMethod: inputs.unlearnMethod ?? algorithm,
    unlearnParams: inputs.unlearnParams ?? params,
  };
  if (order === 'unprune-first') {
    const u = await unprune(variant, estimator, prune, pruned.mask, pruned.weights, est);
    const r = await run(u.weights, u.mask);
    return { weights: r.weights, mask: u.mask, unlearnSeconds: r.seconds, unprune: u };
  }
  const r = await run(pruned.weights, pruned.mask);
  const u = await unprune(variant, estimator, prune, pruned.mask, r.weights, est);
  return { weights: u.weights, mask: u.mask, unlearnSeconds: r.seconds, unprune: u };
}
