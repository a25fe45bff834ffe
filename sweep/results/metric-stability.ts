// Metric stability over deletion size: how rough each metric's curve is (the paper's MIA finding, measured).
import type { MetricName } from './result-metrics.js';
import type { ResultRow } from './result-rows.js';
import { meanInterval } from './statistics.js';

/** Metric stability over deletion size: per metric, the mean over series of mean |Δ| between neighbouring sizes ÷ the series' range. */
export interface StabilityRow {
  metric: string;
  roughness: number | null;
  /** The 95% t-interval of the mean roughness over the curves (null below two curves). */
  low: number | null;
  high: number | null;
  /** A monotone curve over k sizes scores 1/(k−1); higher means jumps back and forth. */
  monotoneBaseline: number | null;
  series: number;
}

export function metricStability(rows: ResultRow[], metrics: readonly string[]): StabilityRow[] {
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
    const ci = scores.length ? meanInterval(scores) : undefined;
    return {
      metric,
      roughness: ci ? ci.mean : null,
      low: ci?.low ?? null,
      high: ci?.high ?? null,
      monotoneBaseline: sizes >= 3 ? 1 / (sizes - 1) : null,
      series: scores.length,
    };
  });
}
