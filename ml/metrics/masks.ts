// The metrics that compare masks (IoU, Hamming distance, per-layer IoU, sparsity, filter-level IoU for structured
// masks). The Mask type itself lives in ../mask.ts.
import { countKept, flagsInWord, maskSize, type Mask } from '../mask.js';

/** Fraction of masked weights that are pruned. */
export function maskSparsity(mask: Mask): number {
  const total = maskSize(mask);
  return total === 0 ? 0 : 1 - countKept(mask) / total;
}

export function layerSparsity(mask: Mask): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of mask.layers) {
    let kept = 0;
    for (let i = 0; i < l.keep.length; i++) kept += l.keep[i]!;
    out[l.name] = l.keep.length === 0 ? 0 : 1 - kept / l.keep.length;
  }
  return out;
}

export function assertSameLayout(a: Mask, b: Mask): void {
  if (a.layers.length !== b.layers.length) {
    throw new Error(`masks have different layer counts (${a.layers.length} vs ${b.layers.length})`);
  }
  a.layers.forEach((l, i) => {
    const m = b.layers[i]!;
    if (l.name !== m.name || l.keep.length !== m.keep.length) {
      throw new Error(`mask layer ${i} differs: ${l.name}[${l.keep.length}] vs ${m.name}[${m.keep.length}]`);
    }
  });
}

/** Counts over 0/1 flags, four a word where both arrays are 4-byte aligned (every evaluation compares several
 *  masks of the model's weights). */
function intersectionUnion(a: Uint8Array, b: Uint8Array): [number, number] {
  let inter = 0;
  let union = 0;
  let i = 0;
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const words = a.length >>> 2;
    const wa = new Int32Array(a.buffer, a.byteOffset, words);
    const wb = new Int32Array(b.buffer, b.byteOffset, words);
    for (let w = 0; w < words; w++) {
      const x = wa[w]!;
      const y = wb[w]!;
      inter += flagsInWord(x & y);
      union += flagsInWord(x | y);
    }
    i = words * 4;
  }
  for (; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    inter += x & y;
    union += x | y;
  }
  return [inter, union];
}

/** |a ∧ b| / |a ∨ b| over kept weights of all layers; two empty masks have IoU 1. */
export function maskIoU(a: Mask, b: Mask): number {
  assertSameLayout(a, b);
  let inter = 0;
  let union = 0;
  a.layers.forEach((l, i) => {
    const [x, y] = intersectionUnion(l.keep, b.layers[i]!.keep);
    inter += x;
    union += y;
  });
  return union === 0 ? 1 : inter / union;
}

export function perLayerIoU(a: Mask, b: Mask): Record<string, number> {
  assertSameLayout(a, b);
  const out: Record<string, number> = {};
  a.layers.forEach((l, i) => {
    const [inter, union] = intersectionUnion(l.keep, b.layers[i]!.keep);
    out[l.name] = union === 0 ? 1 : inter / union;
  });
  return out;
}

/** Number of weights kept in one mask and pruned in the other. */
export function hammingDistance(a: Mask, b: Mask): number {
  assertSameLayout(a, b);
  let d = 0;
  a.layers.forEach((l, i) => {
    const [inter, union] = intersectionUnion(l.keep, b.layers[i]!.keep);
    d += union - inter;
  });
  return d;
}

/**
 * Filter/neuron granularity: a filter is an output channel, i.e. an index of the last axis (conv [kh, kw, cin, cout],
 * dense [in, out]); it is kept if any of its weights is kept.
 */
export function filterMask(mask: Mask): Mask {
  return {
    layers: mask.layers.map((l) => {
      const units = l.shape[l.shape.length - 1]!;
      const keep = new Uint8Array(units);
      for (let i = 0; i < l.keep.length; i++) if (l.keep[i]) keep[i % units] = 1;
      return { name: l.name, shape: [units], keep };
    }),
  };
}

/**
 * IoU at filter granularity over the layers either mask prunes: a layer whose filters both masks keep entirely
 * (a classifier structured pruning leaves alone) would only inflate the figure. 1 when no layer is pruned.
 */
export function filterIoU(a: Mask, b: Mask): number {
  assertSameLayout(a, b);
  const fa = filterMask(a);
  const fb = filterMask(b);
  const pruned = (l: { keep: Uint8Array }) => l.keep.some((k) => k === 0);
  const keepLayers = fa.layers.map((l, i) => pruned(l) || pruned(fb.layers[i]!));
  const only = (m: Mask): Mask => ({ layers: m.layers.filter((_, i) => keepLayers[i]) });
  return keepLayers.some(Boolean) ? maskIoU(only(fa), only(fb)) : 1;
}
