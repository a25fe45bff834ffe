// `results --compare axis=a,b`: is b better than a? Cells that differ only in `axis` (a or b) are paired by seed
// within each group of the other axes; per table metric, the mean of each side, the paired difference b − a over
// seeds with its 95% interval, and the two-sided paired t-test's p-value.
import { TABLE_METRICS } from './result-metrics.js';
import { GROUP_AXES, type GroupAxis, type ResultRow } from './result-rows.js';
import { pairedTest } from './statistics.js';

export interface Comparison {
  axis: GroupAxis;
  a: string;
  b: string;
  group: Record<string, string | number>;
  metric: string;
  label: string;
  seeds: number;
  meanA: number;
  meanB: number;
  difference: { mean: number; low: number | null; high: number | null };
  /** Two-sided paired t-test; null below two seeds. */
  p: number | null;
}

/** Parses `axis=a,b`; throws a one-line message naming the allowed axes. */
export function parseComparison(text: string): { axis: GroupAxis; a: string; b: string } {
  const m = /^([a-z_]+)=([^,]+),([^,]+)$/.exec(text);
  if (!m || !(GROUP_AXES as readonly string[]).includes(m[1]!))
    throw new Error(`--compare "${text}": expected AXIS=A,B with AXIS one of ${GROUP_AXES.join(', ')}`);
  return { axis: m[1] as GroupAxis, a: m[2]!, b: m[3]! };
}

export function compareRows(rows: ResultRow[], axis: GroupAxis, a: string, b: string): Comparison[] {
  const others = GROUP_AXES.filter((x) => x !== axis);
  const groups = new Map<
    string,
    { group: Record<string, string | number>; sides: Map<number, { a?: ResultRow; b?: ResultRow }> }
  >();
  for (const r of rows) {
    const side = String(r[axis]) === a ? 'a' : String(r[axis]) === b ? 'b' : undefined;
    if (!side) continue;
    const group = Object.fromEntries(others.map((x) => [x, r[x]]));
    const id = JSON.stringify(group);
    const g = groups.get(id) ?? { group, sides: new Map() };
    groups.set(id, g);
    const pair = g.sides.get(r.seed) ?? {};
    pair[side] = r;
    g.sides.set(r.seed, pair);
  }
  const out: Comparison[] = [];
  for (const { group, sides } of groups.values()) {
    const pairs = [...sides.values()].filter((p): p is { a: ResultRow; b: ResultRow } => !!p.a && !!p.b);
    if (pairs.length === 0) continue;
    for (const m of TABLE_METRICS) {
      const both = pairs.filter((p) => typeof p.a[m.name] === 'number' && typeof p.b[m.name] === 'number');
      if (both.length === 0) continue;
      const va = both.map((p) => p.a[m.name] as number);
      const vb = both.map((p) => p.b[m.name] as number);
      const t = pairedTest(vb, va);
      const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
      out.push({
        axis,
        a,
        b,
        group,
        metric: m.name,
        label: m.label,
        seeds: both.length,
        meanA: mean(va),
        meanB: mean(vb),
        difference: { mean: t.mean, low: t.low, high: t.high },
        p: t.p === null ? null : Math.min(1, 2 * Math.min(t.p, 1 - t.p)),
      });
    }
  }
  return out;
}
