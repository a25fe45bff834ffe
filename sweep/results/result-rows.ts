// Result rows: one per cell — every axis, every registered metric, the MIA per feature, the resolved config — built
// from the evaluate outputs of the cell, its gold model and its original (pruned, before unlearning) model.
import type { Cell, Plan } from '../plan.js';
import { deletionInstances, unpruneLabel, type Sweep } from '../spec.js';
import { RESULT_METRICS, type MetricName, type MetricSources, type ModelMeasurements } from './result-metrics.js';

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

/** Every axis but the seed (seeds are the replicates): what rows are grouped, compared and sorted by, in this order. */
export type GroupAxis = Exclude<(typeof AXES)[number], 'seed'>;
export const GROUP_AXES = AXES.filter((a): a is GroupAxis => a !== 'seed');

export type ResultRow = Cell['axes'] &
  Record<MetricName, number | null> & {
    /** mia_<feature> for every attacked feature; mia_ratio_<r> per shadow ratio asked for. */
    [extra: `mia_${string}`]: number | null;
  } & {
    per_layer_iou_gold: Record<string, number>;
    config: Record<string, unknown>;
    evaluate_key: string;
  };

/** The axes that fix a cell's masks m, m_r and m_r′ (all but seed, algorithm and un-pruning variant). */
export type MaskGroup = Pick<ResultRow, 'dataset' | 'arch' | 'prune' | 'sparsity' | 'deletion' | 'deletion_size'>;

export function maskGroupOf(r: ResultRow): MaskGroup {
  const { dataset, arch, prune, sparsity, deletion, deletion_size } = r;
  return { dataset, arch, prune, sparsity, deletion, deletion_size };
}

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
    unprune: sweep.unprune.find((u) => unpruneLabel(u) === a.unprune),
    evaluate: sweep.evaluate,
  };
}

/** Rows for every cell whose measurements (its own, its gold's and its original model's) are all available. */
export function buildRows(
  plan: Plan,
  measurementsOf: (evaluateKey: string) => ModelMeasurements | undefined,
): { rows: ResultRow[]; missing: Cell[] } {
  const rows: ResultRow[] = [];
  const missing: Cell[] = [];
  for (const cell of plan.cells) {
    const sources = {
      cell: measurementsOf(cell.evaluate),
      gold: measurementsOf(cell.goldEvaluate),
      original: measurementsOf(cell.originalEvaluate),
    };
    if (!sources.cell || !sources.gold || !sources.original) {
      missing.push(cell);
      continue;
    }
    const s = sources as MetricSources;
    rows.push({
      ...cell.axes,
      ...Object.fromEntries(RESULT_METRICS.map((m) => [m.name, m.of(s)])),
      ...Object.fromEntries(Object.entries(s.cell.mia).map(([f, v]) => [`mia_${f}`, v])),
      ...Object.fromEntries(Object.entries(s.cell.mia_by_ratio ?? {}).map(([r, v]) => [`mia_ratio_${r}`, v])),
      per_layer_iou_gold: s.cell.per_layer_iou_gold,
      config: cellConfig(plan.sweep, cell),
      evaluate_key: cell.evaluate,
    } as ResultRow);
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
