// `regrow`: the paper's un-pruning algorithm as its ICLR 2026 reviewers describe it (its text is not public;
// docs/paper-notes.md) — iterated *grow → unlearn → re-prune*. Each round regrows the fraction p of the currently pruned
// weights whose stored magnitudes are largest (stored: their values when they were last pruned, the dense weights
// at first), re-initialises them (to their values at θ_0, "original", or to a fresh draw of the same initialiser,
// "random"), runs the cell's unlearning algorithm on the denser model, and re-prunes by magnitude (structured: by
// filter norm, whole filters) back to m's budget, layer by layer (or at the global budget for global-scope masks).
// Its inner unlearning is part of its cost. Details the reviews leave open are choices made here: the budget per
// layer is m's; the regrown count is ceil(p × pruned), per layer; structured cells regrow whole filters.
import { deriveSeed } from '../data/seeded-random.js';
import { keptCount, type Mask } from '../mask.js';
import { initWeights } from '../models/init-weights.js';
import type { ArchDefinition, Weights } from '../models/network.js';
import { applyMask } from '../prune/mask-ops.js';
import { filterNorms } from '../prune/structured.js';
import type { PruneMethod, RegrowInit } from '../catalog.js';
import type { PruneRequest } from '../prune/prune-network.js';
import { repruneMask } from './reprune.js';

export interface RegrowOptions {
  /** p: the fraction of the currently pruned weights (structured: filters) regrown each round, in (0, 1]. */
  fraction: number;
  rounds: number;
  init: RegrowInit;
}

export interface RegrowInputs {
  def: ArchDefinition;
  /** The pruning the cell's mask came from (its method picks the re-pruning criterion; its scope the budget). */
  prune: Pick<PruneRequest, 'method' | 'sparsity' | 'scope'>;
  mask: Mask;
  /** The sparse model's weights. */
  weights: Weights;
  /** The dense weights pruning scored: the stored magnitudes of the weights it pruned. */
  dense: Weights;
  /** θ_0, the init the model was trained from. */
  init: Weights;
  seed: number;
  /** The cell's unlearning algorithm on a model and its (denser) mask; returns the unlearned weights. */
  unlearn: (weights: Weights, mask: Mask) => Promise<Weights>;
}

/** Per layer: the pruned positions to regrow, ranked by stored magnitude (structured: whole filters by norm). */
function regrowSet(method: PruneMethod, mask: Mask, stored: Weights, fraction: number): Mask {
  return {
    layers: mask.layers.map((layer) => {
      const s = stored[layer.name]!;
      const grow = new Uint8Array(layer.keep.length);
      if (method === 'structured') {
        const units = layer.shape[layer.shape.length - 1]!;
        const kept = new Uint8Array(units);
        for (let i = 0; i < layer.keep.length; i++) if (layer.keep[i]) kept[i % units] = 1;
        const norms = filterNorms(s, units);
        const pruned = [...Array(units).keys()].filter((u) => !kept[u]);
        pruned.sort((a, b) => norms[b]! - norms[a]! || a - b);
        const chosen = new Uint8Array(units);
        for (const u of pruned.slice(0, Math.ceil(fraction * pruned.length))) chosen[u] = 1;
        for (let i = 0; i < grow.length; i++) grow[i] = chosen[i % units]!;
      } else {
        const pruned: number[] = [];
        for (let i = 0; i < layer.keep.length; i++) if (!layer.keep[i]) pruned.push(i);
        pruned.sort((a, b) => Math.abs(s[b]!) - Math.abs(s[a]!) || a - b);
        for (const i of pruned.slice(0, Math.ceil(fraction * pruned.length))) grow[i] = 1;
      }
      return { ...layer, keep: grow };
    }),
  };
}

export interface RegrowResult {
  mask: Mask;
  weights: Weights;
  /** Seconds spent in the inner unlearning runs (the rest of the work is mask arithmetic). */
  unlearnSeconds: number;
}

export async function regrow(inputs: RegrowInputs, opts: RegrowOptions): Promise<RegrowResult> {
  if (!(opts.fraction > 0 && opts.fraction <= 1))
    throw new RangeError(`regrow fraction ${opts.fraction}: not in (0, 1]`);
  // IMP's and OMP's criterion is magnitude; structured's the filter norm (repruneMask applies either).
  const criterion = { ...inputs.prune, method: inputs.prune.method === 'structured' ? 'structured' : 'omp' } as const;
  let mask = inputs.mask;
  let weights = inputs.weights;
  let stored = inputs.dense;
  let unlearnSeconds = 0;
  for (let round = 0; round < opts.rounds; round++) {
    const grow = regrowSet(inputs.prune.method, mask, stored, opts.fraction);
    const fresh =
      opts.init === 'original' ? inputs.init : initWeights(inputs.def, deriveSeed(inputs.seed, `regrow:${round}`));
    const denser: Mask = {
      layers: mask.layers.map((l, li) => ({ ...l, keep: l.keep.map((k, i) => k | grow.layers[li]!.keep[i]!) })),
    };
    const grown: Weights = { ...weights };
    for (const layer of grow.layers) {
      const w = Float32Array.from(weights[layer.name]!);
      const r = fresh[layer.name]!;
      for (let i = 0; i < w.length; i++) if (layer.keep[i]) w[i] = r[i]!;
      grown[layer.name] = w;
    }
    const start = performance.now();
    const unlearned = await inputs.unlearn(grown, denser);
    unlearnSeconds += (performance.now() - start) / 1000;
    // Re-prune to m's budget; what it prunes now is remembered at its current value for the next round's growth.
    stored = unlearned;
    mask = repruneMask(inputs.def, criterion, unlearned, inputs.mask);
    weights = applyMask(unlearned, mask);
  }
  if (
    mask.layers.some((l, i) => keptCount(l.keep) !== keptCount(inputs.mask.layers[i]!.keep)) &&
    inputs.prune.scope !== 'global'
  )
    throw new Error("regrow changed a layer budget (a bug: re-pruning keeps each layer at m's count)");
  return { mask, weights, unlearnSeconds };
}
