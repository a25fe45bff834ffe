// One entry point for every pruning method. Each returns the sparse weights, the mask, per-layer sparsity and the
// dense weights it started from (those it scored), which un-pruning re-scores later.
import { deriveSeed } from '../data/seeded-random.js';
import { InvalidConfigError } from '../errors.js';
import type { DataView } from '../data/dataset.js';
import type { Mask } from '../mask.js';
import { layerSparsity, maskSparsity } from '../metrics/masks.js';
import type { ArchDefinition, Weights } from '../models/network.js';
import { trainedCopy, type TrainConfig, type TrainHooks } from '../train.js';
import {
  DEFAULT_IMP_ROUNDS,
  iterativeMagnitudeMask,
  iterativeMagnitudePrune,
  magnitudeMask,
  rewindPoint,
  type PruneScope,
} from './magnitude.js';
import { applyMask, restrictPruning, type PrunedLayers } from './mask-ops.js';
import { randomMask } from './random-pruning.js';
import { DEFAULT_SOFT_EPOCHS, softFilterPrune, softFilterPruneFromInit } from './structured.js';
import { synflowMask } from './synflow.js';

import type { PruneMethod } from '../catalog.js';

export interface PruneRequest {
  method: PruneMethod;
  /** Fraction of prunable weights removed (structured: fraction of filters removed per pruned layer). */
  sparsity: number;
  scope?: PruneScope;
  /** IMP rounds (default 3). */
  rounds?: number;
  /** SynFlow iterations (default 100). */
  iterations?: number;
  /** SFP soft epochs (default 1). */
  softEpochs?: number;
  /** Masked fine-tuning epochs after pruning for omp/structured/random (default 0). */
  finetuneEpochs?: number;
  /**
   * Structured: SFP's soft epochs after the shared dense training (`trained`, default) or SFP over the whole
   * training from the init, as its reference (`init`; the dense run is then not used).
   */
  softFrom?: 'trained' | 'init';
  /** IMP: rewind to the weights after this many training epochs instead of the init (default 0: the init). */
  rewindEpoch?: number;
  /** The layers pruning may touch (default all prunable; `conv`: convolutions only, as Unlearn-Sparse). */
  layers?: PrunedLayers;
  seed: number;
}

export interface PruneResult {
  weights: Weights;
  mask: Mask;
  sparsity: number;
  layerSparsity: Record<string, number>;
  /** The dense weights the mask was computed from (the init for SynFlow). */
  dense: Weights;
}

export interface PruneInputs {
  def: ArchDefinition;
  init: Weights;
  /** Dense weights trained on `view`. */
  dense: Weights;
  view: DataView;
  /** Training configuration for retraining (IMP rounds, SynFlow training, fine-tuning). */
  train: TrainConfig;
  hooks?: TrainHooks;
  /**
   * A data-free method's mask (SynFlow, random), already computed for the same init, sparsity and seed: used as is
   * (the gold standard's is the original's).
   */
  dataFreeMask?: Mask;
  /**
   * Only the mask is wanted (a noise floor's gold run): the training that follows a fixed mask (fine-tuning, IMP's
   * last rewound training, SynFlow's training) is skipped, and the weights are the masked ones it would start from.
   */
  maskOnly?: boolean;
}

export async function pruneNetwork(inputs: PruneInputs, req: PruneRequest): Promise<PruneResult> {
  const { init, dense, view, train, hooks } = inputs;
  const def = restrictPruning(inputs.def, req.layers);
  if (!(req.sparsity >= 0 && req.sparsity < 1))
    throw new InvalidConfigError(`sparsity must be in [0, 1), got ${req.sparsity}`);
  const finetune = async (weights: Weights, mask: Mask, epochs: number): Promise<Weights> => {
    if (epochs <= 0 || inputs.maskOnly) return weights;
    return trainedCopy(
      def,
      weights,
      view,
      { ...train, epochs, seed: deriveSeed(train.seed, 'prune-finetune') },
      {
        mask,
        hooks,
      },
    );
  };
  let mask: Mask;
  let weights: Weights;
  let scored = dense;
  switch (req.method) {
    case 'omp':
      mask = magnitudeMask(def, dense, req.sparsity, req.scope ?? 'layer');
      weights = await finetune(applyMask(dense, mask), mask, req.finetuneEpochs ?? 0);
      break;
    case 'random':
      mask = inputs.dataFreeMask ?? randomMask(def, req.sparsity, req.seed);
      weights = await finetune(applyMask(dense, mask), mask, req.finetuneEpochs ?? 0);
      break;
    case 'imp': {
      const rewind = await rewindPoint(def, init, view, train, req.rewindEpoch);
      const imp = { sparsity: req.sparsity, rounds: req.rounds ?? DEFAULT_IMP_ROUNDS, scope: req.scope, hooks };
      if (inputs.maskOnly) {
        mask = (await iterativeMagnitudeMask(def, rewind, dense, view, train, imp)).mask;
        weights = applyMask(rewind, mask);
      } else {
        const r = await iterativeMagnitudePrune(def, rewind, dense, view, train, imp);
        mask = r.mask;
        weights = r.weights;
      }
      break;
    }
    case 'synflow':
      // Data-free: the mask comes from the init alone; the sparse net is then trained from the init.
      mask = inputs.dataFreeMask ?? synflowMask(def, init, req.sparsity, req.iterations ?? 100);
      weights = await finetune(applyMask(init, mask), mask, train.epochs);
      scored = init;
      break;
    case 'structured': {
      const r =
        req.softFrom === 'init'
          ? await softFilterPruneFromInit(def, init, view, train, { sparsity: req.sparsity, hooks })
          : await softFilterPrune(def, dense, view, train, {
              sparsity: req.sparsity,
              softEpochs: req.softEpochs ?? DEFAULT_SOFT_EPOCHS,
              hooks,
            });
      mask = r.mask;
      weights = await finetune(r.weights, mask, req.finetuneEpochs ?? 0);
      break;
    }
  }
  return { weights, mask, sparsity: maskSparsity(mask), layerSparsity: layerSparsity(mask), dense: scored };
}
