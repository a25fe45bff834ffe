// Influence with a real inverse-Hessian-vector product: θ̂_r = θ_D + (H_r + λI)⁻¹ (n_f/n_r) ∇L_f(θ_D), the Newton
// step on L_r from θ_D (where n_r∇L_r = −n_f∇L_f), solved by conjugate gradients on Hessian-vector products of the
// mean retained loss over a seeded sample of D_r. Each product is a central difference of two gradients,
// Hv ≈ (∇L(θ + εv) − ∇L(θ − εv)) / 2ε, exact for a quadratic and accurate to O(ε²) otherwise. CG stops at
// negative curvature (the damped Hessian must be positive definite along its directions) or when the residual is
// below `tolerance` of ‖b‖. Cost: 2 gradient passes over the sample per iteration (counted like any training).
import type { DataView } from '../data/dataset.js';
import { deriveSeed, SeededRandom } from '../data/seeded-random.js';
import { gradientStatistics } from '../gradient-statistics.js';
import { Network, type ArchDefinition, type Weights } from '../models/network.js';

export interface InfluenceCgOptions {
  /** CG iterations at most (default 20). */
  iterations?: number;
  /** λ, added to the Hessian (default 0.01, raised ×4 while CG meets negative curvature): absolute, in curvature units. */
  damping?: number;
  /** D_r examples the Hessian is averaged over (default 1,024). */
  samples?: number;
  /** Relative residual that stops CG (default 1e-3). */
  tolerance?: number;
}

type Vector = Float64Array[];

const dot = (a: Vector, b: Vector) => a.reduce((s, x, i) => s + x.reduce((t, v, j) => t + v * b[i]![j]!, 0), 0);
const axpy = (y: Vector, alpha: number, x: Vector): Vector => y.map((v, i) => v.map((e, j) => e + alpha * x[i]![j]!));

/** Solves A x = b for a symmetric positive-definite A given as a product, from x = 0. */
export function conjugateGradient(
  apply: (v: Vector) => Vector,
  b: Vector,
  iterations: number,
  tolerance: number,
): { x: Vector; iterations: number; residual: number; negativeCurvature: boolean } {
  let x: Vector = b.map((v) => new Float64Array(v.length));
  let r: Vector = b.map((v) => Float64Array.from(v));
  let p: Vector = r.map((v) => Float64Array.from(v));
  let rr = dot(r, r);
  const stop = tolerance * Math.sqrt(dot(b, b));
  let k = 0;
  let negativeCurvature = false;
  for (; k < iterations && Math.sqrt(rr) > stop; k++) {
    const ap = apply(p);
    const curvature = dot(p, ap);
    // Negative curvature: the damped model is not convex along p (the caller raises the damping).
    if (!(curvature > 0)) {
      negativeCurvature = true;
      break;
    }
    const alpha = rr / curvature;
    x = axpy(x, alpha, p);
    r = axpy(r, -alpha, ap);
    const next = dot(r, r);
    p = axpy(r, next / rr, p);
    rr = next;
  }
  return { x, iterations: k, residual: Math.sqrt(rr), negativeCurvature };
}

type CgInputs = { def: ArchDefinition; dense: Weights; retain: DataView; forget: DataView; train: { seed: number } };

/** v ↦ (H + λI)v for the mean retained loss at θ_D over a seeded sample of D_r, and the vector layout it uses. */
export function retainedHessian(inputs: CgInputs, opts: Pick<InfluenceCgOptions, 'damping' | 'samples'> = {}) {
  const names = inputs.def.params.filter((p) => p.trainable).map((p) => p.name);
  const toVector = (w: Weights): Vector => names.map((n) => Float64Array.from(w[n]!));
  const fromVector = (v: Vector): Weights => ({
    ...inputs.dense,
    ...Object.fromEntries(names.map((n, i) => [n, Float32Array.from(v[i]!)])),
  });
  const nr = inputs.retain.indices.length;
  const sample = Math.min(nr, opts.samples ?? 1024);
  const positions = new SeededRandom(deriveSeed(inputs.train.seed, 'hessian-sample'))
    .permutation(nr)
    .subarray(0, sample);
  /** The mean retained-loss gradient over the sample at weights w. */
  const meanGradient = (w: Weights): Vector => {
    const net = new Network(inputs.def, w);
    try {
      return toVector(gradientStatistics(net, inputs.retain, positions, false, 256)).map((g) =>
        g.map((x) => x / sample),
      );
    } finally {
      net.dispose();
    }
  };
  const theta = toVector(inputs.dense);
  const thetaNorm = Math.sqrt(dot(theta, theta));
  const times = (v: Vector, lambda = opts.damping ?? 0.01): Vector => {
    const vNorm = Math.sqrt(dot(v, v));
    if (vNorm === 0) return v.map((a) => new Float64Array(a.length));
    // √(float32 ε) scaled to the weights: the usual step for a central difference in single precision.
    const eps = (3.5e-4 * (1 + thetaNorm)) / vNorm;
    const plus = meanGradient(fromVector(axpy(theta, eps, v)));
    const minus = meanGradient(fromVector(axpy(theta, -eps, v)));
    return plus.map((g, i) => g.map((x, j) => (x - minus[i]![j]!) / (2 * eps) + lambda * v[i]![j]!));
  };
  return { times, toVector, fromVector, theta };
}

export function influenceCgEstimate(inputs: CgInputs, opts: InfluenceCgOptions = {}): Weights {
  const hessian = retainedHessian(inputs, opts);
  const nr = inputs.retain.indices.length;
  const nf = inputs.forget.indices.length;
  const net = new Network(inputs.def, inputs.dense);
  let gf: Vector;
  try {
    // Σ per-example forget gradients = n_f ∇L_f, so (n_f/n_r)∇L_f = Σ / n_r.
    gf = hessian.toVector(
      gradientStatistics(
        net,
        inputs.forget,
        Int32Array.from({ length: nf }, (_, i) => i),
        false,
        256,
      ),
    );
  } finally {
    net.dispose();
  }
  const b = gf.map((g) => g.map((x) => x / nr));
  // D_f fitted exactly (zero loss gradient): θ_D is already the stationary point of L_r.
  if (Math.sqrt(dot(b, b)) < 1e-12) return { ...inputs.dense };
  // Away from a minimum the Hessian of a ReLU network is indefinite: where CG meets negative curvature, the damping
  // is raised (×4, Levenberg–Marquardt style) and CG restarts, so the step solves a positive-definite model.
  let lambda = opts.damping ?? 0.01;
  for (let attempt = 0; ; attempt++) {
    const r = conjugateGradient((v) => hessian.times(v, lambda), b, opts.iterations ?? 20, opts.tolerance ?? 1e-3);
    if (!r.negativeCurvature || attempt === 12) return hessian.fromVector(axpy(hessian.theta, 1, r.x));
    lambda *= 4;
  }
}
