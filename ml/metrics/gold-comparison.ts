// Sparse-model metrics against the gold standard's mask m_r: how close the final mask m_final (m_u after
// un-pruning, m without) comes to m_r, relative to where the original mask m started.
import type { Mask } from '../mask.js';
import { filterIoU, hammingDistance, maskIoU, maskSparsity, perLayerIoU } from './masks.js';

export interface MaskComparison {
  /** IoU(m_final, m_r). */
  iouGold: number;
  /** IoU(m, m_r): how far the deleted data moved the original mask. */
  iouGoldBase: number;
  /** (IoU(m_final, m_r) − IoU(m, m_r)) / (1 − IoU(m, m_r)); NaN when m already equals m_r (nothing to recover). */
  recovery: number;
  /** Weights kept in exactly one of m_final and m_r. */
  hammingGold: number;
  perLayerIouGold: Record<string, number>;
  /** Sparsity of m_final. */
  sparsity: number;
  /** Structured masks: IoU(m_final, m_r) and IoU(m, m_r) at filter granularity (pruned layers only); else null. */
  iouGoldFilters: number | null;
  iouGoldBaseFilters: number | null;
}

export function compareToGold(final: Mask, original: Mask, gold: Mask, filterLevel = false): MaskComparison {
  const iouGold = maskIoU(final, gold);
  const iouGoldBase = maskIoU(original, gold);
  return {
    iouGoldFilters: filterLevel ? filterIoU(final, gold) : null,
    iouGoldBaseFilters: filterLevel ? filterIoU(original, gold) : null,
    iouGold,
    iouGoldBase,
    recovery: iouGoldBase === 1 ? NaN : (iouGold - iouGoldBase) / (1 - iouGoldBase),
    hammingGold: hammingDistance(final, gold),
    perLayerIouGold: perLayerIoU(final, gold),
    sparsity: maskSparsity(final),
  };
}
