// Intervals and paired tests over seeds against SciPy (test/fixtures/ttest-reference.py, its output committed
// beside it), and the deletion-vs-noise grouping on hand-made rows.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { deletionVsNoise } from '../../sweep/results/deletion-vs-noise.js';
import type { ResultRow } from '../../sweep/results/result-rows.js';
import { meanInterval, pairedTest } from '../../sweep/results/statistics.js';

const cases = JSON.parse(readFileSync(new URL('../fixtures/ttest-reference.json', import.meta.url), 'utf8')) as {
  a: number[];
  b: number[];
  t: number;
  p: number;
  low: number;
  high: number;
}[];

test('paired one-sided t-test and 95% interval of the difference equal SciPy (ttest_rel, t.interval)', () => {
  for (const c of cases) {
    const r = pairedTest(c.a, c.b);
    const close = (x: number | null, y: number, what: string) =>
      assert.ok(x !== null && Math.abs(x - y) < 1e-9 * Math.max(1, Math.abs(y)), `${what}: ${x} vs ${y}`);
    close(r.t, c.t, 't');
    close(r.p, c.p, 'p');
    close(r.low, c.low, 'low');
    close(r.high, c.high, 'high');
  }
  assert.deepEqual(meanInterval([0.4]), { mean: 0.4, low: null, high: null, n: 1 }, 'one seed: no interval');
  assert.equal(pairedTest([0.3], [0.1]).p, null);
});

test('deletion vs noise: one pair per seed, whatever the number of cells sharing it', () => {
  const row = (seed: number, unlearn: string, deletion: number, noise: number) =>
    ({
      dataset: 'mnist',
      arch: 'mlp',
      prune: 'omp',
      sparsity: 0.8,
      deletion: 'random',
      deletion_size: 0.1,
      seed,
      unlearn,
      unprune: 'none',
      deletion_effect: deletion,
      noise_effect: noise,
    }) as unknown as ResultRow;
  const rows = [
    row(0, 'ft', 0.12, 0.05),
    row(0, 'ga', 0.12, 0.05),
    row(1, 'ft', 0.1, 0.07),
    row(1, 'ga', 0.1, 0.07),
    row(2, 'ft', 0.15, 0.04),
  ];
  const [t] = deletionVsNoise(rows);
  assert.equal(t!.seeds, 3);
  const ref = cases[0]!;
  assert.ok(Math.abs(t!.difference.p! - ref.p) < 1e-9);
  assert.ok(Math.abs(t!.deletionEffect - (0.12 + 0.1 + 0.15) / 3) < 1e-12);
});

test('--compare pairs cells by seed within groups of the other axes; identical pairs have no p-value', async () => {
  const { compareRows, parseComparison } = await import('../../sweep/results/compare.js');
  const row = (seed: number, unprune: string, ua: number, iou: number) =>
    ({
      dataset: 'mnist',
      arch: 'mlp',
      prune: 'omp',
      sparsity: 0.8,
      deletion: 'random',
      deletion_size: 0.1,
      seed,
      unlearn: 'ft',
      unprune,
      ua,
      iou_gold: iou,
    }) as unknown as ResultRow;
  const ref = cases[0]!; // a = [0.12, 0.10, 0.15], b = [0.05, 0.07, 0.04]: here b − a is the negated difference
  const rows = [0, 1, 2].flatMap((s) => [row(s, 'none', ref.b[s]!, 0.9), row(s, 'reprune', ref.a[s]!, 0.9)]);
  const { axis, a, b } = parseComparison('unprune=none,reprune');
  const comps = compareRows(rows, axis, a, b);
  const ua = comps.find((c) => c.metric === 'ua')!;
  assert.equal(ua.seeds, 3);
  assert.ok(Math.abs(ua.p! - 2 * ref.p) < 1e-9, `two-sided p ${ua.p} vs 2 × ${ref.p}`);
  assert.ok(Math.abs(ua.difference.low! - ref.low) < 1e-9);
  assert.equal(comps.find((c) => c.metric === 'iou_gold')!.p, null, 'no spread, no test');
  assert.throws(() => parseComparison('seed=0,1'), /AXIS one of dataset/);
});
