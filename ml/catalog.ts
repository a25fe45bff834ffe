// The names the science core offers, and the facts about them that other rooms need before any tensor exists:
// data sets (sizes, classes), architectures, pruning methods, unlearning algorithms, un-pruning variants, orders,
// estimators, MIA features. Declared once here; ml/'s registries are typed by these lists (the compiler checks
// each has one implementation per name) and sweep/spec.ts builds its schema from them. Imports nothing, so the
// spec (and the Temporal workflow bundle that parses specs) can load it without tfjs.

export const DATASET_NAMES = ['mnist', 'fashion-mnist', 'cifar10', 'synthetic'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export const DATASET_FACTS: Record<DatasetName, { trainSize: number; testSize: number; numClasses: number }> = {
  mnist: { trainSize: 60000, testSize: 10000, numClasses: 10 },
  'fashion-mnist': { trainSize: 60000, testSize: 10000, numClasses: 10 },
  cifar10: { trainSize: 50000, testSize: 10000, numClasses: 10 },
  /** Generated: these are its defaults. */
  synthetic: { trainSize: 512, testSize: 256, numClasses: 4 },
};

export const ARCH_NAMES = ['mlp', 'lenet5', 'vgg-small', 'resnet8', 'resnet20'] as const;
export type ArchName = (typeof ARCH_NAMES)[number];

export const PRUNE_METHODS = ['omp', 'imp', 'synflow', 'structured', 'random'] as const;
export type PruneMethod = (typeof PRUNE_METHODS)[number];

/**
 * Whether a method's mask depends on the training data. SynFlow's depends only on the init, random's on a seed:
 * deleting data cannot change them, so un-pruning has nothing to repair (a sanity check the sweeps keep).
 */
export function maskDependsOnData(method: PruneMethod): boolean {
  return method !== 'synflow' && method !== 'random';
}

export const UNLEARN_METHODS = [
  'retrain',
  'ft',
  'ga',
  'neggrad+',
  'rl',
  'l1-sparse',
  'salun',
  'scrub',
  'ff',
  'iu',
] as const;
export type UnlearnMethod = (typeof UNLEARN_METHODS)[number];

/**
 * none; reprune (re-score an estimate of the retained-data weights with the cell's criterion); regrow (the paper's
 * grow → unlearn → re-prune rounds, as its reviewers describe it). (`swap` was removed: it gave IoU ≈ 0.2 to m_r.)
 */
export const UNPRUNE_VARIANTS = ['none', 'reprune', 'regrow'] as const;
export type UnpruneVariant = (typeof UNPRUNE_VARIANTS)[number];
export const UNPRUNE_ORDERS = ['unprune-first', 'unlearn-first'] as const;
export type UnpruneOrder = (typeof UNPRUNE_ORDERS)[number];

/** regrow's re-initialisation of regrown weights: their values at θ_0, or a fresh draw of the initialiser. */
export const REGROW_INITS = ['original', 'random'] as const;
export type RegrowInit = (typeof REGROW_INITS)[number];

/**
 * How un-pruning estimates θ̂_r: truncated `retrain` (the gold run stopped early), `influence` (a Newton step with
 * the diagonal Fisher), `influence-cg` (the Newton step solved by conjugate gradients on Hessian-vector products),
 * a dense `finetune`, the cell's `unlearn`ing algorithm applied densely, or `rewind`: the original training's own
 * trajectory, rewound to its checkpoint `epochs` before the end (weights and optimiser state, kept by the original
 * training) and replayed from there on D_r, the rest of its schedule unchanged.
 */
export const ESTIMATORS = ['retrain', 'influence', 'influence-cg', 'finetune', 'unlearn', 'rewind'] as const;
export type Estimator = (typeof ESTIMATORS)[number];

/** Where `rewind` starts: `epochs` (default 1) before the end of a training of `trainEpochs` (0: the init). */
export function rewindStartEpoch(trainEpochs: number, epochs: number | null | undefined): number {
  return Math.max(0, trainEpochs - (epochs ?? 1));
}

export const MIA_FEATURES = ['confidence', 'correctness', 'entropy', 'm_entropy', 'prob'] as const;
export type MiaFeature = (typeof MIA_FEATURES)[number];

/** Compute backends (ml/backend.ts loads them): `auto` picks the first that loads, in ml/backend.ts's order. */
export const BACKEND_CHOICES = ['auto', 'node-gpu', 'node', 'blas', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export type ConcreteBackend = Exclude<BackendChoice, 'auto'>;
