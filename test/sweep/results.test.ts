import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aggregate, meanStd } from '../../sweep/results/aggregate.js';
import { metricStability } from '../../sweep/results/metric-stability.js';
import { formatCsv, formatJson, formatMarkdown, formatTable } from '../../sweep/results/result-formats.js';
import { METRIC_NAMES } from '../../sweep/results/result-metrics.js';
import { AXES, type ResultRow } from '../../sweep/results/result-rows.js';
import { htmlReport } from '../../sweep/report/html-report.js';

function row(seed: number, size: number, over: Partial<ResultRow> = {}): ResultRow {
  return {
    dataset: 'mnist',
    arch: 'mlp',
    seed,
    prune: 'omp',
    sparsity: 0.8,
    deletion: 'random',
    deletion_size: size,
    unlearn: 'ft',
    unprune: 'none',
    ua: 10 + seed,
    ra: 90,
    ta: 88,
    mia_efficacy: 20,
    iou_gold: 0.9,
    iou_gold_base: 0.9,
    recovery: 0,
    hamming_gold: 10,
    final_sparsity: 0.8,
    rte_s: 1,
    unprune_s: 0,
    ua_gap: 0,
    ra_gap: 0,
    ta_gap: 0,
    mia_gap: 0,
    gold_ua: 10,
    gold_ra: 90,
    gold_ta: 88,
    gold_mia: 20,
    orig_ua: 5,
    orig_mia: 10,
    estimator_shift: null,
    near_threshold_at_estimator_shift: null,
    mia_confidence: 20,
    per_layer_iou_gold: {},
    config: {},
    evaluate_key: `evaluate-${seed}-${size}`,
    ...over,
  } as ResultRow;
}

test('mean ± sample std: hand-computed values; one value has std 0; nulls are ignored', () => {
  const s = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
  assert.equal(s.mean, 5);
  assert.ok(Math.abs(s.std! - Math.sqrt(32 / 7)) < 1e-12);
  assert.deepEqual(meanStd([3]), { mean: 3, std: 0, n: 1 });
  assert.deepEqual(meanStd([null, NaN]), { mean: null, std: null, n: 0 });
});

test('aggregation groups seeds; formats carry every column', async () => {
  const rows = [row(0, 0.01), row(1, 0.01), row(2, 0.01), row(0, 0.05)];
  const agg = aggregate(rows);
  assert.equal(agg.length, 2);
  assert.deepEqual(agg[0]!.seeds, [0, 1, 2]);
  assert.equal(agg[0]!.stats.ua!.mean, 11);
  assert.equal(agg[0]!.stats.ua!.std, 1);
  const csv = formatCsv(rows).split('\n');
  const header = csv[0]!.split(',');
  for (const c of [...AXES, ...METRIC_NAMES, 'mia_confidence']) assert.ok(header.includes(c), c);
  assert.equal(csv.length, rows.length + 2);
  assert.match(formatTable(rows), /11\.0 ± 1\.0/);
  assert.match(formatMarkdown(rows), /\| 11\.0 ± 1\.0 \|/);
  assert.equal(JSON.parse(formatJson(rows, 's')).rows.length, 4);
  const html = await htmlReport(rows, 's');
  assert.match(html, /<svg/);
  assert.ok(!/<script/.test(html), 'self-contained, no scripts');
});

test('metric stability: a monotone curve scores 1/(k−1), a zigzag scores 1, a flat one 0', () => {
  const sizes = [0.01, 0.02, 0.03, 0.04, 0.05];
  const rows = sizes.flatMap((size, i) => [
    row(0, size, { iou_gold: 0.8 + 0.01 * i, mia_efficacy: i % 2 ? 40 : 10, ra: 90 }),
    row(1, size, { iou_gold: 0.8 + 0.01 * i, mia_efficacy: i % 2 ? 40 : 10, ra: 90 }),
  ]);
  const s = Object.fromEntries(metricStability(rows, ['iou_gold', 'mia_efficacy', 'ra']).map((r) => [r.metric, r]));
  assert.ok(Math.abs(s.iou_gold!.roughness! - 0.25) < 1e-9);
  assert.equal(s.mia_efficacy!.roughness, 1);
  assert.equal(s.ra!.roughness, 0);
  assert.equal(s.iou_gold!.monotoneBaseline, 0.25);
});

test('MIA-efficacy carries its binomial standard error over |D_f|', async () => {
  const { RESULT_METRICS } = await import('../../sweep/results/result-metrics.js');
  const se = RESULT_METRICS.find((m) => m.name === 'mia_efficacy_se')!;
  const cell = { mia_efficacy: 50, forget_size: 60 } as never;
  // √(0.5·0.5/60) = 0.06455 → 6.45 points: the "±6 points at 1% deletion" of a 6,000-example training set.
  assert.ok(Math.abs(se.of({ cell, gold: cell, original: cell })! - 100 * Math.sqrt(0.25 / 60)) < 1e-12);
});
