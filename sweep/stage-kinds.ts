// The stage-kind registry: every kind declared once — name, version, task queue, params and inputs types, output
// blobs. The plan's node types, the versions hashed into keys, the Temporal queues and activity map, the dispatch
// (activities/run-stage.ts binds one run function per kind, checked exhaustive by the compiler) and the manifest
// check of outputs all derive from this table. It lives in sweep/ (not beside the run functions) because the plan
// hashes each kind's version into its keys and sweep/ sits below activities/. Apart from plan.ts so that a worker
// process can read keys without loading the spec's parser (zod, yaml): spec types are imported as types only.
import type { RegrowInit } from '../ml/catalog.js';
import type { MEASURED } from './results/result-metrics.js';
import type { DatasetSpec, EvaluateSpec, PruneSpec, TrainSpec, UnlearnSpec, UnpruneSpec } from './spec.js';

/** The data set as far as content goes (its folder is where, not what: it lives in `runtime`). */
export interface DatasetRef {
  name: DatasetSpec['name'];
  train: number | null;
  test: number | null;
  subsetSeed: number;
}

/** What every model-touching stage needs to rebuild its inputs. */
export interface LineageParams {
  dataset: DatasetRef;
  arch: string;
  train: TrainSpec;
  seed: number;
  /**
   * The noise floor's gold pipeline: the same init (from `seed`) with the k-th alternative batch order. Absent
   * (not null, so that ordinary stages keep their keys) for every other stage.
   */
  reshuffle?: number;
  /**
   * The init floor's gold pipeline: the k-th alternative init, the gold run's batch order. Absent for every other
   * stage (their keys unchanged).
   */
  reinit?: number;
  /**
   * Epochs after which the original training keeps its checkpoint (weights and optimiser state) for the `rewind`
   * estimator. Absent unless a spec asks for it (every other train stage keeps its key).
   */
  keep?: number[];
}

export interface DeletionRef {
  kind: 'random' | 'class';
  size: number;
  classes: number[] | null;
}

export type PruneParams = Omit<PruneSpec, 'sparsity'> & { sparsity: number };

/** A model artifact (prune, gold, unlearn, unprune): its weights, the mask in force, and how it came to be. */
const MODEL_OUTPUTS = ['weights.bin', 'mask.bin', 'info.json'] as const;

/** One kind's declaration. `P` and `I` (params, input roles → keys) exist only as types. */
export interface StageKindDef<P, I> {
  /** Bumped when the kind's implementation changes its output, so stores recompute (it is hashed into keys). */
  version: number;
  /** `gpu`: heavy tensor work; `cpu`: light stages. Temporal task queues and worker roles follow it. */
  queue: 'gpu' | 'cpu';
  /** The blobs a finished stage holds (its manifest is written after them). */
  outputs: readonly string[];
  /** False for kinds that no sweep plan contains (engine benchmarks). */
  planned: boolean;
  /**
   * Seconds a running stage may go without a sign of life before the engine kills its process and retries it
   * (stages yield between batches; the longest single step measured is well under a second). Default 120.
   */
  stallSeconds?: number;
  readonly types?: { params: P; inputs: I };
}

const kind = <P, I>(def: Omit<StageKindDef<P, I>, 'types'>): StageKindDef<P, I> => def;

export const STAGE_KIND = {
  /** Dense training from the seeded init on all of D, or on D_r. 2: records its examples (cost). */
  train: kind<LineageParams & { sample: 'all' | 'retain' }, { forget?: string }>({
    version: 2,
    queue: 'gpu',
    outputs: ['weights.bin', 'init.bin'],
    planned: true,
  }),
  /** D_f's indices. */
  forget: kind<{ dataset: DatasetRef; deletion: DeletionRef; seed: number }, Record<string, never>>({
    version: 1,
    queue: 'cpu',
    outputs: ['indices.bin'],
    planned: true,
  }),
  /**
   * The dense model of D pruned. 2: wall times moved from blobs to manifests (blobs byte-identical across runs).
   * 3: the seeds of OMP's fine-tune, IMP's rounds and SFP's soft epochs derived by name (were offsets); SFP's soft
   * epochs continue at the schedule's last learning rate (were a fresh schedule at the full base rate). 4: records
   * its examples (cost).
   */
  prune: kind<LineageParams & { prune: PruneParams }, { train: string }>({
    version: 4,
    queue: 'gpu',
    outputs: MODEL_OUTPUTS,
    planned: true,
  }),
  /**
   * θ_r, m_r: the dense model of D_r pruned the same way on D_r. 2, 3, 4: as prune. `mask`: for a pruning method
   * whose mask does not depend on the data (SynFlow, random), the original's prune stage, whose mask m_r is by
   * construction (the same init and seed): read, not recomputed. `maskOnly`: a noise floor's run, read only for its
   * mask m_r′ (m_r″): the training after the mask is fixed is not run, and its weights are the masked ones that
   * training would start from (absent on every other gold stage, whose keys are unchanged).
   */
  gold: kind<LineageParams & { prune: PruneParams; maskOnly?: true }, { train: string; forget: string; mask?: string }>(
    {
      version: 4,
      queue: 'gpu',
      outputs: MODEL_OUTPUTS,
      planned: true,
    },
  ),
  /**
   * θ̂_r, the retained-data dense weights, shared by every cell that uses the same estimator. 2: seeds by name; the
   * retrain estimator stops the gold run early (was: a shorter run, its cosine schedule rescaled). 3: records its
   * examples (cost).
   */
  estimate: kind<
    LineageParams & { estimator: UnpruneSpec['estimator']; epochs: number | null; unlearn: UnlearnSpec | null },
    { train: string; forget: string }
  >({ version: 3, queue: 'gpu', outputs: ['weights.bin'], planned: true }),
  /**
   * One unlearning algorithm on a sparse model, its mask enforced. 3: seeds derived by name; NegGrad+ standard form.
   * 4: carries the chain's un-pruning cost.
   */
  unlearn: kind<LineageParams & { unlearn: UnlearnSpec }, { model: string; train: string; forget: string }>({
    version: 4,
    queue: 'gpu',
    outputs: MODEL_OUTPUTS,
    planned: true,
  }),
  /**
   * The repaired mask m_u and weights. 3: IMP cells re-prune by replaying IMP's rounds from θ̂_r. 4: seeds by name;
   * replayed rounds stop early (schedule kept); global-scope cells re-prune at the global budget; structured cells
   * replay SFP's soft epochs from θ̂_r. 5: regrow (the paper's rounds, with the cell's unlearning inside; no
   * estimate); swap removed; every model stage records the examples it trained on (its cost).
   */
  unprune: kind<
    LineageParams & {
      variant: Exclude<UnpruneSpec['variant'], 'none'>;
      /** reprune's estimator and its epochs (null for regrow). */
      estimator: UnpruneSpec['estimator'] | null;
      /** The retrain estimator's epochs (IMP cells replay their rounds with as many). */
      epochs: number | null;
      prune: PruneParams;
      /** regrow's settings and the unlearning it runs in each round (null for reprune). */
      regrow: { fraction: number; rounds: number; init: RegrowInit } | null;
      unlearn: UnlearnSpec | null;
    },
    { model: string; prune: string; train: string; forget: string; estimate?: string }
  >({ version: 5, queue: 'gpu', outputs: MODEL_OUTPUTS, planned: true }),
  /**
   * One model's measurements (sweep/result-metrics.ts says which; their list is hashed into this kind's keys).
   * 3: records the chain's full un-pruning cost and the gold standard's. 4: measures how far the weights moved.
   */
  evaluate: kind<
    {
      dataset: DatasetRef;
      arch: string;
      evaluate: EvaluateSpec;
      seed: number;
      /** What it measures: a new measurement makes new keys, so cached rows are recomputed, never shown blank. */
      measures: typeof MEASURED;
      /** Class-wise deletion: these classes leave the test set and MIA's non-members (TA on them is reported apart). */
      forgottenClasses: number[] | null;
      /** Structured pruning: masks are also compared at filter granularity. */
      filterLevel: boolean;
    },
    /** floor: the gold pipeline rerun with another batch order (m_r′); floorInit: with another init (m_r″). */
    { model: string; prune: string; gold: string; forget: string; floor?: string; floorInit?: string }
    // Version 5: the attack's SVC takes scikit-learn's solver path and the softmax is computed in double, so rows
    // cached by version 4 are recomputed rather than mixed with new ones in a table.
  >({ version: 5, queue: 'cpu', outputs: ['metrics.json'], planned: true }),
  /** Computes nothing for `sleepMs`: measures the engines' own cost per stage (bench/scheduler.ts). */
  noop: kind<{ index: number; sleepMs: number }, { after?: string }>({
    version: 1,
    queue: 'cpu',
    outputs: [],
    planned: false,
  }),
};

export type StageKind = keyof typeof STAGE_KIND;
type DefOf<K extends StageKind> = (typeof STAGE_KIND)[K];
export type StageParams<K extends StageKind> = DefOf<K> extends StageKindDef<infer P, unknown> ? P : never;
export type StageInputs<K extends StageKind> = DefOf<K> extends StageKindDef<unknown, infer I> ? I : never;

export const STAGE_KINDS = Object.keys(STAGE_KIND) as StageKind[];
/** The kinds a sweep plan contains (plan tables and counts list these). */
export const PLANNED_KINDS = STAGE_KINDS.filter((k) => STAGE_KIND[k].planned);

export interface StageNode<K extends StageKind = StageKind> {
  key: string;
  kind: K;
  params: StageParams<K>;
  inputs: StageInputs<K>;
  /** Execution details that do not change the output (not hashed). */
  runtime?: { datasetDir?: string };
}

export type AnyStage = { [K in StageKind]: StageNode<K> }[StageKind];

/** A kind's liveness limit in seconds (its `stallSeconds`, default 120): both engines' silence timeout. */
export function stallSecondsOf(kind: StageKind): number {
  return STAGE_KIND[kind].stallSeconds ?? 120;
}

/** Keys name their kind (`prune-3fa…`), so an input key locates its artifacts without a lookup. */
export function kindOfKey(key: string): StageKind {
  const k = key.slice(0, key.indexOf('-'));
  if (!Object.hasOwn(STAGE_KIND, k)) throw new Error(`"${key}" is not a stage key`);
  return k as StageKind;
}

/** The input keys of a stage, whatever its kind. */
export function inputKeys(stage: { inputs: object }): string[] {
  return Object.values(stage.inputs as Record<string, string | undefined>).filter((k): k is string => !!k);
}

/** The stages a key depends on, itself included. */
export function closure(byKey: Map<string, { inputs: object }>, roots: string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length) {
    const k = stack.pop()!;
    if (seen.has(k)) continue;
    seen.add(k);
    const s = byKey.get(k);
    if (s) stack.push(...inputKeys(s));
  }
  return seen;
}
