// What every unlearning algorithm receives and returns. All operate on the sparse model with its mask enforced
// after every update (masked training re-applies the mask), so no pruned weight ever becomes non-zero.
import { deriveSeed } from '../data/seeded-random.js';
import type { DataView } from '../data/dataset.js';
import type { Mask } from '../mask.js';
import type { ArchDefinition, Weights } from '../models/network.js';
import { trainedCopy, type TrainConfig, type TrainHooks, type TrainOptions } from '../train.js';

export interface UnlearnInputs {
  def: ArchDefinition;
  /** The pruned model to unlearn from (θ_p). */
  weights: Weights;
  /** Its mask (or the un-pruned mask m_u when un-pruning ran first). */
  mask: Mask;
  /** The init the original model was trained from (Retrain starts here). */
  init: Weights;
  retain: DataView;
  forget: DataView;
  /** The original training configuration (Retrain uses it; others take their optimiser settings from it). */
  train: TrainConfig;
  hooks?: TrainHooks;
}

/** Hyper-parameters common to the gradient-based algorithms; every one overridable from a sweep spec. */
export interface UnlearnParams {
  epochs?: number;
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  batchSize?: number;
  /** Algorithm-specific strength (ℓ1 α, NegGrad+ retain weight, FF noise scale, IU step size, SalUn fraction…). */
  alpha?: number;
  /**
   * The gradients IU, FF and SalUn compute from: `masked` (default; as the references, whose pruning hooks zero the
   * gradients of pruned weights) or `dense` (every coordinate, pruned ones included).
   */
  gradients?: 'masked' | 'dense';
  /**
   * The unlearning run's learning-rate schedule: `constant` (default: Unlearn-Sparse's MultiStepLR, whose milestones
   * lie beyond its unlearning epochs) or `cosine` (annealed over the unlearning epochs).
   */
  schedule?: 'constant' | 'cosine';
  /** IU only: `woodfisher` (the reference's recursion, default) or `exact` (ml/unlearn/woodfisher.ts). */
  inverse?: 'woodfisher' | 'exact';
  /** SalUn only: the parameters its saliency ranks — prunable `weights` (default) or `all` (as its reference). */
  saliencyOver?: 'weights' | 'all';
  /** IU only: N, the retained examples its inverse-Fisher estimate visits. */
  samples?: number;
  seed?: number;
}

export interface UnlearnResult {
  weights: Weights;
  /** Wall time of the unlearning step (RTE), seconds. */
  seconds: number;
}

/** SGD settings from the params, falling back to the algorithm's defaults, then the original batch size. */
export function sgdConfig(
  inputs: UnlearnInputs,
  params: UnlearnParams,
  defaults: Required<Pick<UnlearnParams, 'epochs' | 'lr'>> & UnlearnParams,
): TrainConfig {
  return {
    optimizer: 'sgd',
    epochs: params.epochs ?? defaults.epochs,
    lr: params.lr ?? defaults.lr,
    momentum: params.momentum ?? defaults.momentum ?? 0.9,
    weightDecay: params.weightDecay ?? defaults.weightDecay ?? 5e-4,
    batchSize: params.batchSize ?? defaults.batchSize ?? inputs.train.batchSize,
    schedule: { kind: params.schedule ?? 'constant' },
    seed: params.seed ?? deriveSeed(inputs.train.seed, 'unlearn'),
  };
}

/** Zeroes, in place, the pruned coordinates of per-parameter arrays (gradients, their statistics), unless `dense`. */
export function maskGradients<T extends { [name: string]: Float32Array | Float64Array }>(
  inputs: Pick<UnlearnInputs, 'mask'>,
  params: Pick<UnlearnParams, 'gradients'>,
  byName: T,
): T {
  if (params.gradients === 'dense') return byName;
  for (const layer of inputs.mask.layers) {
    const g = byName[layer.name];
    if (g) for (let i = 0; i < g.length; i++) if (!layer.keep[i]) g[i] = 0;
  }
  return byName;
}

/** Trains a copy of `start` on `view` with the mask enforced; returns the new weights. */
export async function maskedRun(
  inputs: UnlearnInputs,
  start: Weights,
  view: DataView,
  cfg: TrainConfig,
  extra: Pick<TrainOptions, 'loss' | 'gradMask' | 'companion'> = {},
): Promise<Weights> {
  return trainedCopy(inputs.def, start, view, cfg, { mask: inputs.mask, hooks: inputs.hooks, ...extra });
}
