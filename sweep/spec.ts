// The sweep definition: a zod schema (validated at the edge), parsing from YAML or JSON, and error messages that
// name the offending field's path and the allowed values. Pure: no file access, so workflows may import it.
import { closest, distance } from 'fastest-levenshtein';
import { parseDocument } from 'yaml';
import * as z from 'zod';
import {
  ARCH_NAMES,
  DATASET_FACTS,
  DATASET_NAMES,
  ESTIMATORS,
  REGROW_INITS,
  MIA_FEATURES,
  PRUNE_METHODS,
  UNLEARN_METHODS,
  UNPRUNE_ORDERS,
  UNPRUNE_VARIANTS,
} from '../ml/catalog.js';

// The allowed names come from ml/'s catalog (a module without tfjs, which sweep/ may load).

/** Whole numbers with a sane upper bound (a typo like 1e9 epochs is an error, not a very long run). */
const int = (min: number, max = 2 ** 31 - 1) => z.number().int().min(min).max(max);
const positive = z.number().positive();
/** One value or a list of them; stored as a list. */
const oneOrMany = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(item).min(1, { error: 'empty list' }));
/** A grid axis: one value or a list (an empty list is reported with the grid it would empty). */
const axis = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (v === undefined || Array.isArray(v) ? v : [v]), z.array(item));
/** The short form of an entry: a bare name stands for `{ <field>: name }` (`unlearn: [ft, ga]`, `unprune: reprune`). */
const named = <T extends z.ZodType>(field: string, entry: T) =>
  z.preprocess((v) => (typeof v === 'string' ? { [field]: v } : v), entry);

export const DatasetSpec = z.strictObject({
  name: z.enum(DATASET_NAMES),
  train: int(1, 10_000_000).optional(),
  test: int(1, 10_000_000).optional(),
  subsetSeed: int(0).default(0),
  /** Folder for Fashion-MNIST / CIFAR-10 files (not part of any content key). */
  dir: z.string().optional(),
});
export type DatasetSpec = z.infer<typeof DatasetSpec>;

export const ModelSpec = z.strictObject({ arch: z.enum(ARCH_NAMES) });
export type ModelSpec = z.infer<typeof ModelSpec>;

export const TrainSpec = z.strictObject({
  epochs: int(1, 10_000),
  batch: int(1, 65_536),
  optimizer: z.enum(['sgd', 'adam']).default('sgd'),
  lr: positive,
  momentum: z.number().min(0).lt(1).default(0.9),
  nesterov: z.boolean().default(false),
  weightDecay: z.number().min(0).default(5e-4),
  schedule: z.enum(['constant', 'cosine']).default('constant'),
  /** Training-time augmentation (`crop-flip`: pad-4 random crop and horizontal flip, as the CIFAR references). */
  augment: z.enum(['crop-flip']).optional(),
});
export type TrainSpec = z.infer<typeof TrainSpec>;

const sparsity = z.number().min(0, { error: 'must be in [0, 1)' }).lt(1, { error: 'must be in [0, 1)' });
export const PruneSpec = z.strictObject({
  method: z.enum(PRUNE_METHODS),
  sparsity: oneOrMany(sparsity),
  scope: z.enum(['layer', 'global']).default('layer'),
  rounds: int(1, 100).optional(),
  iterations: int(1, 100_000).optional(),
  softEpochs: int(0, 10_000).optional(),
  finetuneEpochs: int(0, 10_000).optional(),
  /** Structured: soft epochs after the shared dense training (default) or SFP from the init (its reference). */
  softFrom: z.enum(['trained', 'init']).optional(),
  /** IMP: rewind to the weights after this many training epochs instead of the init (as Unlearn-Sparse). */
  rewindEpoch: int(0, 10_000).optional(),
  /** The layers pruning may touch: every prunable one (default) or the convolutions only (as Unlearn-Sparse). */
  layers: z.enum(['all', 'conv']).optional(),
});
export type PruneSpec = z.infer<typeof PruneSpec>;

/** A deletion size: a fraction of the training set (or of the class) in (0, 1], or a count ≥ 1. */
const deletionSize = z.number().positive({ error: 'must be a fraction in (0, 1) or a count ≥ 1' });
export const DeletionSpec = z
  .strictObject({
    kind: z.enum(['random', 'class']),
    sizes: oneOrMany(deletionSize).optional(),
    classes: oneOrMany(int(0)).optional(),
  })
  .superRefine((d, ctx) => {
    if (d.kind === 'random' && !d.sizes)
      ctx.addIssue({ code: 'custom', path: ['sizes'], message: 'required for random deletion' });
    if (d.kind === 'class' && !d.classes)
      ctx.addIssue({ code: 'custom', path: ['classes'], message: 'required for class deletion' });
    if (d.kind === 'random' && d.classes)
      ctx.addIssue({ code: 'custom', path: ['classes'], message: 'only for class deletion' });
  });
export type DeletionSpec = z.infer<typeof DeletionSpec>;

export const UnlearnSpec = z.strictObject({
  method: z.enum(UNLEARN_METHODS),
  /** Label in results (default: the method); needed when one method appears twice. */
  name: z.string().min(1).optional(),
  epochs: int(0, 10_000).optional(),
  lr: positive.optional(),
  momentum: z.number().min(0).lt(1).optional(),
  weightDecay: z.number().min(0).optional(),
  batch: int(1, 65_536).optional(),
  alpha: z.number().optional(),
  /** IU, FF, SalUn: gradients with pruned coordinates zeroed (the references' form) or dense. */
  gradients: z.enum(['masked', 'dense']).optional(),
  /** SalUn: the parameters its saliency ranks: the prunable weights (default) or all (biases too, as its reference). */
  saliencyOver: z.enum(['weights', 'all']).optional(),
  /** IU: N, the number of retained examples its inverse-Fisher estimate visits (default 1000). */
  samples: int(1, 1_000_000).optional(),
  /** IU: the reference's WoodFisher recursion (default) or the exact inverse it approximates. */
  inverse: z.enum(['woodfisher', 'exact']).optional(),
  /** Learning-rate schedule of the unlearning run (default constant). */
  schedule: z.enum(['constant', 'cosine']).optional(),
});
export type UnlearnSpec = z.infer<typeof UnlearnSpec>;

const UnpruneObject = z.strictObject({
  variant: z.enum(UNPRUNE_VARIANTS),
  name: z.string().min(1).optional(),
  estimator: z.enum(ESTIMATORS).default('retrain'),
  order: z.enum(UNPRUNE_ORDERS).default('unprune-first'),
  /**
   * Estimator epochs (retrain/finetune); default all training epochs but the last for retrain (also each replayed
   * IMP round's), 1 for finetune.
   */
  epochs: int(1, 10_000).optional(),
  /**
   * regrow: the fraction p of the currently pruned weights regrown per round, the rounds, and how regrown weights
   * are re-initialised. The reviews give no values; these defaults are this project's, pending the study's
   * sensitivity sweep (docs/metrics-and-unpruning.md).
   */
  fraction: z.number().gt(0).lte(1).optional(),
  rounds: int(1, 100).optional(),
  init: z.enum(REGROW_INITS).optional(),
});
export const REGROW_DEFAULTS = { fraction: 0.3, rounds: 2, init: 'original' } as const;
/** An un-pruning entry's label in rows: its name, else its variant (regrow: with its settings when not the defaults). */
export function unpruneLabel(u: UnpruneSpec): string {
  if (u.name) return u.name;
  if (u.variant !== 'regrow') return u.variant;
  const parts = [
    u.fraction !== undefined && u.fraction !== REGROW_DEFAULTS.fraction ? `p${u.fraction}` : '',
    u.rounds !== undefined && u.rounds !== REGROW_DEFAULTS.rounds ? `r${u.rounds}` : '',
    u.init === 'random' ? 'random' : '',
  ].filter(Boolean);
  return ['regrow', ...parts].join('-');
}
export const UnpruneSpec = named('variant', UnpruneObject);
export type UnpruneSpec = z.infer<typeof UnpruneObject>;

export const EvaluateSpec = z.strictObject({
  /** MIA features to attack with; mia_efficacy is the first one's, the others get mia_<feature> columns. */
  miaFeatures: oneOrMany(z.enum(MIA_FEATURES)).default(['confidence']),
  /** D_r rows used as the attack's member set (the SVC is O(n²)); the non-member set is the test split. */
  miaShadow: int(10).default(1000),
  /**
   * Extra MIA-efficacy figures (first feature) with the shadow members = ratio × the non-members (the paper's MIA
   * finding came from moving this ratio): rows get mia_ratio_<r> columns. Off by default.
   */
  miaShadowRatio: oneOrMany(z.number().gt(0).lte(20)).optional(),
  /**
   * The noise floor: rerun the gold pipeline (retrain on D_r, prune) with the same init and another batch order,
   * and report IoU(m_r, m_r′), so the deletion's effect on the mask can be read against training noise. It costs a
   * second gold pipeline per deletion and pruning; `false` turns it off (iou_floor is then empty).
   */
  floor: z.boolean().default(true),
  /**
   * The init floor: the gold pipeline again from another init, in the gold run's batch order, and IoU(m_r, m_r″)
   * (iou_floor_init): how much the mask owes to the init alone. Costs a third gold pipeline; off by default.
   */
  floorInit: z.boolean().default(false),
});
export type EvaluateSpec = z.infer<typeof EvaluateSpec>;

export const DEFAULT_MAX_CELLS = 50000;

export const Sweep = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: 'letters, digits, ".", "_" and "-" only' })
    .max(80),
  description: z.string().optional(),
  dataset: oneOrMany(DatasetSpec),
  model: oneOrMany(ModelSpec),
  train: TrainSpec,
  seeds: axis(int(0)),
  prune: axis(PruneSpec),
  deletion: oneOrMany(DeletionSpec),
  unlearn: axis(named('method', UnlearnSpec)),
  unprune: axis(UnpruneSpec).prefault(['none']),
  evaluate: EvaluateSpec.prefault({}),
  limits: z.strictObject({ maxCells: int(1).default(DEFAULT_MAX_CELLS) }).prefault({}),
});
export type Sweep = z.infer<typeof Sweep>;

/** A spec that cannot run: every message names a field path (or the file position of a syntax error). */
export class SpecError extends Error {
  /** Bad input: retrying cannot help (ml/errors.ts's taxonomy). */
  readonly permanent = true;
  readonly problems: string[];
  constructor(problems: string[]) {
    // Control characters are escaped so a message is always one clean line per problem.
    problems = problems.map((p) =>
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      p.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    );
    super(problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join('\n  ')}`);
    this.name = 'SpecError';
    this.problems = problems;
  }
}

type PathKey = PropertyKey;

/** Renders a path the way a user writes it (`prune[1].method`), dropping indices the user did not write. */
function renderPath(raw: unknown, path: readonly PathKey[]): { text: string; value: unknown; found: boolean } {
  let text = '';
  let at: unknown = raw;
  let found = true;
  for (const key of path) {
    if (typeof key === 'number') {
      if (Array.isArray(at)) {
        text += `[${key}]`;
        at = at[key];
      } else if (key !== 0) {
        text += `[${key}]`;
        found = false;
      }
      // A single value written where a list is allowed: index 0 is the value itself.
    } else {
      text += text ? `.${String(key)}` : String(key);
      if (at && typeof at === 'object' && String(key) in at) at = (at as Record<string, unknown>)[String(key)];
      // A short form (`unprune: [reprune]` for `{ variant: reprune }`): the string is that field's value.
      else if (typeof at !== 'string') found = false;
    }
  }
  return { text: text || '(spec)', value: found ? at : undefined, found };
}

/** A value as quoted in messages, cut to 60 characters. */
const show = (v: unknown) => {
  const text = typeof v === 'string' ? `"${v}"` : String(JSON.stringify(v));
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
};

/** ` (did you mean "x"?)` for a near miss among the allowed names (a typo, a different case), else ''. */
export function didYouMean(value: unknown, allowed: readonly string[]): string {
  if (typeof value !== 'string' || allowed.length === 0 || allowed.includes(value)) return '';
  const exact = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  const near = exact ?? closest(value.toLowerCase(), [...allowed]);
  const limit = Math.max(2, Math.floor(value.length / 3));
  return exact || distance(value.toLowerCase(), near.toLowerCase()) <= limit ? ` (did you mean "${near}"?)` : '';
}

function issueMessage(raw: unknown, issue: z.core.$ZodIssue): string {
  const { text, value, found } = renderPath(raw, issue.path);
  switch (issue.code) {
    case 'invalid_value': {
      const allowed = issue.values.map(String);
      return `${text}: ${show(value)} is not one of ${allowed.join(', ')}${didYouMean(value, allowed)}`;
    }
    case 'unrecognized_keys': {
      const shape = allowedKeys(issue.path);
      const hints = shape ? issue.keys.map((k) => didYouMean(k, shape)).filter(Boolean) : [];
      return `${text}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}${
        shape ? `; allowed: ${shape.join(', ')}` : ''
      }${hints.join('')}`;
    }
    case 'invalid_type':
      if (!found || value === undefined) return `${text}: required (${issue.expected})`;
      return `${text}: expected ${issue.expected}, got ${show(value)}`;
    case 'too_small':
      if (issue.origin === 'array') return `${text}: empty list`;
      if (issue.message.startsWith('must')) return `${text}: ${show(value)} ${issue.message}`;
      return `${text}: ${show(value)} is below the minimum ${issue.minimum}${issue.inclusive ? '' : ' (exclusive)'}`;
    case 'too_big':
      if (issue.message.startsWith('must')) return `${text}: ${show(value)} ${issue.message}`;
      return `${text}: ${show(value)} is above the maximum ${issue.maximum}${issue.inclusive ? '' : ' (exclusive)'}`;
    default:
      return `${text}: ${issue.message}`;
  }
}

/** The keys an object at `path` accepts (for unknown-key messages). */
function allowedKeys(path: readonly PathKey[]): string[] | undefined {
  const top = path.filter((k) => typeof k === 'string')[0];
  const shapes: Record<string, z.ZodObject> = {
    dataset: DatasetSpec,
    model: ModelSpec,
    train: TrainSpec,
    prune: PruneSpec,
    unlearn: UnlearnSpec,
    unprune: UnpruneObject,
    evaluate: EvaluateSpec,
  };
  if (path.length === 0) return Object.keys(Sweep.shape);
  if (top === 'deletion') return ['kind', 'sizes', 'classes'];
  if (top === 'limits') return ['maxCells'];
  const shape = top ? shapes[top] : undefined;
  return shape ? Object.keys(shape.shape) : undefined;
}

/** The number of cells a (validated) sweep expands to. */
export function cellCount(s: Sweep): number {
  const sparsities = s.prune.reduce((n, p) => n + p.sparsity.length, 0);
  const deletions = s.deletion.reduce((n, d) => n + deletionInstances(d).length, 0);
  return (
    s.dataset.length * s.model.length * s.seeds.length * sparsities * deletions * s.unlearn.length * s.unprune.length
  );
}

/** One forget set per instance: random → one per size; class → one per (class, size), size default the whole class. */
export function deletionInstances(d: DeletionSpec): { kind: 'random' | 'class'; size: number; classes?: number[] }[] {
  if (d.kind === 'random') return (d.sizes ?? []).map((size) => ({ kind: 'random', size }));
  const sizes = d.sizes ?? [1];
  return (d.classes ?? []).flatMap((c) => sizes.map((size) => ({ kind: 'class' as const, size, classes: [c] })));
}

/**
 * Checks across fields: deletion sizes against the data, class ids, empty axes, repeated values, labels, and (for a
 * complete spec) the grid size. Runs on the fields that parsed even when others did not, so one pass reports every
 * problem.
 */
function semanticProblems(s: Partial<Sweep>, maxCells: number | undefined): string[] {
  const problems: string[] = [];
  const axes: [string, number | undefined][] = [
    ['seeds', s.seeds?.length],
    ['prune', s.prune?.length],
    ['unlearn', s.unlearn?.length],
    ['unprune', s.unprune?.length],
  ];
  for (const [field, n] of axes) if (n === 0) problems.push(`${field}: empty list; the grid would have 0 cells`);
  (s.dataset ?? []).forEach((ds, di) => {
    const where = s.dataset!.length > 1 ? `dataset[${di}]` : 'dataset';
    const trainSize = ds.train ?? DATASET_FACTS[ds.name].trainSize;
    if (ds.train !== undefined && ds.train > DATASET_FACTS[ds.name].trainSize && ds.name !== 'synthetic')
      problems.push(
        `${where}.train: ${ds.train} is larger than ${ds.name}'s ${DATASET_FACTS[ds.name].trainSize} training images`,
      );
    (s.deletion ?? []).forEach((d, i) => {
      const at = s.deletion!.length > 1 ? `deletion[${i}]` : 'deletion';
      (d.sizes ?? []).forEach((size, j) => {
        const p = d.sizes!.length > 1 ? `${at}.sizes[${j}]` : `${at}.sizes`;
        if (size >= 1 && !Number.isInteger(size))
          problems.push(`${p}: ${size} must be a fraction in (0, 1) or a whole count ≥ 1`);
        else if (d.kind === 'random' && size === 1)
          problems.push(`${p}: 1 would delete the whole training set (use a fraction < 1 or a count)`);
        else if (d.kind === 'random' && size > 1 && size >= trainSize)
          problems.push(
            `${p}: ${size} examples is not smaller than the ${trainSize}-example training set of ${where} (${ds.name})`,
          );
      });
      (d.classes ?? []).forEach((c, j) => {
        if (c >= DATASET_FACTS[ds.name].numClasses)
          problems.push(
            `${at}.classes${d.classes!.length > 1 ? `[${j}]` : ''}: class ${c} does not exist in ${ds.name} (classes 0-${DATASET_FACTS[ds.name].numClasses - 1})`,
          );
      });
    });
  });
  const labels = (items: { name?: string }[], key: (i: number) => string, field: string) => {
    const seen = new Map<string, number>();
    items.forEach((it, i) => {
      const label = it.name ?? key(i);
      if (seen.has(label))
        problems.push(`${field}[${i}]: duplicates ${field}[${seen.get(label)}] ("${label}"); give one a distinct name`);
      else seen.set(label, i);
    });
  };
  // Repeated axis values would run the same cells twice and double-count them in every mean.
  const distinct = (values: readonly (number | string)[], field: string) => {
    const seen = new Set<number | string>();
    for (const v of values) {
      if (seen.has(v)) problems.push(`${field}: ${JSON.stringify(v)} appears twice`);
      seen.add(v);
    }
  };
  distinct(s.seeds ?? [], 'seeds');
  (s.prune ?? []).forEach((p, i) => distinct(p.sparsity, `prune[${i}].sparsity`));
  (s.deletion ?? []).forEach((d, i) => {
    const at = s.deletion!.length > 1 ? `deletion[${i}]` : 'deletion';
    distinct(d.sizes ?? [], `${at}.sizes`);
    distinct(d.classes ?? [], `${at}.classes`);
  });
  if (s.unlearn) labels(s.unlearn, (i) => s.unlearn![i]!.method, 'unlearn');
  if (s.unprune) labels(s.unprune, (i) => unpruneLabel(s.unprune![i]!), 'unprune');
  (s.unprune ?? []).forEach((u, i) => {
    if (u.variant === 'regrow') return;
    for (const field of ['fraction', 'rounds', 'init'] as const)
      if (u[field] !== undefined)
        problems.push(`unprune[${i}].${field}: applies to the regrow variant only (this entry is ${u.variant})`);
  });
  if (problems.length === 0 && maxCells !== undefined) {
    const cells = cellCount(s as Sweep);
    if (cells === 0) problems.push('the grid has 0 cells');
    else if (cells > maxCells)
      problems.push(
        `the grid has ${cells} cells, above the limit of ${maxCells} (raise limits.maxCells or pass --max-cells)`,
      );
  }
  return problems;
}

export interface ParseOptions {
  /** Shown in syntax-error messages. */
  source?: string;
  /** Overrides the spec's limits.maxCells. */
  maxCells?: number;
}

/** Validates an already-parsed object. Throws SpecError listing every problem. */
export function validateSweep(raw: unknown, opts: ParseOptions = {}): Sweep {
  const parsed = Sweep.safeParse(raw);
  if (!parsed.success) {
    const seen = new Set<string>();
    const problems = parsed.error.issues.map((i) => issueMessage(raw, i)).filter((m) => !seen.has(m) && seen.add(m));
    // The fields that did parse still get their cross-field checks, so every problem is reported at once.
    const fields = raw as Record<string, unknown>;
    const partial = Object.fromEntries(
      Object.entries(Sweep.shape).flatMap(([key, schema]) => {
        const r = (schema as z.ZodType).safeParse(fields[key]);
        return r.success ? [[key, r.data]] : [];
      }),
    ) as Partial<Sweep>;
    throw new SpecError([...problems, ...semanticProblems(partial, undefined).filter((m) => !seen.has(m))]);
  }
  const problems = semanticProblems(parsed.data, opts.maxCells ?? parsed.data.limits.maxCells);
  if (problems.length) throw new SpecError(problems);
  return parsed.data;
}

/** Parses YAML (a superset of JSON) text into a validated sweep. */
export function parseSweep(text: string, opts: ParseOptions = {}): Sweep {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    // Every syntax error at once, each with its position and the line it is on.
    const lines = text.split('\n');
    throw new SpecError(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const where = `${opts.source ?? 'spec'}${pos ? `:${pos.line}:${pos.col}` : ''}`;
        const line = pos ? lines[pos.line - 1]?.trimEnd() : undefined;
        const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        return `${where}: YAML syntax error: ${message}${line ? ` — line ${pos!.line}: ${show(line.trim())}` : ''}`;
      }),
    );
  }
  let raw: unknown;
  try {
    // Aliases are resolved here (unresolved ones, and alias bombs past 100 expansions, throw).
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new SpecError([`${opts.source ?? 'spec'}: YAML error: ${(err as Error).message.split('\n')[0]}`]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new SpecError([`${opts.source ?? 'spec'}: expected a mapping of sweep fields (name, dataset, model, …)`]);
  return validateSweep(raw, opts);
}
