// Membership-inference attacks with an RBF SVC (C = 3, gamma = 1/n_features: scikit-learn's gamma="auto"): libsvm's
// solver as scikit-learn runs it, on the native addon (ml/metrics/rbf-svc.ts), else libsvm-js, the emscripten port of
// libsvm (the library inside scikit-learn's SVC). As in the reference code
// (Unlearn-Sparse evaluation/SVC_MIA.py), one SVC per feature type is trained on shadow members (label 1) vs shadow
// non-members (label 0) and applied to target sets.
import { createRequire } from 'node:module';

import { MIA_FEATURES, type MiaFeature } from '../catalog.js';
import { rbfSvcPredict, rbfSvcUnsupported, trainRbfSvc } from './rbf-svc.js';

/** Softmax outputs of a set: n × k probabilities (row-major) and the labels. */
export interface Outputs {
  probs: Float32Array;
  labels: Int32Array;
  classes: number;
}

const TINY = 1e-30;
const negLog = (p: number) => -Math.log(Math.max(p, TINY));

/**
 * One feature vector per sample. m_entropy is the intended definition (Song & Mittal 2021):
 * ME = −(1 − p_y) log p_y − Σ_{k≠y} p_k log(1 − p_k). The reference code indexes `probs[:, labels]` (whole columns)
 * and takes log(p) where log(1 − p) is meant; we implement the definition, not the bug.
 */
export function miaFeatures(out: Outputs, feature: MiaFeature): number[][] {
  const { probs, labels, classes: k } = out;
  const rows: number[][] = [];
  for (let i = 0; i < labels.length; i++) {
    const p = probs.subarray(i * k, (i + 1) * k);
    const y = labels[i]!;
    switch (feature) {
      case 'correctness': {
        let arg = 0;
        for (let j = 1; j < k; j++) if (p[j]! > p[arg]!) arg = j;
        rows.push([arg === y ? 1 : 0]);
        break;
      }
      case 'confidence':
        rows.push([p[y]!]);
        break;
      case 'entropy': {
        let h = 0;
        for (let j = 0; j < k; j++) if (p[j]! > 0) h -= p[j]! * Math.log(p[j]!);
        rows.push([h]);
        break;
      }
      case 'm_entropy': {
        let me = (1 - p[y]!) * negLog(p[y]!);
        for (let j = 0; j < k; j++) if (j !== y) me += p[j]! * negLog(1 - p[j]!);
        rows.push([me]);
        break;
      }
      case 'prob':
        rows.push(Array.from(p));
        break;
    }
  }
  return rows;
}

interface LibsvmModel {
  train(features: number[][], labels: number[]): void;
  predict(features: number[][]): number[];
  free(): void;
}
interface LibsvmClass {
  new (opts: Record<string, unknown>): LibsvmModel;
  KERNEL_TYPES: { RBF: number };
  SVM_TYPES: { C_SVC: number };
}

let svmClass: Promise<LibsvmClass> | undefined;
function loadLibsvm(): Promise<LibsvmClass> {
  svmClass ??= (async () => {
    // The emscripten loader tries fetch() on a file path when fetch exists (Node ≥ 18), fails, warns, then reads the
    // file; hiding fetch while it loads makes it read the .wasm file directly.
    const savedFetch = globalThis.fetch;
    (globalThis as { fetch?: typeof fetch }).fetch = undefined;
    try {
      return await (createRequire(import.meta.url)('libsvm-js') as Promise<LibsvmClass>);
    } finally {
      globalThis.fetch = savedFetch;
    }
  })();
  return svmClass;
}

export interface SvcOptions {
  cost?: number;
  gamma?: number;
  /** libsvm-js even where the native solver could run (the tests check both against scikit-learn). */
  solver?: 'auto' | 'libsvm-js';
}

/**
 * Trains one RBF C-SVC (C = 3, gamma = 1/n_features unless given) and predicts 0/1 labels for each query set: on
 * the native addon, scikit-learn's own solver path (ml/metrics/rbf-svc.ts); else libsvm-js (no addon, or not two
 * classes).
 */
export async function svcPredictSets(
  train: number[][],
  labels: number[],
  querySets: number[][][],
  opts: SvcOptions = {},
): Promise<number[][]> {
  if (querySets.every((q) => q.length === 0)) return querySets.map(() => []);
  const dims = train[0]?.length ?? 1;
  const cost = opts.cost ?? 3;
  const gamma = opts.gamma ?? 1 / dims;
  if (opts.solver !== 'libsvm-js' && !rbfSvcUnsupported(train.length, labels)) {
    const model = trainRbfSvc(Float64Array.from(train.flat()), dims, labels, { cost, gamma });
    return querySets.map((q) => (q.length ? rbfSvcPredict(model, Float64Array.from(q.flat())) : []));
  }
  const SVM = await loadLibsvm();
  const svm = new SVM({ kernel: SVM.KERNEL_TYPES.RBF, type: SVM.SVM_TYPES.C_SVC, cost, gamma, quiet: true });
  try {
    svm.train(train, labels);
    return querySets.map((q) => (q.length ? svm.predict(q) : []));
  } finally {
    svm.free();
  }
}

/** svcPredictSets for one query set. */
export async function svcPredict(
  train: number[][],
  labels: number[],
  queries: number[][],
  opts: SvcOptions = {},
): Promise<number[]> {
  return (await svcPredictSets(train, labels, [queries], opts))[0]!;
}

export interface MiaSets {
  shadowTrain: Outputs;
  shadowTest: Outputs;
  targetTrain?: Outputs;
  targetTest?: Outputs;
}

/** The reference attack (over `features`, default all five; only those appear in the result): per feature, mean of (pred = 1 on target members) and (pred = 0 on target non-members). */
export async function svcMia(
  sets: MiaSets,
  features: readonly MiaFeature[] = MIA_FEATURES,
): Promise<Record<MiaFeature, number>> {
  const result = {} as Record<MiaFeature, number>;
  for (const feature of features) {
    const xs = [...miaFeatures(sets.shadowTrain, feature), ...miaFeatures(sets.shadowTest, feature)];
    const ys = [
      ...new Array<number>(sets.shadowTrain.labels.length).fill(1),
      ...new Array<number>(sets.shadowTest.labels.length).fill(0),
    ];
    const members = sets.targetTrain?.labels.length ? sets.targetTrain : undefined;
    const nonMembers = sets.targetTest?.labels.length ? sets.targetTest : undefined;
    const [onMembers, onNonMembers] = await svcPredictSets(xs, ys, [
      members ? miaFeatures(members, feature) : [],
      nonMembers ? miaFeatures(nonMembers, feature) : [],
    ]);
    const scores: number[] = [];
    if (members) scores.push(onMembers!.filter((p) => p === 1).length / onMembers!.length);
    if (nonMembers) scores.push(onNonMembers!.filter((p) => p === 0).length / onNonMembers!.length);
    result[feature] = scores.length ? scores.reduce((a, b) => a + b) / scores.length : NaN;
  }
  return result;
}

/** Takes the first `count` rows of a set of outputs. */
export function headOutputs(o: Outputs, count: number, from = 0): Outputs {
  const end = Math.min(o.labels.length, from + count);
  return {
    probs: o.probs.subarray(from * o.classes, end * o.classes),
    labels: o.labels.subarray(from, end),
    classes: o.classes,
  };
}

/**
 * MIA-efficacy: the attack trained on D_r[:|D_t|] (members) vs D_t (non-members), applied to D_f; the fraction of
 * D_f judged a non-member, per feature (higher = more forgotten).
 */
export function miaEfficacy(
  retain: Outputs,
  test: Outputs,
  forget: Outputs,
  features: readonly MiaFeature[] = MIA_FEATURES,
  /** Shadow members (default as many as non-members, the reference's 1:1). */
  members = test.labels.length,
): Promise<Record<MiaFeature, number>> {
  return svcMia({ shadowTrain: headOutputs(retain, members), shadowTest: test, targetTest: forget }, features);
}
