// Sums of per-example gradients (or of their squares) of the cross-entropy over chosen examples of a view: the
// building block of influence steps, Fisher estimates and WoodFisher. With batch = 1 every term is one example's.
import * as tf from '@tensorflow/tfjs-core';
import { countTrainingExamples } from './training-examples.js';
import { gatherBatch, type DataView } from './data/dataset.js';
import type { Network, Weights } from './models/network.js';
import { crossEntropy } from './train.js';

/** Sum of per-example gradients (or of squared per-example gradients) over chosen positions of a view. */
export function gradientStatistics(
  net: Network,
  view: DataView,
  positions: Int32Array,
  squared: boolean,
  batch: number,
): Weights {
  const vars = net.trainableVariables();
  const names = net.params.filter((p) => p.trainable).map((p) => p.name);
  const acc: tf.Tensor[] = vars.map((v) => tf.zerosLike(v as tf.Tensor));
  const [h, w, c] = net.def.inputShape;
  try {
    for (let s = 0; s < positions.length; s += batch) {
      const pos = positions.subarray(s, Math.min(positions.length, s + batch));
      const b = gatherBatch(view, pos);
      tf.tidy(() => {
        const x = tf.tensor4d(b.x, [pos.length, h, w, c]);
        const y = tf.tensor1d(b.y, 'int32');
        countTrainingExamples(pos.length);
        // Mean loss × batch size = sum of per-example losses.
        const { grads } = tf.variableGrads(
          () => tf.mul(crossEntropy(net.apply(x, false), y), pos.length) as tf.Scalar,
          vars,
        );
        vars.forEach((v, i) => {
          const g = grads[v.name]!;
          const next = tf.add(acc[i]!, squared ? tf.square(g) : g);
          acc[i]!.dispose();
          acc[i] = tf.keep(next);
        });
      });
    }
    const out: Weights = {};
    names.forEach((n, i) => (out[n] = acc[i]!.dataSync() as Float32Array));
    return out;
  } finally {
    for (const a of acc) a.dispose();
  }
}
