// Shared set-up for ml tests: the wasm backend (the default on machines without tfjs-node) and small fixtures.
import { initBackend } from '../../ml/backend.js';
import type { ArchName } from '../../ml/catalog.js';
import { buildArch } from '../../ml/models/architectures.js';
import { initWeights } from '../../ml/models/init-weights.js';
import type { DataView } from '../../ml/data/dataset.js';
import { Network, type ArchDefinition, type Weights } from '../../ml/models/network.js';
import { pruneNetwork, type PruneRequest, type PruneResult } from '../../ml/prune/prune-network.js';
import { trainedCopy, type TrainConfig } from '../../ml/train.js';

export async function useBackend(name = process.env.UNPRUNE_TEST_BACKEND ?? 'wasm') {
  return initBackend(name);
}

export function makeNet(arch: ArchName, inputShape: [number, number, number], classes: number, seed = 0) {
  const def = buildArch(arch, inputShape, classes);
  const init = initWeights(def, seed);
  return { def, init, net: new Network(def, init) };
}

/** Dense weights trained from `init` on `view` (the network is disposed). */
export async function trainedWeights(
  def: ArchDefinition,
  init: Weights,
  view: DataView,
  train: TrainConfig,
): Promise<Weights> {
  return trainedCopy(def, init, view, train);
}

/**
 * The gold model as the `train` (sample: retain) and `gold` stages compute it: dense training from the same init on
 * D_r, then the cell's pruning on D_r. Returns θ_r's dense weights too (what an exact estimator would give).
 */
export async function goldModel(
  def: ArchDefinition,
  init: Weights,
  retain: DataView,
  train: TrainConfig,
  prune: PruneRequest,
): Promise<PruneResult & { dense: Weights }> {
  const dense = await trainedWeights(def, init, retain, train);
  return { ...(await pruneNetwork({ def, init, dense, view: retain, train }, prune)), dense };
}
