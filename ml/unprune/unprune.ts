// The re-pruning entry point: `none` (baseline: m_u = m) and `reprune` (re-score θ̂_r with the cell's criterion at
// the same budget). `regrow` (the paper's rounds, with unlearning inside) is ml/unprune/regrow.ts.
import type { Mask } from '../mask.js';
import type { Weights } from '../models/network.js';
import { restrictPruning } from '../prune/mask-ops.js';
import type { PruneRequest } from '../prune/prune-network.js';
import { DEFAULT_SOFT_EPOCHS } from '../prune/structured.js';
import { estimateRetainedWeights, truncatedRetrainEpochs, type EstimatorInputs } from './estimators.js';
import {
  criterionScores,
  estimatorShift,
  nearThresholdCount,
  iterativeRepruneMask,
  repairedWeights,
  repruneMask,
  structuredRepruneMask,
} from './reprune.js';

import { maskDependsOnData, type Estimator, type UnpruneVariant } from '../catalog.js';

export interface UnpruneResult {
  mask: Mask;
  weights: Weights;
  /**
   * One-shot re-pruning (OMP, structured): how far the estimator moved the criterion scores, and how many weights
   * lie within twice that of m_u's threshold. A diagnostic, not a bound (see nearThresholdCount). Null where it has
   * no meaning: no repair, IMP (its mask comes from replayed rounds), swap (from saliency, not the criterion).
   */
  estimatorShift: number | null;
  nearThresholdAtShift: number | null;
  seconds: number;
}

/** The pruning a cell's mask came from: its method, and for IMP the sparsity, rounds and scope to replay. */
export type PruneTarget = Pick<
  PruneRequest,
  'method' | 'sparsity' | 'rounds' | 'scope' | 'softEpochs' | 'layers' | 'rewindEpoch' | 'softFrom'
>;

/**
 * Repairs mask m of the current weights (pruned or unlearned) for a cell pruned by `prune`. `precomputed` is θ̂_r
 * when the estimator already ran (a sweep shares one estimate across pruning methods and algorithms).
 */
export async function unprune(
  variant: Exclude<UnpruneVariant, 'regrow'>,
  estimator: Estimator,
  prune: PruneTarget,
  m: Mask,
  current: Weights,
  inputs: EstimatorInputs,
  precomputed?: Weights,
): Promise<UnpruneResult> {
  const start = performance.now();
  const { method } = prune;
  if (variant === 'none' || !maskDependsOnData(method)) {
    const seconds = (performance.now() - start) / 1000;
    return { mask: m, weights: current, estimatorShift: null, nearThresholdAtShift: null, seconds };
  }
  const estimate = precomputed ?? (await estimateRetainedWeights(estimator, inputs));
  // Re-masking sees the layers pruning saw (the estimate itself is dense).
  inputs = { ...inputs, def: restrictPruning(inputs.def, prune.layers) };
  let mu: Mask;
  let estimatorShiftValue: number | null = null;
  let nearThresholdAtShift: number | null = null;
  if (variant === 'reprune' && method === 'imp') {
    // The retrain estimator's truncation, per round: with the other estimators `epochs` means something else.
    const roundEpochs = truncatedRetrainEpochs(estimator === 'retrain' ? inputs : { train: inputs.train });
    mu = (await iterativeRepruneMask({ ...inputs, roundEpochs }, prune, estimate)).mask;
  } else if (
    variant === 'reprune' &&
    method === 'structured' &&
    prune.softFrom !== 'init' &&
    (prune.softEpochs ?? DEFAULT_SOFT_EPOCHS) > 0
  ) {
    // (SFP from the init ignores the dense weights: replaying it would be the gold run; it re-prunes one-shot.)
    mu = await structuredRepruneMask(inputs, prune, estimate);
  } else {
    mu = repruneMask(inputs.def, prune, estimate, m);
    estimatorShiftValue = estimatorShift(inputs.def, method, inputs.dense, estimate);
    const scope = prune.scope === 'global' && method !== 'structured' ? 'global' : 'layer';
    const scores = criterionScores(inputs.def, method, estimate);
    nearThresholdAtShift = nearThresholdCount(scores, mu, estimatorShiftValue, scope);
  }
  return {
    mask: mu,
    weights: repairedWeights(current, estimate, m, mu),
    estimatorShift: estimatorShiftValue,
    nearThresholdAtShift,
    seconds: (performance.now() - start) / 1000,
  };
}
