// Sparse-model metrics against the gold standard's mask m_r: how close the final mask m_final (m_u after
// un-pruning, m without) comes to m_r, relative to where the original mask m started.
import type { Mask } from '../mask.js';
import { hammingDistance, maskIoU, maskSparsity, perLayerIoU } from './masks.js';

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
}

export function compareToGold(final: Mask, original: Mask, gold: Mask): MaskComparison {
  const iouGold = maskIoU(final, gold);
  const iouGoldBase = maskIoU(original, gold);
  return {
    iouGold,
    iouGoldBase,
    recovery: iouGoldBase === 1 ? NaN : (iouGold - iouGoldBase) / (1 - iouGoldBase),
    hammingGold: hammingDistance(final, gold),
    perLayerIouGold: perLayerIoU(final, gold),
    sparsity: maskSparsity(final),
  };
}
