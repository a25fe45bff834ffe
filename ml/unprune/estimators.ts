// Estimators of the retained-data dense weights θ̂_r, starting from the dense weights θ_D that pruning scored.
import type { DataView } from '../data/dataset.js';
import { deriveSeed, SeededRandom } from '../data/seeded-random.js';
import { Network, type ArchDefinition, type Weights } from '../models/network.js';
import { fullMask } from '../prune/mask-ops.js';
import { gradientStatistics } from '../gradient-statistics.js';
import { trainedCopy, type TrainConfig, type TrainHooks, type TrainingCheckpoint } from '../train.js';
import type { UnlearnParams } from '../unlearn/unlearn-context.js';
import type { UnlearnMethod } from '../catalog.js';
import { unlearn } from '../unlearn/unlearn.js';
import { influenceCgEstimate } from './influence-cg.js';

import type { Estimator } from '../catalog.js';

export interface EstimatorInputs {
  def: ArchDefinition;
  init: Weights;
  /** θ_D: the dense weights pruning scored. */
  dense: Weights;
  retain: DataView;
  forget: DataView;
  train: TrainConfig;
  /** For the `unlearn` estimator: the cell's algorithm, applied densely. */
  unlearnMethod?: UnlearnMethod;
  unlearnParams?: UnlearnParams;
  /** finetune/retrain: epochs; influence: damping relative to the mean Fisher (default 1) and Fisher sample count (default 256). */
  epochs?: number;
  damping?: number;
  fisherSamples?: number;
  /** Progress (a Temporal heartbeat's text) and cancellation for the estimators that train. */
  hooks?: TrainHooks;
  /** rewind: the original training's checkpoint to replay from (none: from the init, i.e. a full retrain). */
  rewind?: TrainingCheckpoint;
}

/**
 * Influence (Newton) step that removes D_f: at θ_D, n_r∇L_r = −n_f∇L_f, so one Newton step on L_r gives
 * θ̂_r = θ_D + H_r⁻¹ (n_f/n_r) ∇L_f(θ_D), with H_r approximated by the diagonal empirical Fisher on a sample of D_r
 * (per-example gradients) plus damping λ.
 */
export function influenceEstimate(inputs: EstimatorInputs): Weights {
  const net = new Network(inputs.def, inputs.dense);
  try {
    const nf = inputs.forget.indices.length;
    const nr = inputs.retain.indices.length;
    const gf = gradientStatistics(
      net,
      inputs.forget,
      Int32Array.from({ length: nf }, (_, i) => i),
      false,
      256,
    );
    const sample = Math.min(nr, inputs.fisherSamples ?? 256);
    const order = new SeededRandom(deriveSeed(inputs.train.seed, 'fisher-sample')).permutation(nr).subarray(0, sample);
    const fisher = gradientStatistics(net, inputs.retain, order, true, 1);
    // Damping relative to each tensor's mean Fisher: an absolute λ lets the step explode where the Fisher is ~0
    // (measured: IoU to m_r fell from 0.88 to 0.2 with λ = 1e-3).
    const damping = inputs.damping ?? 1;
    const out: Weights = { ...inputs.dense };
    for (const [name, g] of Object.entries(gf)) {
      const f = fisher[name]!;
      const w = inputs.dense[name]!;
      const lambda = damping * (f.reduce((s, x) => s + x, 0) / f.length / sample + 1e-12);
      // ∇L_f = g / n_f, so (n_f/n_r)·∇L_f = g / n_r.
      const step = new Float32Array(w.length);
      for (let i = 0; i < w.length; i++) step[i] = w[i]! + g[i]! / nr / (f[i]! / sample + lambda);
      out[name] = step;
    }
    return out;
  } finally {
    net.dispose();
  }
}

/** A short dense fine-tune of θ_D on D_r. */
export async function finetuneEstimate(inputs: EstimatorInputs): Promise<Weights> {
  return trainedCopy(
    inputs.def,
    inputs.dense,
    inputs.retain,
    {
      ...inputs.train,
      epochs: inputs.epochs ?? 1,
      seed: deriveSeed(inputs.train.seed, 'finetune-estimate'),
    },
    { hooks: inputs.hooks },
  );
}

/** The cell's unlearning algorithm applied to the dense model (an all-ones mask). */
export async function unlearnEstimate(inputs: EstimatorInputs): Promise<Weights> {
  if (!inputs.unlearnMethod) throw new Error('the unlearn estimator needs the cell’s unlearning method');
  const r = await unlearn(
    inputs.unlearnMethod,
    {
      def: inputs.def,
      weights: inputs.dense,
      mask: fullMask(inputs.def),
      init: inputs.init,
      retain: inputs.retain,
      forget: inputs.forget,
      train: inputs.train,
      hooks: inputs.hooks,
    },
    inputs.unlearnParams,
  );
  return r.weights;
}

/** The truncated retrain's epochs: `epochs`, else all training epochs but the last (at least one). */
export function truncatedRetrainEpochs(inputs: Pick<EstimatorInputs, 'epochs' | 'train'>): number {
  return inputs.epochs ?? Math.max(1, inputs.train.epochs - 1);
}

/**
 * A truncated retrain: train from the init on D_r for fewer epochs than the original (default all but the last,
 * at least one). Because D_r keeps D's batch order, this is the gold run's late checkpoint. On MNIST/MLP with 3
 * epochs, 2 recovered 28-46% of the mask difference and 1 (half) recovered none to 7%; the one-shot estimators
 * recovered none (docs/metrics-and-unpruning.md).
 */
export async function truncatedRetrainEstimate(inputs: EstimatorInputs): Promise<Weights> {
  // The gold run stopped early (its schedule spans all its epochs), not a shorter run with a compressed schedule.
  return trainedCopy(
    inputs.def,
    inputs.init,
    inputs.retain,
    { ...inputs.train, stopAfter: truncatedRetrainEpochs(inputs) },
    { hooks: inputs.hooks },
  );
}

/**
 * Rewind: the original run's own trajectory up to a checkpoint (its weights and optimiser state), then the rest of
 * its schedule replayed on D_r in the gold run's batch order. From the init (no checkpoint) it is the gold retrain
 * itself; from a later epoch it keeps what D_f contributed before that epoch and costs only the epochs replayed.
 */
export async function rewindEstimate(inputs: EstimatorInputs): Promise<Weights> {
  return trainedCopy(inputs.def, inputs.init, inputs.retain, inputs.train, {
    hooks: inputs.hooks,
    resume: inputs.rewind,
  });
}

export async function estimateRetainedWeights(estimator: Estimator, inputs: EstimatorInputs): Promise<Weights> {
  switch (estimator) {
    case 'influence':
      return influenceEstimate(inputs);
    case 'influence-cg':
      return influenceCgEstimate(inputs, { damping: inputs.damping, samples: inputs.fisherSamples });
    case 'finetune':
      return finetuneEstimate(inputs);
    case 'unlearn':
      return unlearnEstimate(inputs);
    case 'retrain':
      return truncatedRetrainEstimate(inputs);
    case 'rewind':
      return rewindEstimate(inputs);
  }
}
