// OMP (one-shot magnitude pruning) and IMP (iterative magnitude pruning with rewinding to init, the lottery-ticket
// procedure). Scores are |w|.
import type { DataView } from '../data/dataset.js';
import type { Mask } from '../metrics/masks.js';
import { Network, type ArchDefinition, type Weights } from '../models/network.js';
import { trainNetwork, type TrainConfig, type TrainHooks } from '../train.js';
import { absWeights, applyMask, maskFromScores } from './mask-ops.js';

export type PruneScope = 'layer' | 'global';

/** OMP: keep the largest-magnitude weights at the target sparsity. */
export function magnitudeMask(
  def: ArchDefinition,
  weights: Weights,
  sparsity: number,
  scope: PruneScope = 'layer',
): Mask {
  return maskFromScores(def, absWeights(def, weights), sparsity, scope);
}

/** Sparsity after round j of k when each round prunes the same fraction of the remaining weights. */
export function impRoundSparsity(target: number, rounds: number, round: number): number {
  return 1 - Math.pow(1 - target, round / rounds);
}

export interface ImpResult {
  mask: Mask;
  /** Trained sparse weights after the final round. */
  weights: Weights;
  /** Mask sparsity after each pruning round. */
  roundSparsities: number[];
}

/**
 * IMP: starting from dense weights trained on the data, prune the same fraction of the remaining weights in each of
 * `rounds` rounds; after each prune, rewind survivors to the init and retrain with the mask. Reaches the target
 * sparsity exactly in the last round.
 */
export async function iterativeMagnitudePrune(
  def: ArchDefinition,
  init: Weights,
  dense: Weights,
  view: DataView,
  train: TrainConfig,
  opts: { sparsity: number; rounds: number; scope?: PruneScope; hooks?: TrainHooks },
): Promise<ImpResult> {
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1)
    throw new RangeError(`IMP rounds must be ≥ 1, got ${opts.rounds}`);
  let mask: Mask | undefined;
  let current = dense;
  const roundSparsities: number[] = [];
  for (let r = 1; r <= opts.rounds; r++) {
    const s = impRoundSparsity(opts.sparsity, opts.rounds, r);
    mask = maskFromScores(def, absWeights(def, current), s, opts.scope ?? 'layer', mask);
    roundSparsities.push(s);
    const net = new Network(def, applyMask(init, mask));
    try {
      await trainNetwork(net, view, { ...train, seed: train.seed + r }, { mask, hooks: opts.hooks });
      current = net.getWeights();
    } finally {
      net.dispose();
    }
  }
  return { mask: mask!, weights: current, roundSparsities };
}
