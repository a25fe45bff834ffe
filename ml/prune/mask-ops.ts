// Building masks from scores and applying them to weights.
import type { Mask } from '../metrics/masks.js';
import { sizeOf, type ArchDefinition, type ParamInfo, type Weights } from '../models/network.js';

export function prunableParams(def: ArchDefinition): ParamInfo[] {
  return def.params.filter((p) => p.prunable);
}

/** A mask that keeps every prunable weight. */
export function fullMask(def: ArchDefinition): Mask {
  return {
    layers: prunableParams(def).map((p) => ({
      name: p.name,
      shape: [...p.shape],
      keep: new Uint8Array(sizeOf(p.shape)).fill(1),
    })),
  };
}

/** Weights with every pruned entry set to exactly zero (a copy; non-masked parameters are shared). */
export function applyMask(weights: Weights, mask: Mask): Weights {
  const out: Weights = { ...weights };
  for (const l of mask.layers) {
    const w = weights[l.name];
    if (!w) throw new Error(`mask layer ${l.name} has no weights`);
    const m = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) m[i] = l.keep[i] ? w[i]! : 0;
    out[l.name] = m;
  }
  return out;
}

/** Number of weights to keep out of n at a given sparsity (rounded to the nearest whole weight). */
export function keepCount(n: number, sparsity: number): number {
  return Math.max(0, Math.min(n, n - Math.round(sparsity * n)));
}

/**
 * Indices of the k largest scores; ties broken by lower index, so the choice is deterministic. Entries whose
 * `eligible` flag is 0 are never chosen (they count as already pruned).
 */
export function topK(scores: Float32Array, k: number, eligible?: Uint8Array): Uint8Array {
  const n = scores.length;
  const keep = new Uint8Array(n);
  if (k <= 0) return keep;
  const pool: number[] = [];
  const vals = new Float32Array(eligible ? countOnes(eligible) : n);
  let j = 0;
  for (let i = 0; i < n; i++) if (!eligible || eligible[i]) vals[j++] = scores[i]!;
  if (k >= vals.length) {
    for (let i = 0; i < n; i++) keep[i] = !eligible || eligible[i] ? 1 : 0;
    return keep;
  }
  vals.sort();
  const threshold = vals[vals.length - k]!;
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if (eligible && !eligible[i]) continue;
    if (scores[i]! > threshold) {
      keep[i] = 1;
      kept++;
    } else if (scores[i] === threshold) pool.push(i);
  }
  for (let t = 0; t < pool.length && kept < k; t++, kept++) keep[pool[t]!] = 1;
  return keep;
}

function countOnes(a: Uint8Array): number {
  let c = 0;
  for (let i = 0; i < a.length; i++) c += a[i]!;
  return c;
}

/**
 * Keeps the top-scoring weights, either per layer (each layer keeps keepFraction of its weights) or globally
 * (the whole network keeps keepFraction). Restricted to `within` when given (weights pruned there stay pruned).
 */
export function maskFromScores(
  def: ArchDefinition,
  scores: Weights,
  sparsity: number,
  scope: 'layer' | 'global',
  within?: Mask,
): Mask {
  const params = prunableParams(def);
  if (scope === 'layer') {
    return {
      layers: params.map((p, i) => {
        const s = scores[p.name]!;
        return {
          name: p.name,
          shape: [...p.shape],
          keep: topK(s, keepCount(s.length, sparsity), within?.layers[i]!.keep),
        };
      }),
    };
  }
  const total = params.reduce((a, p) => a + sizeOf(p.shape), 0);
  const all = new Float32Array(total);
  const eligible = within ? new Uint8Array(total) : undefined;
  let off = 0;
  params.forEach((p, i) => {
    all.set(scores[p.name]!, off);
    if (eligible) eligible.set(within!.layers[i]!.keep, off);
    off += sizeOf(p.shape);
  });
  const keep = topK(all, keepCount(total, sparsity), eligible);
  off = 0;
  return {
    layers: params.map((p) => {
      const n = sizeOf(p.shape);
      const l = { name: p.name, shape: [...p.shape], keep: keep.slice(off, off + n) };
      off += n;
      return l;
    }),
  };
}

export function absWeights(def: ArchDefinition, weights: Weights): Weights {
  const out: Weights = {};
  for (const p of prunableParams(def)) out[p.name] = weights[p.name]!.map(Math.abs);
  return out;
}
