// OMP (one-shot magnitude pruning) and IMP (iterative magnitude pruning with rewinding to init, the lottery-ticket
// procedure). Scores are |w|.
import { deriveSeed } from '../data/seeded-random.js';
import { InvalidConfigError } from '../errors.js';
import type { DataView } from '../data/dataset.js';
import type { Mask } from '../mask.js';
import type { ArchDefinition, Weights } from '../models/network.js';
import { trainedCopy, type TrainConfig, type TrainHooks } from '../train.js';
import { absWeights, applyMask, maskFromScores } from './mask-ops.js';

export type PruneScope = 'layer' | 'global';

export const DEFAULT_IMP_ROUNDS = 3;

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

export interface ImpOptions {
  sparsity: number;
  rounds: number;
  scope?: PruneScope;
  hooks?: TrainHooks;
}

export interface ImpMask {
  mask: Mask;
  /** The weights the last round scored (the dense weights when rounds = 1). */
  scored: Weights;
  /** Mask sparsity after each pruning round. */
  roundSparsities: number[];
}

export interface ImpResult extends ImpMask {
  /** Trained sparse weights after the final round. */
  weights: Weights;
}

/**
 * IMP's rewind point: the init, or (rewindEpoch k > 0, as Unlearn-Sparse's IMP) the weights after k epochs of the
 * same training run, recomputed by stopping that run early — bit for bit its epoch-k state.
 */
export async function rewindPoint(
  def: ArchDefinition,
  init: Weights,
  view: DataView,
  train: TrainConfig,
  rewindEpoch = 0,
): Promise<Weights> {
  if (rewindEpoch <= 0) return init;
  if (rewindEpoch > train.epochs)
    throw new InvalidConfigError(`IMP's rewindEpoch ${rewindEpoch} is past the training's ${train.epochs} epochs`);
  return trainedCopy(def, init, view, { ...train, stopAfter: rewindEpoch });
}

/** One IMP retraining: survivors rewound to the rewind point, trained with the mask (seeded per round). */
async function trainRewound(
  def: ArchDefinition,
  init: Weights,
  mask: Mask,
  view: DataView,
  train: TrainConfig,
  round: number,
  hooks?: TrainHooks,
): Promise<Weights> {
  const cfg = { ...train, seed: deriveSeed(train.seed, `imp-round:${round}`) };
  return trainedCopy(def, applyMask(init, mask), view, cfg, { mask, hooks });
}

/**
 * IMP's mask alone: prune the same fraction of the remaining weights in each of `rounds` rounds, rewinding and
 * retraining between rounds. The last round's retraining cannot change the mask, so it is not run.
 */
export async function iterativeMagnitudeMask(
  def: ArchDefinition,
  init: Weights,
  dense: Weights,
  view: DataView,
  train: TrainConfig,
  opts: ImpOptions,
): Promise<ImpMask> {
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1)
    throw new InvalidConfigError(`IMP rounds must be ≥ 1, got ${opts.rounds}`);
  let mask: Mask | undefined;
  let scored = dense;
  const roundSparsities: number[] = [];
  for (let r = 1; r <= opts.rounds; r++) {
    if (r > 1) scored = await trainRewound(def, init, mask!, view, train, r - 1, opts.hooks);
    const s = impRoundSparsity(opts.sparsity, opts.rounds, r);
    mask = maskFromScores(def, absWeights(def, scored), s, opts.scope ?? 'layer', mask);
    roundSparsities.push(s);
  }
  return { mask: mask!, scored, roundSparsities };
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
  opts: ImpOptions,
): Promise<ImpResult> {
  const m = await iterativeMagnitudeMask(def, init, dense, view, train, opts);
  const weights = await trainRewound(def, init, m.mask, view, train, opts.rounds, opts.hooks);
  return { ...m, weights };
}
