// How a spec's sections become ml/'s configurations (training, pruning, unlearning): the one place spec names
// (batch, …) meet ml/'s (batchSize, …).
import type { PruneRequest } from '../ml/prune/prune-network.js';
import { deriveSeed } from '../ml/data/seeded-random.js';
import type { TrainConfig } from '../ml/train.js';
import type { UnlearnParams } from '../ml/unlearn/unlearn-context.js';
import type { PruneParams } from '../sweep/stage-kinds.js';
import type { TrainSpec, UnlearnSpec } from '../sweep/spec.js';

/** The training configuration; `reshuffle` k ≥ 1 draws the batch order (and augmentation) from the k-th other seed. */
export function trainConfig(spec: TrainSpec, seed: number, reshuffle?: number): TrainConfig {
  return {
    optimizer: spec.optimizer,
    lr: spec.lr,
    momentum: spec.momentum,
    nesterov: spec.nesterov,
    weightDecay: spec.weightDecay,
    epochs: spec.epochs,
    batchSize: spec.batch,
    schedule: { kind: spec.schedule },
    augment: spec.augment,
    seed: reshuffle ? deriveSeed(seed, `reshuffle:${reshuffle}`) : seed,
  };
}

export function unlearnParams(u: UnlearnSpec): UnlearnParams {
  return {
    epochs: u.epochs,
    lr: u.lr,
    momentum: u.momentum,
    weightDecay: u.weightDecay,
    batchSize: u.batch,
    alpha: u.alpha,
    gradients: u.gradients,
    schedule: u.schedule,
    inverse: u.inverse,
    samples: u.samples,
    saliencyOver: u.saliencyOver,
  };
}

export function pruneRequest(p: PruneParams, seed: number): PruneRequest {
  return {
    method: p.method,
    sparsity: p.sparsity,
    scope: p.scope,
    rounds: p.rounds,
    iterations: p.iterations,
    softEpochs: p.softEpochs,
    finetuneEpochs: p.finetuneEpochs,
    layers: p.layers,
    rewindEpoch: p.rewindEpoch,
    softFrom: p.softFrom,
    seed,
  };
}
