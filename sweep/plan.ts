// Grid → stage DAG. Every stage has a content key: a hash of its kind, the kind's version, its canonical parameters
// and its inputs' keys, so equal work gets one key and runs once (within a sweep, across sweeps, across reruns).
// Deterministic; planned by activities and the CLI, never in workflow code (which does not import this file), so
// the hash is node:crypto's sha256 (@noble/hashes' pure-JS one made planning the paper grid 6× slower).
import { createHash } from 'node:crypto';
import { maskDependsOnData, rewindStartEpoch } from '../ml/catalog.js';
import { MEASURED } from './results/result-metrics.js';
import {
  deletionInstances,
  REGROW_DEFAULTS,
  unpruneLabel,
  type PruneSpec,
  type Sweep,
  type UnlearnSpec,
} from './spec.js';

export { unpruneLabel };
import {
  closure,
  PLANNED_KINDS,
  STAGE_KIND,
  type AnyStage,
  type DatasetRef,
  type DeletionRef,
  type LineageParams,
  type PruneParams,
  type StageInputs,
  type StageKind,
  type StageNode,
  type StageParams,
} from './stage-kinds.js';

export * from './stage-kinds.js';

/** The axes of one cell, named as result columns. */
export interface CellAxes {
  dataset: string;
  arch: string;
  seed: number;
  prune: string;
  sparsity: number;
  deletion: string;
  deletion_size: number;
  unlearn: string;
  unprune: string;
}

export interface Cell {
  axes: CellAxes;
  /** The cell's own evaluation, and the shared ones its row joins (gold model; pruned model before unlearning). */
  evaluate: string;
  goldEvaluate: string;
  originalEvaluate: string;
  /** Keys of the stages on the cell's chain, by role (for rows and debugging). */
  chain: Record<string, string>;
}

export interface Plan {
  sweep: Sweep;
  /** The sweep's id: its name plus a hash of its resolved spec. */
  id: string;
  /** Deduplicated stages in dependency order (every stage after its inputs). */
  stages: AnyStage[];
  cells: Cell[];
}

/** JSON with sorted keys and no undefined members: the canonical form that keys hash. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function stageKey(kind: StageKind, params: unknown, inputs: Record<string, string | undefined>): string {
  const version = STAGE_KIND[kind].version;
  return `${kind}-${hashText(canonicalJson({ kind, version, params, inputs })).slice(0, 24)}`;
}

export function unlearnLabel(u: UnlearnSpec): string {
  return u.name ?? u.method;
}
export function pruneLabel(p: PruneSpec): string {
  return p.method;
}
export function deletionLabel(d: DeletionRef): string {
  return d.kind === 'random' ? 'random' : `class:${(d.classes ?? []).join('+')}`;
}

export function planSweep(sweep: Sweep): Plan {
  const stages = new Map<string, AnyStage>();
  const add = <K extends StageKind>(
    kind: K,
    params: StageParams<K>,
    inputs: StageInputs<K>,
    runtime?: StageNode['runtime'],
  ): string => {
    const key = stageKey(kind, params, inputs as Record<string, string>);
    if (!stages.has(key)) stages.set(key, { key, kind, params, inputs, runtime } as unknown as AnyStage);
    return key;
  };
  const cells: Cell[] = [];
  for (const ds of sweep.dataset) {
    const dataset: DatasetRef = {
      name: ds.name,
      train: ds.train ?? null,
      test: ds.test ?? null,
      subsetSeed: ds.subsetSeed,
    };
    const runtime = ds.dir ? { datasetDir: ds.dir } : undefined;
    for (const model of sweep.model) {
      for (const seed of sweep.seeds) {
        const lineage: LineageParams = { dataset, arch: model.arch, train: sweep.train, seed };
        // The rewind estimator's starting points: the original training keeps its checkpoints there.
        const keep = rewindEpochs(sweep);
        const trainD = add('train', { ...lineage, sample: 'all', ...(keep.length ? { keep } : {}) }, {}, runtime);
        for (const del of sweep.deletion) {
          for (const inst of deletionInstances(del)) {
            const deletion: DeletionRef = { kind: inst.kind, size: inst.size, classes: inst.classes ?? null };
            const forget = add('forget', { dataset, deletion, seed }, {}, runtime);
            const trainR = add('train', { ...lineage, sample: 'retain' }, { forget }, runtime);
            // The noise floor: the gold pipeline again (its mask only), same init, the first alternative batch order.
            const trainRFloor = () => add('train', { ...lineage, sample: 'retain', reshuffle: 1 }, { forget }, runtime);
            // The init floor: the gold pipeline from the first alternative init, in the gold run's batch order.
            const trainRFloorInit = () =>
              add('train', { ...lineage, sample: 'retain', reinit: 1 }, { forget }, runtime);
            for (const p of sweep.prune) {
              for (const sparsity of p.sparsity) {
                const pp: PruneParams = { ...p, sparsity };
                const prune = add('prune', { ...lineage, prune: pp }, { train: trainD }, runtime);
                // A data-free mask (SynFlow's 100 rounds on the init) is the original's: the gold reads it.
                const dataFree = maskDependsOnData(p.method) ? {} : { mask: prune };
                const gold = add('gold', { ...lineage, prune: pp }, { train: trainR, forget, ...dataFree }, runtime);
                const floor =
                  sweep.evaluate.floor && maskDependsOnData(p.method)
                    ? add(
                        'gold',
                        { ...lineage, prune: pp, reshuffle: 1, maskOnly: true },
                        { train: trainRFloor(), forget },
                        runtime,
                      )
                    : undefined;
                const floorInit =
                  sweep.evaluate.floorInit && maskDependsOnData(p.method)
                    ? add(
                        'gold',
                        { ...lineage, prune: pp, reinit: 1, maskOnly: true },
                        { train: trainRFloorInit(), forget },
                        runtime,
                      )
                    : undefined;
                const evalParams = {
                  dataset,
                  arch: model.arch,
                  evaluate: sweep.evaluate,
                  seed,
                  measures: MEASURED,
                  // Whole classes only (size 1, as the forget stage reads it); part of a class stays in the test set.
                  filterLevel: p.method === 'structured',
                  forgottenClasses: deletion.kind === 'class' && deletion.size === 1 ? deletion.classes : null,
                };
                const evaluate = (m: string) =>
                  add('evaluate', evalParams, { model: m, prune, gold, forget, floor, floorInit }, runtime);
                const goldEvaluate = evaluate(gold);
                const originalEvaluate = evaluate(prune);
                for (const u of sweep.unlearn) {
                  for (const up of sweep.unprune) {
                    const chain: Record<string, string> = { trainD, forget, trainR, prune, gold };
                    if (floor) chain.floor = floor;
                    if (floorInit) chain.floorInit = floorInit;
                    const variant = maskDependsOnData(p.method) ? up.variant : 'none';
                    let finalModel = prune;
                    const unlearnOf = (m: string) =>
                      add('unlearn', { ...lineage, unlearn: u }, { model: m, train: trainD, forget }, runtime);
                    const unpruneOf = (m: string) => {
                      const estimate = add(
                        'estimate',
                        {
                          ...lineage,
                          estimator: up.estimator,
                          epochs: up.epochs ?? null,
                          unlearn: up.estimator === 'unlearn' ? u : null,
                        },
                        { train: trainD, forget },
                        runtime,
                      );
                      chain.estimate = estimate;
                      return add(
                        'unprune',
                        {
                          ...lineage,
                          variant: 'reprune',
                          estimator: up.estimator,
                          epochs: up.epochs ?? null,
                          prune: pp,
                          regrow: null,
                          unlearn: null,
                        },
                        { model: m, prune, train: trainD, forget, estimate },
                        runtime,
                      );
                    };
                    if (variant === 'none') {
                      finalModel = chain.unlearn = unlearnOf(prune);
                    } else if (variant === 'regrow') {
                      // The paper's rounds run the cell's unlearning inside: one stage, no separate unlearn.
                      finalModel = chain.unprune = add(
                        'unprune',
                        {
                          ...lineage,
                          variant: 'regrow',
                          estimator: null,
                          epochs: null,
                          prune: pp,
                          regrow: {
                            fraction: up.fraction ?? REGROW_DEFAULTS.fraction,
                            rounds: up.rounds ?? REGROW_DEFAULTS.rounds,
                            init: up.init ?? REGROW_DEFAULTS.init,
                          },
                          unlearn: u,
                        },
                        { model: prune, prune, train: trainD, forget },
                        runtime,
                      );
                    } else if (up.order === 'unlearn-first') {
                      chain.unlearn = unlearnOf(prune);
                      finalModel = chain.unprune = unpruneOf(chain.unlearn);
                    } else {
                      chain.unprune = unpruneOf(prune);
                      finalModel = chain.unlearn = unlearnOf(chain.unprune);
                    }
                    cells.push({
                      axes: {
                        dataset: ds.name,
                        arch: lineage.arch,
                        seed,
                        prune: pruneLabel(p),
                        sparsity,
                        deletion: deletionLabel(deletion),
                        deletion_size: deletion.size,
                        unlearn: unlearnLabel(u),
                        unprune: unpruneLabel(up),
                      },
                      evaluate: evaluate(finalModel),
                      goldEvaluate,
                      originalEvaluate,
                      chain,
                    });
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  return { sweep, id: sweepId(sweep), stages: [...stages.values()], cells };
}

export function sweepId(sweep: Sweep): string {
  return `${sweep.name}-${hashText(canonicalJson(sweep)).slice(0, 8)}`;
}

export interface PlanCounts {
  cells: number;
  planned: number;
  /** Every cell running its own chain (each stage its row needs, nothing shared). */
  naive: number;
  byKind: Record<StageKind, number>;
  naiveByKind: Record<StageKind, number>;
}

export function planCounts(plan: Plan): PlanCounts {
  const byKey = new Map(plan.stages.map((s) => [s.key, s] as const));
  const zero = () => Object.fromEntries(PLANNED_KINDS.map((k) => [k, 0])) as Record<StageKind, number>;
  const byKind = zero();
  for (const s of plan.stages) byKind[s.kind]++;
  const naiveByKind = zero();
  let naive = 0;
  for (const c of plan.cells) {
    for (const k of closure(byKey, [c.evaluate, c.goldEvaluate, c.originalEvaluate])) {
      naiveByKind[byKey.get(k)!.kind]++;
      naive++;
    }
  }
  return { cells: plan.cells.length, planned: plan.stages.length, naive, byKind, naiveByKind };
}

/** The epochs whose checkpoints the original training keeps for the sweep's `rewind` estimators (0: the init). */
export function rewindEpochs(sweep: Sweep): number[] {
  const epochs = sweep.unprune
    .filter((u) => u.variant === 'reprune' && u.estimator === 'rewind')
    .map((u) => rewindStartEpoch(sweep.train.epochs, u.epochs))
    .filter((e) => e > 0);
  return [...new Set(epochs)].sort((a, b) => a - b);
}
