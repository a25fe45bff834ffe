// Structured pruning at filter/neuron granularity by L2 norm, SFP style (He et al., 2018): during the soft epochs
// the weakest filters are zeroed at the start of every epoch but keep receiving gradients (they may recover; a ReLU
// unit whose bias is ≤ 0 gets none once its weights are zero, so it cannot); at the end the mask is fixed (hard). A filter is an output channel (last axis); the classifier layer is not pruned.
import { deriveSeed } from '../data/seeded-random.js';
import type { DataView } from '../data/dataset.js';
import { enforceMask, type Mask } from '../mask.js';
import { Network, type ArchDefinition, type Weights } from '../models/network.js';
import { learningRate, trainNetwork, type TrainConfig, type TrainHooks } from '../train.js';
import { prunableParams, topK } from './mask-ops.js';

/** Soft epochs when a spec names none. */
export const DEFAULT_SOFT_EPOCHS = 1;

/** L2 norm of every filter (output unit) of a weight tensor laid out [..., units]. */
export function filterNorms(w: Float32Array, units: number): Float32Array {
  const sq = new Float64Array(units);
  for (let i = 0; i < w.length; i++) sq[i % units]! += w[i]! * w[i]!;
  return Float32Array.from(sq, Math.sqrt);
}

/** Keeps, in every non-output prunable layer, the filters with the largest L2 norms (floor(units·sparsity) pruned). */
export function filterMaskFromWeights(def: ArchDefinition, weights: Weights, sparsity: number): Mask {
  return {
    layers: prunableParams(def).map((p) => {
      const w = weights[p.name]!;
      const units = p.shape[p.shape.length - 1]!;
      const prune = p.output ? 0 : Math.floor(units * sparsity);
      const keepUnits = topK(filterNorms(w, units), units - prune);
      const keep = new Uint8Array(w.length);
      for (let i = 0; i < w.length; i++) keep[i] = keepUnits[i % units]!;
      return { name: p.name, shape: [...p.shape], keep };
    }),
  };
}

/**
 * SFP from the init as its reference (He et al.): every training epoch starts by zeroing the weakest filters, which
 * keep receiving gradients; the hard mask comes at the end. The dense run it replaces is not used.
 */
export function softFilterPruneFromInit(
  def: ArchDefinition,
  init: Weights,
  view: DataView,
  train: TrainConfig,
  opts: { sparsity: number; hooks?: TrainHooks },
): Promise<{ mask: Mask; weights: Weights }> {
  return softFilterPrune(def, init, view, train, { ...opts, softEpochs: train.epochs, schedule: 'training' });
}

/**
 * SFP from trained dense weights: `softEpochs` epochs of soft pruning, then the hard mask. Returns the mask and
 * the hard-masked weights. The soft epochs continue training at the learning rate the schedule ended with (they
 * extend the run; a fresh schedule would restart at the full base rate and let one high-rate epoch set the mask).
 * Re-pruning replays this function from θ̂_r on D_r, so with θ̂_r = θ_r it reproduces m_r exactly.
 */
export async function softFilterPrune(
  def: ArchDefinition,
  dense: Weights,
  view: DataView,
  train: TrainConfig,
  opts: { sparsity: number; softEpochs: number; hooks?: TrainHooks; schedule?: 'continue' | 'training' },
): Promise<{ mask: Mask; weights: Weights }> {
  const net = new Network(def, dense);
  // `continue`: extra epochs at the rate the training ended with; `training`: the epochs of the training run itself
  // (SFP from the init, as its reference: the learning rate follows the training schedule).
  const lrOf = (e: number) => learningRate(train, opts.schedule === 'training' ? e : train.epochs - 1);
  try {
    for (let e = 0; e < opts.softEpochs; e++) {
      enforceMask(net, filterMaskFromWeights(def, net.getWeights(), opts.sparsity));
      await trainNetwork(
        net,
        view,
        {
          ...train,
          epochs: 1,
          lr: lrOf(e),
          schedule: { kind: 'constant' },
          seed: deriveSeed(train.seed, `structured-soft-epoch:${e}`),
        },
        { hooks: opts.hooks },
      );
    }
    const mask = filterMaskFromWeights(def, net.getWeights(), opts.sparsity);
    enforceMask(net, mask);
    return { mask, weights: net.getWeights() };
  } finally {
    net.dispose();
  }
}
