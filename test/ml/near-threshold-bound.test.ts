// The conditional bound of re-pruning, checked where its premise is known: if every estimated score is within ε of
// the true one, the re-pruned mask and the exact one differ in at most nearThresholdCount(ŝ, m_u, ε) weights —
// per layer and with one global threshold. Property-tested over random scores, perturbations, budgets and ties.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Mask } from '../../ml/mask.js';
import { hammingDistance } from '../../ml/metrics/masks.js';
import { topK } from '../../ml/prune/mask-ops.js';
import { nearThresholdCount } from '../../ml/unprune/reprune.js';

const layerCase = fc.record({
  scores: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 40 }),
  keepFraction: fc.double({ min: 0.05, max: 1, noNaN: true }),
});

const cases = fc.record({
  layers: fc.array(layerCase, { minLength: 1, maxLength: 4 }),
  epsilon: fc.double({ min: 0, max: 3, noNaN: true }),
  noiseSeed: fc.integer({ min: 1, max: 2 ** 30 }),
  scope: fc.constantFrom('layer' as const, 'global' as const),
});

/** Perturbs every score by at most ε (deterministic from a seed), so the premise holds. */
function perturb(s: number[], epsilon: number, seed: number): Float32Array {
  let x = seed;
  return Float32Array.from(s, (v) => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return v + epsilon * (2 * (x / 2 ** 31) - 1);
  });
}

/** Top-k per layer (k = the layer's budget) or over all layers at once (k = the total budget). */
function reprune(scores: Float32Array[], ks: number[], scope: 'layer' | 'global'): Mask {
  if (scope === 'layer')
    return { layers: scores.map((s, i) => ({ name: `l${i}`, shape: [s.length], keep: topK(s, ks[i]!) })) };
  const all = new Float32Array(scores.reduce((n, s) => n + s.length, 0));
  let off = 0;
  for (const s of scores) all.set(s, (off += s.length) - s.length);
  const keep = topK(
    all,
    ks.reduce((a, b) => a + b, 0),
  );
  off = 0;
  return {
    layers: scores.map((s, i) => ({ name: `l${i}`, shape: [s.length], keep: keep.slice(off, (off += s.length)) })),
  };
}

test('|m_u Δ m_r| ≤ nearThresholdCount(ŝ, m_u, ε) whenever every score is within ε (layer and global scope)', () => {
  fc.assert(
    fc.property(cases, ({ layers, epsilon, noiseSeed, scope }) => {
      const truth = layers.map((l) => Float32Array.from(l.scores));
      const estimate = layers.map((l, i) => perturb(l.scores, epsilon, noiseSeed + i));
      const ks = layers.map((l) => Math.max(1, Math.round(l.keepFraction * l.scores.length)));
      const mr = reprune(truth, ks, scope);
      const mu = reprune(estimate, ks, scope);
      const named = Object.fromEntries(estimate.map((s, i) => [`l${i}`, s]));
      assert.ok(hammingDistance(mu, mr) <= nearThresholdCount(named, mu, epsilon, scope));
    }),
    { numRuns: 500, seed: 7 },
  );
});

test('with ε = 0 the two masks agree wherever no score ties the threshold', () => {
  const s = Float32Array.from([5, 1, 4, 2, 3]);
  const mu: Mask = { layers: [{ name: 'w', shape: [5], keep: topK(s, 2) }] };
  assert.equal(nearThresholdCount({ w: s }, mu, 0), 1, 'only the threshold weight itself');
  assert.equal(nearThresholdCount({ w: s }, mu, 0.5), 3, 'ε = 0.5: 5, 4 and 3 lie within 2ε = 1 of τ = 4');
});
