// The classic unlearning metrics of one model: UA = 100 − acc(D_f), RA = acc(D_r), TA = acc(test), plus each one's
// gap to the gold model, and the outputs MIA needs (softmax probabilities of D_r, D_f and test).
import type { DataView } from '../data/dataset.js';
import type { Network } from '../models/network.js';
import { evaluate } from './accuracy.js';
import { headOutputs, type Outputs } from './mia.js';

export interface AccuracyMetrics {
  ua: number;
  ra: number;
  /** On the test examples of the classes still learned (all of them unless whole classes were forgotten). */
  ta: number;
  /** On the test examples of the forgotten classes (class-wise deletion), else null. */
  ta_forgotten: number | null;
}

export interface ModelOutputs {
  metrics: AccuracyMetrics;
  retain: Outputs;
  forget: Outputs;
  test: Outputs;
}

/** Accuracy metrics and softmax outputs; `retainLimit` caps the D_r rows kept for MIA (the attack is O(n²)). */
export function modelOutputs(
  net: Network,
  views: { retain: DataView; forget: DataView; test: DataView; forgottenTest?: DataView },
  retainLimit = Infinity,
): ModelOutputs {
  const classes = net.def.numClasses;
  const run = (v: DataView) => evaluate(net, v, { withProbs: true });
  // One pass over D_r gives RA and the head of its outputs (a second pass over the head cost 15% of the forwards).
  const r = run(views.retain);
  const f = run(views.forget);
  const t = run(views.test);
  const out = (e: ReturnType<typeof run>): Outputs => ({ probs: e.probs!, labels: e.labels!, classes });
  return {
    metrics: {
      ua: 100 - f.accuracy,
      ra: r.accuracy,
      ta: t.accuracy,
      ta_forgotten: views.forgottenTest ? evaluate(net, views.forgottenTest).accuracy : null,
    },
    retain: headOutputs(out(r), retainLimit),
    forget: out(f),
    test: out(t),
  };
}

/** ‖θ − θ_o‖ / ‖θ_o‖ over every tensor both hold (L2): 0 when unlearning left the weights exactly as they were. */
export function relativeWeightChange(
  weights: Record<string, Float32Array>,
  before: Record<string, Float32Array>,
): number {
  let moved = 0;
  let size = 0;
  for (const [name, b] of Object.entries(before)) {
    const a = weights[name];
    if (!a || a.length !== b.length) continue;
    for (let i = 0; i < b.length; i++) {
      moved += (a[i]! - b[i]!) ** 2;
      size += b[i]! ** 2;
    }
  }
  return size > 0 ? Math.sqrt(moved / size) : 0;
}
