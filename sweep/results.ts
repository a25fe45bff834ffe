// Result rows (one per cell: every axis, every metric, the gold and pre-unlearning references, the resolved config),
// aggregation across seeds (mean ± std), and the text formats: terminal table, CSV, JSON, Markdown.
import Table from 'cli-table3';
import type { Cell, Plan } from './plan.js';
import { deletionInstances, type Sweep } from './spec.js';

/** What an `evaluate` stage writes for one model. Percentages for ua/ra/ta/mia, fractions for masks. */
export interface EvaluationMetrics {
  ua: number;
  ra: number;
  ta: number;
  mia_efficacy: number;
  mia: Record<string, number>;
  iou_gold: number;
  iou_gold_base: number;
  recovery: number;
  hamming_gold: number;
  per_layer_iou_gold: Record<string, number>;
  final_sparsity: number;
  rte_s: number;
  unprune_s: number;
  epsilon: number;
  near_threshold: number;
}

export const AXES = [
  'dataset',
  'arch',
  'seed',
  'prune',
  'sparsity',
  'deletion',
  'deletion_size',
  'unlearn',
  'unprune',
] as const;

/** Numeric columns in order; gaps are the cell's value minus the gold model's. */
export const METRICS = [
  'ua',
  'ra',
  'ta',
  'mia_efficacy',
  'iou_gold',
  'iou_gold_base',
  'recovery',
  'hamming_gold',
  'final_sparsity',
  'rte_s',
  'unprune_s',
  'ua_gap',
  'ra_gap',
  'ta_gap',
  'mia_gap',
  'gold_ua',
  'gold_ra',
  'gold_ta',
  'gold_mia',
  'orig_ua',
  'orig_mia',
  'epsilon',
  'near_threshold',
] as const;
export type MetricName = (typeof METRICS)[number];

/** Columns that measure wall time: they differ between runs of the same cell. */
export const TIMING_COLUMNS: readonly string[] = ['rte_s', 'unprune_s'];

export type ResultRow = Cell['axes'] &
  Record<MetricName, number | null> & {
    /** mia_<feature> for every attacked feature. */
    [extra: `mia_${string}`]: number | null;
  } & {
    per_layer_iou_gold: Record<string, number>;
    config: Record<string, unknown>;
    evaluate_key: string;
  };

const num = (v: number) => (Number.isFinite(v) ? v : null);

/** The resolved configuration a cell ran with (so a row stands on its own). */
function cellConfig(sweep: Sweep, cell: Cell): Record<string, unknown> {
  const a = cell.axes;
  const dataset = sweep.dataset.find((d) => d.name === a.dataset);
  const prune = sweep.prune.find((p) => p.method === a.prune && p.sparsity.includes(a.sparsity));
  const deletion = sweep.deletion.find((d) =>
    deletionInstances(d).some(
      (i) => i.size === a.deletion_size && (i.kind === 'random' ? 'random' : `class:${i.classes}`) === a.deletion,
    ),
  );
  return {
    dataset,
    model: { arch: a.arch },
    train: sweep.train,
    seed: a.seed,
    prune: prune ? { ...prune, sparsity: a.sparsity } : undefined,
    deletion: deletion ? { kind: deletion.kind, size: a.deletion_size, classes: deletion.classes } : undefined,
    unlearn: sweep.unlearn.find((u) => (u.name ?? u.method) === a.unlearn),
    unprune: sweep.unprune.find((u) => (u.name ?? u.variant) === a.unprune),
    evaluate: sweep.evaluate,
  };
}

/** Rows for every cell whose metrics (its own, its gold's and its original model's) are all available. */
export function buildRows(
  plan: Plan,
  metricsOf: (evaluateKey: string) => EvaluationMetrics | undefined,
): { rows: ResultRow[]; missing: number } {
  const rows: ResultRow[] = [];
  let missing = 0;
  for (const cell of plan.cells) {
    const m = metricsOf(cell.evaluate);
    const g = metricsOf(cell.goldEvaluate);
    const o = metricsOf(cell.originalEvaluate);
    if (!m || !g || !o) {
      missing++;
      continue;
    }
    const row = {
      ...cell.axes,
      ua: m.ua,
      ra: m.ra,
      ta: m.ta,
      mia_efficacy: m.mia_efficacy,
      iou_gold: m.iou_gold,
      iou_gold_base: m.iou_gold_base,
      recovery: num(m.recovery),
      hamming_gold: m.hamming_gold,
      final_sparsity: m.final_sparsity,
      rte_s: m.rte_s,
      unprune_s: m.unprune_s,
      ua_gap: m.ua - g.ua,
      ra_gap: m.ra - g.ra,
      ta_gap: m.ta - g.ta,
      mia_gap: m.mia_efficacy - g.mia_efficacy,
      gold_ua: g.ua,
      gold_ra: g.ra,
      gold_ta: g.ta,
      gold_mia: g.mia_efficacy,
      orig_ua: o.ua,
      orig_mia: o.mia_efficacy,
      epsilon: m.epsilon,
      near_threshold: m.near_threshold,
      ...Object.fromEntries(Object.entries(m.mia).map(([f, v]) => [`mia_${f}`, v])),
      per_layer_iou_gold: m.per_layer_iou_gold,
      config: cellConfig(plan.sweep, cell),
      evaluate_key: cell.evaluate,
    } as ResultRow;
    rows.push(row);
  }
  return { rows, missing };
}

export function rowsToJsonl(rows: ResultRow[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}

export function rowsFromJsonl(text: string): ResultRow[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as ResultRow);
}

export interface Stat {
  mean: number | null;
  std: number | null;
  n: number;
}

export interface AggregateRow {
  axes: Omit<Cell['axes'], 'seed'>;
  seeds: number[];
  stats: Record<string, Stat>;
}

/** Mean and sample standard deviation (n − 1; 0 for one value) of the finite values. */
export function meanStd(values: (number | null | undefined)[]): Stat {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (v.length === 0) return { mean: null, std: null, n: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = v.length > 1 ? Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, std, n: v.length };
}

/** Numeric columns of a set of rows: the fixed metrics, then mia_<feature> extras. */
export function metricColumns(rows: ResultRow[]): string[] {
  const extra = new Set<string>();
  for (const r of rows)
    for (const k of Object.keys(r))
      if (k.startsWith('mia_') && !(METRICS as readonly string[]).includes(k)) extra.add(k);
  return [...METRICS, ...[...extra].sort()];
}

/** Groups rows that differ only in seed, in first-appearance order. */
export function aggregate(rows: ResultRow[]): AggregateRow[] {
  const groups = new Map<string, ResultRow[]>();
  for (const r of rows) {
    const id = JSON.stringify(AXES.filter((a) => a !== 'seed').map((a) => r[a]));
    const g = groups.get(id);
    if (g) g.push(r);
    else groups.set(id, [r]);
  }
  const columns = metricColumns(rows);
  return [...groups.values()].map((g) => {
    const first = g[0]!;
    const { seed: _seed, ...axes } = Object.fromEntries(AXES.map((a) => [a, first[a]])) as unknown as Cell['axes'];
    return {
      axes,
      seeds: g.map((r) => r.seed),
      stats: Object.fromEntries(columns.map((c) => [c, meanStd(g.map((r) => r[c as MetricName]))])),
    };
  });
}

const fmt = (s: Stat | undefined, digits: number) =>
  !s || s.mean === null
    ? '–'
    : s.n > 1
      ? `${s.mean.toFixed(digits)} ± ${s.std!.toFixed(digits)}`
      : s.mean.toFixed(digits);

/** The columns shown in tables (all columns stay in CSV/JSON). */
const TABLE_METRICS: [string, string, number][] = [
  ['ua', 'UA', 1],
  ['ra', 'RA', 1],
  ['ta', 'TA', 1],
  ['mia_efficacy', 'MIA', 1],
  ['iou_gold', 'IoU(m_f,m_r)', 3],
  ['iou_gold_base', 'IoU(m,m_r)', 3],
  ['recovery', 'recovery', 2],
  ['rte_s', 'RTE s', 2],
];
const TABLE_AXES: [keyof AggregateRow['axes'], string][] = [
  ['dataset', 'dataset'],
  ['arch', 'arch'],
  ['prune', 'prune'],
  ['sparsity', 'sparsity'],
  ['deletion', 'deletion'],
  ['deletion_size', 'size'],
  ['unlearn', 'unlearn'],
  ['unprune', 'unprune'],
];

function tableCells(agg: AggregateRow[]): { head: string[]; body: string[][] } {
  // Axes that never vary are shown once in the title, not in every row.
  const varying = TABLE_AXES.filter(
    ([a]) => new Set(agg.map((r) => r.axes[a])).size > 1 || a === 'unlearn' || a === 'unprune',
  );
  return {
    head: [...varying.map(([, h]) => h), 'seeds', ...TABLE_METRICS.map(([, h]) => h)],
    body: agg.map((r) => [
      ...varying.map(([a]) => String(r.axes[a])),
      String(r.seeds.length),
      ...TABLE_METRICS.map(([c, , d]) => fmt(r.stats[c], d)),
    ]),
  };
}

function fixedAxes(agg: AggregateRow[]): string {
  const fixed = TABLE_AXES.filter(
    ([a]) => new Set(agg.map((r) => r.axes[a])).size === 1 && a !== 'unlearn' && a !== 'unprune',
  );
  return fixed.map(([a, h]) => `${h} ${agg[0]!.axes[a]}`).join(', ');
}

export function formatTable(rows: ResultRow[], title = 'results'): string {
  const agg = aggregate(rows);
  if (agg.length === 0) return `${title}: no complete cells yet\n`;
  const { head, body } = tableCells(agg);
  const t = new Table({ head, style: { head: [], border: [], compact: true } });
  for (const b of body) t.push(b);
  const fixed = fixedAxes(agg);
  return `${title} (${rows.length} cells, mean ± std over seeds${fixed ? `; ${fixed}` : ''})\n${t.toString()}\n`;
}

export function formatMarkdown(rows: ResultRow[], title = 'results'): string {
  const agg = aggregate(rows);
  if (agg.length === 0) return `# ${title}\n\nNo complete cells yet.\n`;
  const { head, body } = tableCells(agg);
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const fixed = fixedAxes(agg);
  return [
    `# ${title}`,
    '',
    `${rows.length} cells; mean ± std over seeds${fixed ? `; ${fixed}` : ''}.`,
    '',
    `| ${head.map(esc).join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...body.map((b) => `| ${b.map(esc).join(' | ')} |`),
    '',
  ].join('\n');
}

/** Per-cell rows as CSV; the header names every axis and metric column. */
export function formatCsv(rows: ResultRow[]): string {
  const columns = [...AXES, ...metricColumns(rows)];
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return '';
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return (
    [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c as keyof ResultRow])).join(','))].join('\n') +
    '\n'
  );
}

export function formatJson(rows: ResultRow[], sweepId: string): string {
  return JSON.stringify({ sweep: sweepId, rows, aggregate: aggregate(rows) }, null, 2) + '\n';
}

/** Metric stability over deletion size: per metric, the mean over series of mean |Δ| between neighbouring sizes ÷ the series' range. */
export interface StabilityRow {
  metric: string;
  roughness: number | null;
  /** A monotone curve over k sizes scores 1/(k−1); higher means jumps back and forth. */
  monotoneBaseline: number | null;
  series: number;
}

export function metricStability(rows: ResultRow[], metrics: string[]): StabilityRow[] {
  // series (every axis but seed and size) → seed-averaged value per deletion size, for one metric
  const curves = (metric: string) => {
    const series = new Map<string, Map<number, number[]>>();
    for (const r of rows) {
      const v = r[metric as MetricName];
      if (r.deletion !== 'random' || typeof v !== 'number' || !Number.isFinite(v)) continue;
      const id = JSON.stringify([r.dataset, r.arch, r.prune, r.sparsity, r.unlearn, r.unprune]);
      const bySize = series.get(id) ?? new Map<number, number[]>();
      series.set(id, bySize);
      bySize.set(r.deletion_size, [...(bySize.get(r.deletion_size) ?? []), v]);
    }
    return [...series.values()].map((bySize) =>
      [...bySize.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v.reduce((a, b) => a + b, 0) / v.length),
    );
  };
  return metrics.map((metric) => {
    const scores: number[] = [];
    let sizes = 0;
    for (const ys of curves(metric)) {
      if (ys.length < 3) continue;
      sizes = Math.max(sizes, ys.length);
      const range = Math.max(...ys) - Math.min(...ys);
      const meanDelta = ys.slice(1).reduce((acc, y, i) => acc + Math.abs(y - ys[i]!), 0) / (ys.length - 1);
      scores.push(range > 0 ? meanDelta / range : 0);
    }
    return {
      metric,
      roughness: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null,
      monotoneBaseline: sizes >= 3 ? 1 / (sizes - 1) : null,
      series: scores.length,
    };
  });
}
