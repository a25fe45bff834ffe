// The attack's two-class RBF C-SVC on the native addon (ml/kernels/native/rbf_svc.c: libsvm's SMO solver step for
// step). This side arranges the problem as scikit-learn's SVC hands it to libsvm — labels sorted, the first class
// +1, the training rows grouped by class in their given order — so the solver takes scikit-learn's path and its
// decisions are scikit-learn's (test/ml/rbf-svc.test.ts compares intercepts and decisions). svcPredict in
// ml/metrics/mia.ts falls back to libsvm-js where the addon is absent or the problem is not one this handles.
import { loadNativeBlas } from '../kernels/native-blas.js';

/** Largest training set solved natively: the solver caches the whole kernel matrix as float32 (256 MB here). */
export const RBF_SVC_MAX_POINTS = 8192;

export interface RbfSvcModel {
  /** The two labels, sorted; a positive decision value predicts the first. */
  labels: [number, number];
  dims: number;
  gamma: number;
  /** Support vectors (row-major, `dims` each) in the class-grouped training order, and their α·y. */
  vectors: Float64Array;
  coefficients: Float64Array;
  rho: number;
  iterations: number;
}

/** Why trainRbfSvc cannot take this problem (svcPredict then uses libsvm-js), or undefined when it can. */
export function rbfSvcUnsupported(rows: number, labels: ArrayLike<number>): string | undefined {
  const addon = loadNativeBlas();
  if (!addon || typeof addon.rbfSvcSolve !== 'function') return 'the native addon is not loaded';
  if (rows > RBF_SVC_MAX_POINTS) return `${rows} training points (at most ${RBF_SVC_MAX_POINTS})`;
  const classes = new Set(Array.from(labels)).size;
  return classes === 2 ? undefined : `${classes} classes (two are needed)`;
}

/** Trains on rows `x` (n × dims, row-major) labelled `y`; check rbfSvcUnsupported first. */
export function trainRbfSvc(
  x: Float64Array,
  dims: number,
  y: ArrayLike<number>,
  opts: { cost: number; gamma: number; tolerance?: number },
): RbfSvcModel {
  const addon = loadNativeBlas();
  const n = y.length;
  const reason = rbfSvcUnsupported(n, y);
  if (reason || !addon) throw new RangeError(`rbf-svc: ${reason}`);
  const labels = [...new Set(Array.from(y))].sort((a, b) => a - b) as [number, number];
  const order: number[] = [];
  for (const label of labels) for (let i = 0; i < n; i++) if (y[i] === label) order.push(i);
  const xs = new Float64Array(n * dims);
  const sign = new Int8Array(n);
  order.forEach((src, p) => {
    xs.set(x.subarray(src * dims, (src + 1) * dims), p * dims);
    sign[p] = y[src] === labels[0] ? 1 : -1;
  });
  const alpha = new Float64Array(n);
  const [rho, iterations] = addon.rbfSvcSolve(
    xs,
    sign,
    alpha,
    Float64Array.of(dims, opts.cost, opts.gamma, opts.tolerance ?? 1e-3),
  );
  let count = 0;
  for (let p = 0; p < n; p++) if (alpha[p] !== 0) count++;
  const vectors = new Float64Array(count * dims);
  const coefficients = new Float64Array(count);
  for (let p = 0, q = 0; p < n; p++) {
    if (alpha[p] === 0) continue;
    vectors.set(xs.subarray(p * dims, (p + 1) * dims), q * dims);
    coefficients[q++] = alpha[p]! * sign[p]!;
  }
  return { labels, dims, gamma: opts.gamma, vectors, coefficients, rho: rho!, iterations: iterations! };
}

/**
 * libsvm's decision values Σ_v coef_v·exp(−γ‖x − sv_v‖²) − ρ for each row of `x` (n × dims). With `signsOnly`, a
 * value whose sign is certain comes from a faster exp and may differ from libsvm's in its last digits; its sign
 * does not (the others are libsvm's exactly).
 */
export function rbfSvcDecisions(model: RbfSvcModel, x: Float64Array, signsOnly = false): Float64Array {
  const out = new Float64Array(x.length / model.dims);
  loadNativeBlas()!.rbfSvcDecisions(
    x,
    model.vectors,
    model.coefficients,
    out,
    Float64Array.of(model.dims, model.gamma, model.rho, signsOnly ? 1 : 0),
  );
  return out;
}

/** The predicted label of each row of `x`: the first label where the decision value is > 0, as libsvm decides. */
export function rbfSvcPredict(model: RbfSvcModel, x: Float64Array): number[] {
  return Array.from(rbfSvcDecisions(model, x, true), (d) => (d > 0 ? model.labels[0] : model.labels[1]));
}
