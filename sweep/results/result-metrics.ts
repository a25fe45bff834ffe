// The metric registry: every result column declared once — its name, how it is computed from the cell's, the gold
// model's and the original (pruned, before unlearning) model's measurements, its label, digits, whether tables show
// it, and its Prometheus result gauge. Rows, every output format, the HTML report and the gauges derive from it.
// What an `evaluate` stage measures is declared here too (MEASURED); the list is part of that stage's params, so
// adding a measurement changes evaluate keys and cached rows are recomputed, never shown with a blank column.

/** Scalar measurements of one model (percentages for ua/ra/ta/mia, fractions for masks). */
export const MEASURED = [
  'ua',
  'ra',
  'ta',
  /** Test accuracy on the forgotten classes (class-wise deletion; null otherwise). */
  'ta_forgotten',
  'mia_efficacy',
  /** |D_f|: the number of examples MIA-efficacy (and UA) is a proportion of. */
  'forget_size',
  'iou_gold',
  'iou_gold_base',
  /** Structured pruning: the same two at filter granularity (pruned layers only); null otherwise. */
  'iou_gold_filters',
  'iou_gold_base_filters',
  /** IoU(m_r, m_r′): the gold mask against the gold pipeline rerun with another batch order (null: no floor). */
  'iou_floor',
  /** IoU(m_r, m_r″): the gold mask against the gold pipeline from another init (null: not asked for). */
  'iou_floor_init',
  'recovery',
  'hamming_gold',
  'final_sparsity',
  /** One-shot re-pruning's diagnostic (how far the estimator moved the scores; weights near the threshold). */
  'estimator_shift',
  'near_threshold_at_estimator_shift',
  /** ‖θ − θ_o‖ / ‖θ_o‖: how far the model moved from the pruned model before unlearning (0: a no-op). */
  'weight_change',
] as const;

/** What an evaluate stage writes (metrics.json) for one model. */
type Nullable =
  | 'ta_forgotten'
  | 'weight_change'
  | 'iou_gold_filters'
  | 'iou_gold_base_filters'
  | 'iou_floor'
  | 'iou_floor_init'
  | 'estimator_shift'
  | 'near_threshold_at_estimator_shift';
export type Measurements = Record<Exclude<(typeof MEASURED)[number], Nullable>, number> &
  Record<Nullable, number | null> & {
    /** MIA-efficacy per attacked feature. */
    mia: Record<string, number>;
    /** MIA-efficacy (first feature) per shadow member/non-member ratio asked for (evaluate.miaShadowRatio). */
    mia_by_ratio?: Record<string, number>;
    per_layer_iou_gold: Record<string, number>;
  };

/** Wall times along a model's chain: kept in manifests (they differ run to run), joined to the measurements. */
export interface Timings {
  /** Unlearning wall time (RTE), seconds. */
  rte_s: number;
  unprune_s: number;
  /** All un-pruning work on the cell's chain (its estimate counted fully), seconds and examples. */
  unprune_cost_s: number;
  unprune_examples: number;
  /** The gold standard's work: retraining on D_r and pruning the result. */
  gold_cost_s: number;
  gold_examples: number;
}

export type ModelMeasurements = Measurements & Timings;

/** The three models a row compares. */
export interface MetricSources {
  cell: ModelMeasurements;
  gold: ModelMeasurements;
  original: ModelMeasurements;
}

export interface ResultMetric {
  name: string;
  /** Column header in tables. */
  label: string;
  digits: number;
  of: (s: MetricSources) => number | null;
  /** Shown by default in the terminal, Markdown, LaTeX and HTML tables (`--metrics` picks others; CSV and JSON
   * carry every metric). */
  table?: boolean;
  /**
   * Its value on the reference rows tables show per group: the gold model (retrained on D_r and re-pruned) and the
   * original model (pruned, before unlearning), read from a cell's row (every cell of a group shares both models).
   */
  reference?: { gold: (r: RowValues) => number | null; original: (r: RowValues) => number | null };
  /** A wall time: differs between runs of the same cell. */
  timing?: boolean;
  /** The report shows how rough its curve over deletion size is (the paper's MIA finding). */
  stability?: boolean;
  /** A Prometheus gauge of its mean per group (`unprune_result_<family>`; a shared family gets a `metric` label). */
  gauge?: { family: string; by: 'prune' | 'unlearn'; help: string };
}

/** A result row's metric columns, as reference values read them. */
export type RowValues = Readonly<Record<string, unknown>>;
/** A value as a figure: a finite number, else null (a missing measurement, NaN, a non-number). */
export const finiteOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const num = (r: RowValues, k: string) => finiteOrNull(r[k]);
const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);

/** UA, RA, TA and MIA-efficacy: each model's own figure, with the gold's and the original's stored beside it. */
const ACCURACY_REFERENCE = {
  ua: ['gold_ua', 'orig_ua'],
  ra: ['gold_ra', 'orig_ra'],
  ta: ['gold_ta', 'orig_ta'],
  mia_efficacy: ['gold_mia', 'orig_mia'],
} as const;
const referenceOf = (m: keyof typeof ACCURACY_REFERENCE) => ({
  gold: (r: RowValues) => num(r, ACCURACY_REFERENCE[m][0]),
  original: (r: RowValues) => num(r, ACCURACY_REFERENCE[m][1]),
});
/** A gap to gold: 0 on the gold row by definition; the original model's own gap on its row. */
const gapReference = (m: keyof typeof ACCURACY_REFERENCE) => ({
  gold: () => 0,
  original: (r: RowValues) => diff(num(r, ACCURACY_REFERENCE[m][1]), num(r, ACCURACY_REFERENCE[m][0])),
});
/** The mean absolute gap to gold over UA, RA, TA and MIA: the usual single number in the unlearning literature. */
const meanAbsGap = (gaps: (number | null)[]) =>
  gaps.some((g) => g === null) ? null : gaps.reduce<number>((s, g) => s + Math.abs(g!), 0) / gaps.length;
const ACCURACY_METRICS = Object.keys(ACCURACY_REFERENCE) as (keyof typeof ACCURACY_REFERENCE)[];

/** UA, RA, TA: the cell's accuracy figures, shown in tables, gauged together by unlearning algorithm. */
const accuracy = <N extends 'ua' | 'ra' | 'ta'>(name: N, label: string) =>
  ({
    name,
    label,
    digits: 1,
    table: true,
    stability: true,
    of: (s: MetricSources) => s.cell[name],
    reference: referenceOf(name),
    gauge: { family: 'accuracy', by: 'unlearn', help: 'Mean UA / RA / TA (%)' },
  }) as const;

export const RESULT_METRICS = [
  accuracy('ua', 'UA'),
  accuracy('ra', 'RA'),
  accuracy('ta', 'TA'),
  { name: 'ta_forgotten', label: 'TA forgotten', digits: 1, of: (s) => s.cell.ta_forgotten ?? null },
  {
    name: 'mia_efficacy',
    stability: true,
    label: 'MIA',
    digits: 1,
    table: true,
    of: (s) => s.cell.mia_efficacy,
    reference: referenceOf('mia_efficacy'),
    gauge: { family: 'mia_efficacy', by: 'unlearn', help: 'Mean MIA-efficacy (%)' },
  },
  {
    name: 'mia_efficacy_se',
    label: 'MIA s.e.',
    digits: 1,
    // Binomial standard error of a proportion over |D_f| examples: at 1% deletion of 6,000, ±6 points at 50%.
    of: (s) => {
      const p = s.cell.mia_efficacy / 100;
      return s.cell.forget_size > 0 ? 100 * Math.sqrt((p * (1 - p)) / s.cell.forget_size) : null;
    },
  },
  { name: 'forget_size', label: '|D_f|', digits: 0, of: (s) => s.cell.forget_size },
  {
    name: 'iou_gold',
    stability: true,
    label: 'IoU(m_f,m_r)',
    digits: 3,
    table: true,
    of: (s) => s.cell.iou_gold,
    // The original row: its mask is m, so this column reads IoU(m, m_r) there (the gold row's is 1 by definition).
    reference: { gold: () => 1, original: (r) => num(r, 'iou_gold_base') },
    gauge: { family: 'iou_gold', by: 'prune', help: 'Mean IoU(final mask, gold mask)' },
  },
  {
    name: 'iou_gold_base',
    label: 'IoU(m,m_r)',
    digits: 3,
    stability: true,
    of: (s) => s.cell.iou_gold_base,
  },
  {
    name: 'iou_floor',
    label: 'IoU floor',
    digits: 3,
    stability: true,
    // IoU(m_r, m_r′): how much the gold mask moves under another batch order alone, the noise floor of every IoU.
    of: (s) => s.cell.iou_floor ?? null,
  },
  {
    name: 'iou_floor_init',
    label: 'IoU floor (init)',
    digits: 3,
    // IoU(m_r, m_r″): how much of the gold mask another init alone changes (evaluate.floorInit).
    of: (s) => s.cell.iou_floor_init ?? null,
  },
  {
    name: 'deletion_effect',
    label: '1−IoU(m,m_r)',
    digits: 3,
    // The paper's first claim, measured: deleting D_f moves the mask by this much …
    of: (s) => 1 - s.cell.iou_gold_base,
  },
  {
    name: 'noise_effect',
    label: '1−IoU floor',
    digits: 3,
    // … against this much from reshuffling the batches alone (the claim holds where the first is larger).
    of: (s) => (s.cell.iou_floor === null || s.cell.iou_floor === undefined ? null : 1 - s.cell.iou_floor),
  },
  { name: 'iou_gold_filters', label: 'filter IoU(m_f,m_r)', digits: 3, of: (s) => s.cell.iou_gold_filters ?? null },
  {
    name: 'iou_gold_base_filters',
    label: 'filter IoU(m,m_r)',
    digits: 3,
    of: (s) => s.cell.iou_gold_base_filters ?? null,
  },
  {
    name: 'recovery',
    label: 'recovery',
    digits: 2,
    table: true,
    of: (s) => finiteOrNull(s.cell.recovery),
    reference: { gold: () => 1, original: () => 0 },
    gauge: { family: 'recovery', by: 'prune', help: 'Mean recovery of the mask gap to gold' },
  },
  { name: 'hamming_gold', label: 'Hamming(m_f,m_r)', digits: 0, of: (s) => s.cell.hamming_gold },
  { name: 'final_sparsity', label: 'sparsity', digits: 3, stability: true, of: (s) => s.cell.final_sparsity },
  { name: 'rte_s', label: 'RTE s', digits: 2, table: true, timing: true, of: (s) => s.cell.rte_s },
  { name: 'unprune_s', label: 'unprune s', digits: 2, timing: true, of: (s) => s.cell.unprune_s },
  // Full costs (docs/metrics-and-unpruning.md): seconds depend on the machine, examples (forward + backward) do not.
  { name: 'unprune_cost_s', label: 'unprune cost s', digits: 2, timing: true, of: (s) => s.cell.unprune_cost_s },
  { name: 'unprune_examples', label: 'unprune examples', digits: 0, of: (s) => s.cell.unprune_examples },
  { name: 'gold_cost_s', label: 'gold cost s', digits: 2, timing: true, of: (s) => s.cell.gold_cost_s },
  { name: 'gold_examples', label: 'gold examples', digits: 0, of: (s) => s.cell.gold_examples },
  {
    name: 'cost_ratio',
    label: 'cost ratio',
    digits: 3,

    // Un-pruning's examples over the gold standard's: 1 means it cost as much as retraining and re-pruning.
    of: (s) => (s.cell.gold_examples > 0 ? s.cell.unprune_examples / s.cell.gold_examples : null),
  },
  {
    name: 'ua_gap',
    label: 'ΔUA',
    digits: 1,
    table: true,
    reference: gapReference('ua'),
    of: (s) => s.cell.ua - s.gold.ua,
  },
  {
    name: 'ra_gap',
    label: 'ΔRA',
    digits: 1,
    table: true,
    reference: gapReference('ra'),
    of: (s) => s.cell.ra - s.gold.ra,
  },
  {
    name: 'ta_gap',
    label: 'ΔTA',
    digits: 1,
    table: true,
    reference: gapReference('ta'),
    of: (s) => s.cell.ta - s.gold.ta,
  },
  {
    name: 'mia_gap',
    label: 'ΔMIA',
    digits: 1,
    table: true,
    reference: gapReference('mia_efficacy'),
    of: (s) => s.cell.mia_efficacy - s.gold.mia_efficacy,
  },
  {
    name: 'mean_abs_gap',
    label: 'avg|Δ|',
    digits: 1,
    table: true,
    reference: {
      gold: () => 0,
      original: (r) => meanAbsGap(ACCURACY_METRICS.map((m) => gapReference(m).original(r))),
    },
    of: (s) => meanAbsGap(ACCURACY_METRICS.map((m) => s.cell[m] - s.gold[m])),
  },
  { name: 'gold_ua', label: 'gold UA', digits: 1, of: (s) => s.gold.ua },
  { name: 'gold_ra', label: 'gold RA', digits: 1, of: (s) => s.gold.ra },
  { name: 'gold_ta', label: 'gold TA', digits: 1, of: (s) => s.gold.ta },
  { name: 'gold_mia', label: 'gold MIA', digits: 1, of: (s) => s.gold.mia_efficacy },
  { name: 'orig_ua', label: 'orig UA', digits: 1, of: (s) => s.original.ua },
  { name: 'orig_ra', label: 'orig RA', digits: 1, of: (s) => s.original.ra },
  { name: 'orig_ta', label: 'orig TA', digits: 1, of: (s) => s.original.ta },
  { name: 'orig_mia', label: 'orig MIA', digits: 1, of: (s) => s.original.mia_efficacy },
  {
    name: 'weight_change',
    label: '‖Δθ‖/‖θ‖',
    digits: 4,
    // 0 for the original model; a cell at (or near) 0 did not unlearn at all (tables flag it).
    reference: { gold: () => null, original: () => 0 },
    of: (s) => s.cell.weight_change ?? null,
  },
  { name: 'estimator_shift', label: 'estimator shift', digits: 4, of: (s) => s.cell.estimator_shift ?? null },
  {
    name: 'near_threshold_at_estimator_shift',
    label: 'near threshold at shift',
    digits: 0,
    of: (s) => s.cell.near_threshold_at_estimator_shift ?? null,
  },
] as const satisfies readonly ResultMetric[];

export type MetricName = (typeof RESULT_METRICS)[number]['name'];
export const METRIC_NAMES: readonly MetricName[] = RESULT_METRICS.map((m) => m.name);
/** The metrics tables show, in registry order. */
export const TABLE_METRICS = RESULT_METRICS.filter((m) => 'table' in m && m.table);
/** Columns that measure wall time: they differ between runs of the same cell. */
export const TIMING_COLUMNS: readonly string[] = RESULT_METRICS.filter((m) => 'timing' in m).map((m) => m.name);
/** Metrics whose stability over deletion size the report shows. */
export const STABILITY_METRICS: readonly string[] = RESULT_METRICS.filter((m) => 'stability' in m).map((m) => m.name);
