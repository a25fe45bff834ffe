// Gradients of Sum and Mean without a tensor of ones. tfjs's own (tfjs-core gradients/Sum_grad, Mean_grad) build
// dx as dy · ones(x.shape) (/ N): the ones are filled element by element in JavaScript and copied into the backend,
// then multiplied. BatchNorm's moments take two Means per layer, so a vgg-small step filled 10 such arrays of up to
// 2M floats: 40% of its time (177 ms of 430, V8's profiler). Broadcasting dy (/ N) does the same arithmetic, so dx
// is bit for bit what tfjs computes: dy · 1 is dy exactly, and dy / N is one rounding either way.
import * as tf from '@tensorflow/tfjs-core';

/** dx for a reduction of x over `axis` whose output gradient is dy: dy broadcast back over the reduced axes, divided
 *  by their size for a mean. */
function reductionGradient(kernelName: string, mean: boolean): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const axes = tf.util.parseAxisParam((attrs as unknown as tf.SumAttrs).axis, x.shape);
      const shape = x.shape.slice();
      let count = 1;
      for (const a of axes) {
        count *= shape[a]!;
        shape[a] = 1;
      }
      return {
        x: () => {
          const kept = tf.reshape(tf.cast(dy as tf.Tensor, 'float32'), shape);
          return tf.broadcastTo(mean ? tf.div(kept, count) : kept, x.shape);
        },
      };
    },
  };
}

/** Registers the Sum and Mean gradients (global: every backend; idempotent). */
export function registerReductionGradients(): void {
  tf.registerGradient(reductionGradient(tf.Sum, false));
  tf.registerGradient(reductionGradient(tf.Mean, true));
}
