// The gold standard: train from the same init on D_r only, and prune with the same method and budget. Its mask m_r
// is what un-pruning aims for; its accuracies are the reference every metric's gap is measured against.
import type { DataView } from '../data/dataset.js';
import { Network, type ArchDefinition, type Weights } from '../models/network.js';
import { pruneNetwork, type PruneRequest, type PruneResult } from '../prune/prune-network.js';
import { trainNetwork, type TrainConfig, type TrainHooks } from '../train.js';

export interface GoldResult {
  /** θ_r: the pruned weights trained on D_r. */
  weights: PruneResult['weights'];
  /** m_r: the mask pruning gives on the retained data alone. */
  mask: PruneResult['mask'];
  /** The dense weights trained on D_r (before pruning). */
  dense: Weights;
  sparsity: number;
}

export async function goldStandard(
  def: ArchDefinition,
  init: Weights,
  retain: DataView,
  train: TrainConfig,
  prune: PruneRequest,
  hooks?: TrainHooks,
): Promise<GoldResult> {
  const net = new Network(def, init);
  let dense: Weights;
  try {
    await trainNetwork(net, retain, train, { hooks });
    dense = net.getWeights();
  } finally {
    net.dispose();
  }
  const r = await pruneNetwork({ def, init, dense, view: retain, train, hooks }, prune);
  return { weights: r.weights, mask: r.mask, dense, sparsity: r.sparsity };
}
