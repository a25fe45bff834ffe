// What every table format shows (terminal, Markdown, LaTeX, HTML, the averaged CSV): rows grouped over seeds (or over
// whatever `--group-by` leaves out), each group's reference rows — the gold model and the original model before
// unlearning — the chosen metrics with 95% intervals over seeds, in the spec's order, constant axes lifted into the
// title, and cells that did not unlearn at all flagged.
import {
  finiteOrNull as num,
  RESULT_METRICS,
  TABLE_METRICS,
  type ResultMetric,
  type RowValues,
} from './result-metrics.js';
import { GROUP_AXES, maskGroupOf, type GroupAxis, type ResultRow } from './result-rows.js';
import { meanInterval, sampleStd } from './statistics.js';
import { MIA_FEATURES } from '../../ml/catalog.js';
import { didYouMean } from '../spec.js';

export const AXIS_HEADERS: Record<GroupAxis, string> = {
  dataset: 'dataset',
  arch: 'arch',
  prune: 'prune',
  sparsity: 'sparsity',
  deletion: 'deletion',
  deletion_size: 'size',
  unlearn: 'unlearn',
  unprune: 'unprune',
};
/** The axes reference rows do not depend on: the gold and original models are shared across them. */
const MODEL_AXES: readonly GroupAxis[] = ['unlearn', 'unprune'];

/** A cell that moved its weights less than this (relative L2) from the model before unlearning is a no-op. */
export const NOOP_WEIGHT_CHANGE = 1e-6;

export interface Stat {
  mean: number | null;
  /** Sample standard deviation over seeds (0 for one). */
  std: number | null;
  /** The two-sided 95% t-interval of the mean over seeds (null below two seeds). */
  low: number | null;
  high: number | null;
  n: number;
}

export interface ViewRow {
  kind: 'cell' | 'gold' | 'original';
  axes: Partial<Record<GroupAxis, string | number>>;
  seeds: number[];
  stats: Record<string, Stat>;
  /** Every seed's weights stayed put, or its UA, RA, TA and MIA all equal the original model's. */
  noop: boolean;
}

export interface ResultView {
  /** Shown axes (they vary, or label reference rows), then the axes fixed across the table (for the title). */
  columns: GroupAxis[];
  fixed: { axis: GroupAxis; value: string }[];
  /** Axes averaged over (not in --group-by), seeds aside. */
  pooled: GroupAxis[];
  metrics: ResultMetric[];
  rows: ViewRow[];
}

export interface ViewOptions {
  metrics?: readonly string[];
  groupBy?: readonly GroupAxis[];
  /** Gold and original rows per group (default on). */
  references?: boolean;
}

/** The statistics of a column over seeds. */
export function statOf(values: (number | null | undefined)[]): Stat {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (v.length === 0) return { mean: null, std: null, low: null, high: null, n: 0 };
  const ci = meanInterval(v);
  return { mean: ci.mean, std: sampleStd(v, ci.mean), low: ci.low, high: ci.high, n: v.length };
}

/** `mean ± half-width of the 95% interval` (the mean alone for one seed), `–` when there is none. */
export function formatStat(s: Stat | undefined, digits: number): string {
  if (!s || s.mean === null) return '–';
  if (s.low === null || s.high === null) return s.mean.toFixed(digits);
  return `${s.mean.toFixed(digits)} ± ${((s.high - s.low) / 2).toFixed(digits)}`;
}

export class UnknownNameError extends Error {}

/** The per-feature and per-ratio MIA columns rows carry beside the registry's (`mia_<feature>`, `mia_ratio_<r>`). */
const extraMiaColumn = (name: string): ResultMetric | undefined =>
  (MIA_FEATURES as readonly string[]).includes(name.slice(4)) || /^mia_ratio_\d+(\.\d+)?$/.test(name)
    ? {
        name,
        label: name.startsWith('mia_ratio_') ? `MIA @${name.slice(10)}` : `MIA ${name.slice(4)}`,
        digits: 1,
        of: () => null,
      }
    : undefined;

/** Metrics by name, in the order given; an unknown name is one line listing the known ones. */
export function pickMetrics(names: readonly string[]): ResultMetric[] {
  return names.map((n) => {
    const m = RESULT_METRICS.find((x) => x.name === n) ?? (n.startsWith('mia_') ? extraMiaColumn(n) : undefined);
    if (!m)
      throw new UnknownNameError(
        `--metrics: "${n}" is not a metric; known: ${RESULT_METRICS.map((x) => x.name).join(', ')}, mia_<feature>, mia_ratio_<r>${didYouMean(
          n,
          RESULT_METRICS.map((x) => x.name),
        )}`,
      );
    return m;
  });
}

/** Axes by name; an unknown one is one line listing the axes. */
export function pickAxes(names: readonly string[]): GroupAxis[] {
  return names.map((n) => {
    if (!(GROUP_AXES as readonly string[]).includes(n))
      throw new UnknownNameError(
        `--group-by: "${n}" is not an axis; axes: ${GROUP_AXES.join(', ')}${didYouMean(n, GROUP_AXES)}`,
      );
    return n as GroupAxis;
  });
}

/** A deletion's size as tables show it: a class-wise deletion has none of its own (its label names the classes). */
export const deletionSizeText = (deletion: string, size: string | number) =>
  deletion.startsWith('class') ? '–' : String(size);

/** An axis value as tables show it: a class-wise deletion has no size of its own (its label names the classes). */
export function axisText(axis: GroupAxis, row: ViewRow): string {
  const v = row.axes[axis];
  if (v === undefined) return '';
  if (axis === 'deletion_size') return deletionSizeText(String(row.axes.deletion ?? ''), v);
  return String(v);
}

/** Rank of each axis value: numbers numerically, names in the order the spec lists them (first appearance). */
function axisOrder(rows: ResultRow[]): (axis: GroupAxis, v: string | number | undefined) => number {
  const seen = new Map<GroupAxis, Map<string | number, number>>();
  for (const r of rows)
    for (const a of GROUP_AXES) {
      const m = seen.get(a) ?? new Map<string | number, number>();
      seen.set(a, m);
      if (!m.has(r[a])) m.set(r[a], m.size);
    }
  return (axis, v) => (v === undefined ? -1 : typeof v === 'number' ? v : (seen.get(axis)?.get(v) ?? 0));
}

/** Per seed, the mean of `value` over the seed's rows; then the statistics over seeds (seeds are the replicates). */
export function seedStat(rows: ResultRow[], value: (r: ResultRow) => number | null): Stat {
  const bySeed = new Map<number, number[]>();
  for (const r of rows) {
    const v = value(r);
    if (v === null || !Number.isFinite(v)) continue;
    const list = bySeed.get(r.seed) ?? [];
    bySeed.set(r.seed, list);
    list.push(v);
  }
  return statOf([...bySeed.values()].map((l) => l.reduce((a, b) => a + b, 0) / l.length));
}

function groupRows(rows: ResultRow[], axes: readonly GroupAxis[]): ResultRow[][] {
  const groups = new Map<string, ResultRow[]>();
  for (const r of rows) {
    const id = JSON.stringify(axes.map((a) => r[a]));
    const g = groups.get(id);
    if (g) g.push(r);
    else groups.set(id, [r]);
  }
  return [...groups.values()];
}

const pick = (r: ResultRow, axes: readonly GroupAxis[]) => Object.fromEntries(axes.map((a) => [a, r[a]]));
const seedsOf = (g: ResultRow[]) => [...new Set(g.map((r) => r.seed))].sort((a, b) => a - b);

function isNoop(g: ResultRow[]): boolean {
  return g.every((r) => {
    if (typeof r.weight_change === 'number' && r.weight_change < NOOP_WEIGHT_CHANGE) return true;
    return r.ua === r.orig_ua && r.ra === r.orig_ra && r.ta === r.orig_ta && r.mia_efficacy === r.orig_mia;
  });
}

export function resultView(rows: ResultRow[], opts: ViewOptions = {}): ResultView {
  const metrics = opts.metrics ? pickMetrics(opts.metrics) : [...TABLE_METRICS];
  const groupBy = GROUP_AXES.filter((a) => (opts.groupBy ?? GROUP_AXES).includes(a));
  const cells: ViewRow[] = groupRows(rows, groupBy).map((g) => ({
    kind: 'cell',
    axes: pick(g[0]!, groupBy),
    seeds: seedsOf(g),
    stats: Object.fromEntries(metrics.map((m) => [m.name, seedStat(g, (r) => num(r[m.name as keyof ResultRow]))])),
    noop: isNoop(g),
  }));
  const refAxes = groupBy.filter((a) => !MODEL_AXES.includes(a));
  const references: ViewRow[] =
    opts.references === false || !groupBy.some((a) => MODEL_AXES.includes(a))
      ? []
      : groupRows(rows, refAxes).flatMap((g) => {
          // The gold and original models are shared by every algorithm and variant of a mask group and seed: one
          // row of each such model counts once.
          const models = [...new Map(g.map((r) => [JSON.stringify([maskGroupOf(r), r.seed]), r] as const)).values()];
          return (['gold', 'original'] as const).map((kind) => ({
            kind,
            // The kind names the row in the first model axis shown (the algorithm's column, else the variant's).
            axes: {
              ...pick(g[0]!, refAxes),
              ...Object.fromEntries(groupBy.filter((a) => MODEL_AXES.includes(a)).map((a, i) => [a, i ? '–' : kind])),
            },
            seeds: seedsOf(g),
            stats: Object.fromEntries(
              metrics.map((m) => {
                const ref = 'reference' in m ? m.reference : undefined;
                return [m.name, ref ? seedStat(models, (r) => ref[kind](r as unknown as RowValues)) : statOf([])];
              }),
            ),
            noop: false,
          }));
        });
  const order = axisOrder(rows);
  const kindRank = { gold: 0, original: 1, cell: 2 } as const;
  const sorted = [...references, ...cells].sort((x, y) => {
    for (const a of refAxes) {
      const d = order(a, x.axes[a]) - order(a, y.axes[a]);
      if (d) return d;
    }
    if (x.kind !== y.kind) return kindRank[x.kind] - kindRank[y.kind];
    for (const a of groupBy.filter((b) => MODEL_AXES.includes(b))) {
      const d = order(a, x.axes[a]) - order(a, y.axes[a]);
      if (d) return d;
    }
    return 0;
  });
  // The algorithm and variant label every row (reference rows among them); other constant axes go to the title.
  const shown = (a: GroupAxis) => MODEL_AXES.includes(a) || new Set(cells.map((r) => r.axes[a])).size > 1;
  return {
    columns: groupBy.filter(shown),
    fixed: groupBy.filter((a) => !shown(a)).map((axis) => ({ axis, value: cells[0] ? axisText(axis, cells[0]) : '' })),
    pooled: GROUP_AXES.filter((a) => !groupBy.includes(a)),
    metrics,
    rows: sorted,
  };
}

/** The title's description of what a view's figures are. */
export function viewCaption(view: ResultView, cells: number): string {
  const seeds = Math.max(0, ...view.rows.map((r) => r.seeds.length));
  const parts = [
    `${cells} cells`,
    seeds > 1 ? `mean ± 95% CI half-width over seeds (t, n = ${seeds})` : 'one seed: means, no intervals',
    ...(view.pooled.length ? [`averaged over ${view.pooled.map((a) => AXIS_HEADERS[a]).join(', ')}`] : []),
    ...(view.fixed.length ? [view.fixed.map((f) => `${AXIS_HEADERS[f.axis]} ${f.value}`).join(', ')] : []),
  ];
  return parts.join('; ');
}

/** The footnotes a view's rows need. */
export function viewNotes(view: ResultView): string[] {
  const notes: string[] = [];
  if (view.rows.some((r) => r.kind !== 'cell'))
    notes.push(
      'gold: retrained on D_r and pruned the same way (the target); original: the pruned model before unlearning. Δ: gap to gold; avg|Δ|: mean |ΔUA|, |ΔRA|, |ΔTA|, |ΔMIA|.',
    );
  if (view.rows.some((r) => r.noop))
    notes.push(
      `† no-op: on every seed the weights moved less than ${NOOP_WEIGHT_CHANGE} (relative L2) or UA, RA, TA and MIA equal the original model's.`,
    );
  return notes;
}

/** The cells of a view as text: header labels, and per row its axis values (no-ops marked †) and metric figures. */
export function viewCells(view: ResultView): { head: string[]; body: string[][]; kinds: ViewRow['kind'][] } {
  const labelAxis = view.columns.find((a) => MODEL_AXES.includes(a));
  return {
    head: [...view.columns.map((a) => AXIS_HEADERS[a]), 'seeds', ...view.metrics.map((m) => m.label)],
    body: view.rows.map((r) => [
      ...view.columns.map((a) => axisText(a, r) + (a === labelAxis && r.noop ? ' †' : '')),
      String(r.seeds.length),
      ...view.metrics.map((m) => formatStat(r.stats[m.name], m.digits)),
    ]),
    kinds: view.rows.map((r) => r.kind),
  };
}
