// Random pruning: a seeded uniformly random mask with exactly the target sparsity in every layer (a baseline).
import { deriveSeed, SeededRandom } from '../data/seeded-random.js';
import type { Mask } from '../mask.js';
import type { ArchDefinition } from '../models/network.js';
import { maskFromScores, prunableParams } from './mask-ops.js';

export function randomMask(def: ArchDefinition, sparsity: number, seed: number): Mask {
  const rng = new SeededRandom(deriveSeed(seed, 'random-prune'));
  const scores: Record<string, Float32Array> = {};
  for (const p of prunableParams(def)) {
    scores[p.name] = Float32Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => rng.next());
  }
  return maskFromScores(def, scores, sparsity, 'layer');
}
