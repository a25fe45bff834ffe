// IU, influence unlearning with a WoodFisher inverse-Hessian estimate (Unlearn-Sparse `Wfisher`/`woodfisher`):
//   G_f = Σ_{D_f} ∇ℓ_i, G_r = Σ_{D_r} ∇ℓ_i, n = n_f + n_r, v = G_f/n − G_r·n_f/(n·n_r)
//   k ← v; o ← g_1; for each further retained example t (per-example gradient g_t, up to N + 1 of them):
//     τ = o·g_t;  k ← k − (k·g_t)/(N + τ)·o;  o ← o − τ/(N + τ)·o
//   θ ← θ + α·k, then the mask is re-applied. Defaults N = 1000, α = 1.
// The recursion (the reference's) tracks a single vector o, so it equals the inverse it stands for,
//   k = (I + (1/N)·Σ_{t≥2} g_t g_tᵀ)⁻¹ v  (the first gradient only seeds o),
// only when every g_t is collinear. `inverse: exact` computes that same k exactly (Woodbury identity over the
// visited gradients, which it keeps: memory N·#parameters·8 bytes), for comparison.
import { deriveSeed, SeededRandom } from '../data/seeded-random.js';
import { InvalidConfigError } from '../errors.js';
import { gradientStatistics } from '../gradient-statistics.js';
import { Network, type Weights } from '../models/network.js';
import { applyMask } from '../prune/mask-ops.js';
import { maskGradients, type UnlearnInputs, type UnlearnParams } from './unlearn-context.js';

export interface WoodFisherParams extends UnlearnParams {
  /** N in the recursion (also the number of retained examples it visits, + 1). */
  samples?: number;
  /** `woodfisher` (default: the reference's recursion) or `exact` (the inverse it approximates). */
  inverse?: 'woodfisher' | 'exact';
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** The WoodFisher recursion: an estimate of N·F⁻¹·v from per-example gradients (exported for its closed-form test). */
export function woodfisherInverse(v: Float64Array, gradients: Iterable<Float64Array>, N: number): Float64Array {
  const k = Float64Array.from(v);
  let o: Float64Array | undefined;
  for (const g of gradients) {
    if (!o) {
      o = Float64Array.from(g);
      continue;
    }
    const tau = dot(o, g);
    const kg = dot(k, g) / (N + tau);
    for (let i = 0; i < k.length; i++) k[i]! -= kg * o[i]!;
    const shrink = tau / (N + tau);
    for (let i = 0; i < o.length; i++) o[i]! -= shrink * o[i]!;
  }
  return k;
}

/**
 * k = (I + (1/N)·Σ_{t≥2} g_t g_tᵀ)⁻¹ v exactly, by the Woodbury identity: with G the matrix of g_2…g_T as rows,
 * (I + GᵀG/N)⁻¹ v = v − Gᵀ (N·I + G Gᵀ)⁻¹ G v (a T×T Cholesky solve).
 */
export function exactFisherInverse(v: Float64Array, gradients: Iterable<Float64Array>, N: number): Float64Array {
  const G = [...gradients].slice(1);
  const T = G.length;
  const A = new Float64Array(T * T);
  for (let i = 0; i < T; i++)
    for (let j = 0; j <= i; j++) A[i * T + j] = A[j * T + i] = dot(G[i]!, G[j]!) + (i === j ? N : 0);
  const y = Float64Array.from(G, (g) => dot(g, v));
  // Cholesky A = L Lᵀ (A is symmetric positive definite: N > 0 plus a Gram matrix), then two triangular solves.
  const L = new Float64Array(T * T);
  for (let i = 0; i < T; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * T + j]!;
      for (let p = 0; p < j; p++) s -= L[i * T + p]! * L[j * T + p]!;
      L[i * T + j] = i === j ? Math.sqrt(s) : s / L[j * T + j]!;
    }
  }
  for (let i = 0; i < T; i++) {
    let s = y[i]!;
    for (let p = 0; p < i; p++) s -= L[i * T + p]! * y[p]!;
    y[i] = s / L[i * T + i]!;
  }
  for (let i = T - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let p = i + 1; p < T; p++) s -= L[p * T + i]! * y[p]!;
    y[i] = s / L[i * T + i]!;
  }
  const k = Float64Array.from(v);
  G.forEach((g, t) => {
    for (let i = 0; i < k.length; i++) k[i]! -= y[t]! * g[i]!;
  });
  return k;
}

export function woodfisherUnlearn(inputs: UnlearnInputs, params: WoodFisherParams): Promise<Weights> {
  const N = params.samples ?? 1000;
  const alpha = params.alpha ?? 1;
  const net = new Network(inputs.def, inputs.weights);
  try {
    const names = inputs.def.params.filter((p) => p.trainable).map((p) => p.name);
    // Masked (default): the pruned coordinates of every gradient are zero, as the reference's pruning hooks make them.
    const flatten = (w: Weights) => {
      maskGradients(inputs, params, w);
      const total = names.reduce((s, n) => s + w[n]!.length, 0);
      const out = new Float64Array(total);
      let off = 0;
      for (const n of names) {
        out.set(w[n]!, off);
        off += w[n]!.length;
      }
      return out;
    };
    const all = (len: number) => Int32Array.from({ length: len }, (_, i) => i);
    const nf = inputs.forget.indices.length;
    const nr = inputs.retain.indices.length;
    const n = nf + nr;
    const gf = flatten(gradientStatistics(net, inputs.forget, all(nf), false, 256));
    const gr = flatten(gradientStatistics(net, inputs.retain, all(nr), false, 256));
    const v = Float64Array.from(gf, (g, i) => g / n - (gr[i]! * nf) / (n * nr));
    const order = new SeededRandom(deriveSeed(params.seed ?? inputs.train.seed, 'woodfisher')).permutation(nr);
    const visits = Math.min(nr, N + 2);
    function* perExample() {
      for (let t = 0; t < visits; t++)
        yield flatten(gradientStatistics(net, inputs.retain, order.subarray(t, t + 1), false, 1));
    }
    if (params.inverse === 'exact' && visits * v.length * 8 > 1 << 30)
      throw new InvalidConfigError(
        `IU's exact inverse keeps ${visits} gradients of ${v.length} values (${((visits * v.length * 8) / 2 ** 30).toFixed(1)} GiB): lower unlearn.samples`,
      );
    const k = (params.inverse === 'exact' ? exactFisherInverse : woodfisherInverse)(v, perExample(), N);
    const out: Weights = { ...inputs.weights };
    let off = 0;
    for (const name of names) {
      const w = inputs.weights[name]!;
      const moved = new Float32Array(w.length);
      for (let i = 0; i < w.length; i++) moved[i] = w[i]! + alpha * k[off + i]!;
      out[name] = moved;
      off += w.length;
    }
    return Promise.resolve(applyMask(out, inputs.mask));
  } finally {
    net.dispose();
  }
}
