// The recovery–cost frontier: for each pruning setting and deletion, every un-pruning variant's recovery against
// its cost ratio, next to the baseline any useful un-pruning must beat — the gold run itself stopped early (the
// `reprune` variants with the truncated `retrain` estimator: k of E epochs), with none at (0, 0) and the full gold
// pipeline at (1, 1), joined by straight lines, and never below a cheaper point (one can always stop there: the
// upper envelope). A variant is above the baseline when its recovery exceeds the
// baseline's at the same cost. Recovery is averaged over the unlearning algorithms within a seed, then over seeds,
// with a 95% t-interval over seeds.
import { maskGroupOf, type MaskGroup, type ResultRow } from './result-rows.js';
import { meanInterval, type MeanInterval } from './statistics.js';

export interface FrontierPoint {
  group: MaskGroup;
  unprune: string;
  /** A point of the baseline (none, or a truncated gold replay). */
  baseline: boolean;
  cost: number;
  recovery: MeanInterval;
  /** The baseline's recovery at this cost (linear between its points). */
  baselineRecovery: number;
  above: boolean;
}

const isTruncatedReplay = (r: ResultRow) => {
  const u = r.config.unprune as { variant?: string; estimator?: string } | undefined;
  return u?.variant === 'reprune' && u.estimator === 'retrain';
};

export function recoveryFrontier(rows: ResultRow[]): FrontierPoint[] {
  const groups = new Map<string, { group: FrontierPoint['group']; byVariant: Map<string, ResultRow[]> }>();
  for (const r of rows) {
    if (typeof r.recovery !== 'number' || typeof r.cost_ratio !== 'number') continue;
    const group = maskGroupOf(r);
    const id = JSON.stringify(group);
    const g = groups.get(id) ?? { group, byVariant: new Map<string, ResultRow[]>() };
    groups.set(id, g);
    g.byVariant.set(r.unprune, [...(g.byVariant.get(r.unprune) ?? []), r]);
  }
  const out: FrontierPoint[] = [];
  for (const { group, byVariant } of groups.values()) {
    const points = [...byVariant.entries()].map(([unprune, rs]) => {
      const bySeed = new Map<number, number[]>();
      for (const r of rs) bySeed.set(r.seed, [...(bySeed.get(r.seed) ?? []), r.recovery!]);
      const seedMeans = [...bySeed.values()].map((v) => v.reduce((a, b) => a + b, 0) / v.length);
      return {
        unprune,
        baseline: unprune === 'none' || rs.every(isTruncatedReplay),
        cost: rs.reduce((s, r) => s + r.cost_ratio!, 0) / rs.length,
        recovery: meanInterval(seedMeans),
      };
    });
    const curve = [
      { cost: 0, recovery: 0 },
      ...points
        .filter((p) => p.baseline && p.unprune !== 'none')
        .map((p) => ({ cost: p.cost, recovery: p.recovery.mean })),
      { cost: 1, recovery: 1 },
    ].sort((a, b) => a.cost - b.cost);
    const interpolated = (c: number) => {
      for (let i = 1; i < curve.length; i++) {
        const [a, b] = [curve[i - 1]!, curve[i]!];
        if (c <= b.cost)
          return b.cost === a.cost
            ? b.recovery
            : a.recovery + ((c - a.cost) / (b.cost - a.cost)) * (b.recovery - a.recovery);
      }
      return curve.at(-1)!.recovery;
    };
    // Spending a budget c, one can always stop at any cheaper baseline point: the baseline is the upper envelope.
    const at = (c: number) => Math.max(interpolated(c), ...curve.filter((q) => q.cost <= c).map((q) => q.recovery));
    for (const p of points) {
      const baselineRecovery = at(p.cost);
      out.push({ group, ...p, baselineRecovery, above: !p.baseline && p.recovery.mean > baselineRecovery });
    }
  }
  return out;
}
