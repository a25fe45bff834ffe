// Aggregation of rows across seeds: groups of cells that differ only in seed, with mean ± sample std per column.
import type { Cell } from '../plan.js';
import { METRIC_NAMES, type MetricName } from './result-metrics.js';
import { AXES, type ResultRow } from './result-rows.js';

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

/** Numeric columns of a set of rows: the registered metrics, then mia_<feature> extras. */
export function metricColumns(rows: ResultRow[]): string[] {
  const extra = new Set<string>();
  for (const r of rows)
    for (const k of Object.keys(r))
      if (k.startsWith('mia_') && !(METRIC_NAMES as readonly string[]).includes(k)) extra.add(k);
  return [...METRIC_NAMES, ...[...extra].sort()];
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

/** `mean ± std` (or the mean alone for one seed), `–` when there is none. */
export function formatStat(s: Stat | undefined, digits: number): string {
  if (!s || s.mean === null) return '–';
  return s.n > 1 ? `${s.mean.toFixed(digits)} ± ${s.std!.toFixed(digits)}` : s.mean.toFixed(digits);
}
