// Batched evaluation on any index set: accuracy, and optionally the softmax outputs (for MIA features), without
// holding more than one batch of tensors at a time.
import * as tf from '@tensorflow/tfjs-core';
import { gatherBatch, type DataView } from '../data/dataset.js';
import type { Network } from '../models/network.js';

export interface EvalResult {
  /** Percentage of correct predictions (0–100); NaN for an empty view. */
  accuracy: number;
  correct: number;
  n: number;
  /** n × classes softmax probabilities, row-major (only when requested). */
  probs?: Float32Array;
  /** Labels in view order (only when probabilities are requested). */
  labels?: Int32Array;
}

export function evaluate(
  net: Network,
  view: DataView,
  opts: { batchSize?: number; withProbs?: boolean } = {},
): EvalResult {
  const n = view.indices.length;
  const bs = opts.batchSize ?? 1000;
  const k = net.def.numClasses;
  const [h, w, c] = net.def.inputShape;
  const probs = opts.withProbs ? new Float32Array(n * k) : undefined;
  const labels = opts.withProbs ? new Int32Array(n) : undefined;
  let correct = 0;
  for (let start = 0; start < n; start += bs) {
    const count = Math.min(bs, n - start);
    const positions = new Int32Array(count);
    for (let i = 0; i < count; i++) positions[i] = start + i;
    const batch = gatherBatch(view, positions);
    const { pred, p } = tf.tidy(() => {
      const logits = net.apply(tf.tensor4d(batch.x, [count, h, w, c]), false);
      return {
        pred: tf.argMax(logits, 1).dataSync() as Int32Array,
        p: opts.withProbs ? (tf.softmax(logits).dataSync() as Float32Array) : undefined,
      };
    });
    for (let i = 0; i < count; i++) if (pred[i] === batch.y[i]) correct++;
    if (probs && p) probs.set(p, start * k);
    if (labels) labels.set(batch.y, start);
  }
  return { accuracy: n === 0 ? NaN : (100 * correct) / n, correct, n, probs, labels };
}
