import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resultView, statOf } from '../../sweep/results/result-view.js';
import { metricStability } from '../../sweep/results/metric-stability.js';
import { formatCsv, formatJson, formatLatex, formatMarkdown, formatTable } from '../../sweep/results/result-formats.js';
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
    orig_ra: 95,
    orig_ta: 90,
    orig_mia: 10,
    weight_change: 0.05,
    estimator_shift: null,
    near_threshold_at_estimator_shift: null,
    mia_confidence: 20,
    per_layer_iou_gold: {},
    config: {},
    evaluate_key: `evaluate-${seed}-${size}`,
    ...over,
  } as ResultRow;
}

test('statistics over seeds: hand-computed mean, sample std and t-interval; one value has no interval', () => {
  const s = statOf([2, 4, 4, 4, 5, 5, 7, 9]);
  assert.equal(s.mean, 5);
  assert.ok(Math.abs(s.std! - Math.sqrt(32 / 7)) < 1e-12);
  // t(0.975, 7) = 2.364624 (tables): half-width 2.364624 · √(32/7) / √8 = 1.78745.
  assert.ok(Math.abs(s.high! - 5 - 1.78745) < 1e-4, String(s.high));
  assert.deepEqual(statOf([3]), { mean: 3, std: 0, low: null, high: null, n: 1 });
  assert.deepEqual(statOf([null, NaN]), { mean: null, std: null, low: null, high: null, n: 0 });
});

test('the result view: seeds grouped, gold and original rows per group, gaps, 95% intervals, every format', async () => {
  const rows = [row(0, 0.01), row(1, 0.01), row(2, 0.01), row(0, 0.05)];
  const view = resultView(rows);
  assert.deepEqual(
    view.rows.map((r) => `${r.kind} ${r.axes.deletion_size}`),
    ['gold 0.01', 'original 0.01', 'cell 0.01', 'gold 0.05', 'original 0.05', 'cell 0.05'],
  );
  const [gold, original, cell] = view.rows;
  assert.deepEqual(cell!.seeds, [0, 1, 2]);
  assert.equal(cell!.stats.ua!.mean, 11);
  assert.equal(cell!.stats.ua!.std, 1);
  // t(0.975, 2) = 4.302653: 11 ± 4.302653 / √3 = 11 ± 2.484.
  assert.ok(Math.abs(cell!.stats.ua!.high! - 11 - 2.48414) < 1e-4);
  assert.equal(gold!.stats.ua!.mean, 10);
  assert.equal(gold!.stats.ua_gap!.mean, 0);
  assert.equal(original!.stats.ua!.mean, 5);
  assert.equal(original!.stats.ua_gap!.mean, -5);
  // The original model's mean absolute gap: |5−10|, |95−90|, |90−88|, |10−20| → 22 / 4.
  assert.equal(original!.stats.mean_abs_gap!.mean, 5.5);
  assert.equal(original!.stats.iou_gold!.mean, 0.9, 'the original row reads IoU(m, m_r)');
  const table = formatTable(rows);
  assert.match(table, /11\.0 ± 2\.5/);
  assert.match(table, /mean ± 95% CI half-width over seeds/);
  assert.match(table, /gold/);
  assert.match(table, /ΔUA/);
  assert.match(table, /avg\|Δ\|/);
  assert.match(formatMarkdown(rows), /\| 11\.0 ± 2\.5 \|/);
  const latex = formatLatex(rows);
  assert.match(latex, /\\toprule/);
  assert.match(latex, /11\.0 \$\\pm\$ 2\.5/);
  assert.match(latex, /\$\\Delta\$UA/);
  const csv = formatCsv(rows).split('\n');
  const header = csv[0]!.split(',');
  for (const c of [...AXES, ...METRIC_NAMES, 'mia_confidence']) assert.ok(header.includes(c), c);
  assert.equal(csv.length, rows.length + 2);
  const averaged = formatCsv(rows, { aggregate: true }).trim().split('\n');
  assert.equal(averaged.length, 1 + 6, 'a header and one line per table row');
  assert.ok(averaged[0]!.split(',').includes('ua_ci_high'));
  const json = JSON.parse(formatJson(rows, 's')) as { rows: unknown[]; aggregate: unknown[] };
  assert.equal(json.rows.length, 4);
  assert.equal(json.aggregate.length, 6);
  const html = await htmlReport(rows, {
    sweepId: 's',
    name: 'a sweep',
    description: 'what it is for',
    version: '0.1.0',
    date: '2026-12-01',
    backends: ['blas'],
    command: 'unprune results s --format html',
  });
  assert.match(html, /<svg/);
  assert.match(html, /what it is for/);
  assert.match(html, /unprune results s --format html/);
  assert.match(html, /<th class="axis">size<\/th>/, 'readable headers');
  assert.ok(!/<script/.test(html), 'self-contained, no scripts');
});

test('the result view: rows in the spec order, not the plan order; --metrics and --group-by; no-ops flagged', () => {
  const rows = [
    row(0, 0.05, { prune: 'imp' }),
    row(0, 0.01, { prune: 'omp' }),
    row(0, 0.01, { prune: 'imp' }),
    row(0, 0.05, { prune: 'omp', unlearn: 'ga', weight_change: 0 }),
    row(0, 0.05, { prune: 'omp' }),
  ];
  const cells = resultView(rows).rows.filter((r) => r.kind === 'cell');
  assert.deepEqual(
    cells.map((r) => `${r.axes.prune} ${r.axes.deletion_size} ${r.axes.unlearn}`),
    ['imp 0.01 ft', 'imp 0.05 ft', 'omp 0.01 ft', 'omp 0.05 ft', 'omp 0.05 ga'],
  );
  assert.deepEqual(
    cells.map((r) => r.noop),
    [false, false, false, false, true],
  );
  assert.match(formatTable(rows), /ga †/);
  assert.match(formatTable(rows), /† no-op/);
  const picked = resultView(rows, { metrics: ['ua', 'iou_gold'], groupBy: ['prune', 'unlearn'] });
  assert.deepEqual(
    picked.metrics.map((m) => m.name),
    ['ua', 'iou_gold'],
  );
  assert.deepEqual(picked.pooled, ['dataset', 'arch', 'sparsity', 'deletion', 'deletion_size', 'unprune']);
  assert.deepEqual(
    picked.rows.map((r) => `${r.kind} ${r.axes.prune} ${r.axes.unlearn}`),
    [
      'gold imp gold',
      'original imp original',
      'cell imp ft',
      'gold omp gold',
      'original omp original',
      'cell omp ft',
      'cell omp ga',
    ],
  );
  assert.throws(() => resultView(rows, { metrics: ['uaa'] }), /"uaa" is not a metric; known: ua, ra/);
  // The per-feature MIA columns CSV carries can be chosen too.
  const mia = resultView(rows, { metrics: ['mia_confidence'] }).rows.find((r) => r.kind === 'cell')!;
  assert.equal(mia.stats.mia_confidence!.mean, 20);
  assert.throws(() => resultView(rows, { metrics: ['iou_glod'] }), /\(did you mean "iou_gold"\?\)/);
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
