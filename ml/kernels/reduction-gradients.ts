// Gradients of Sum and Mean without a tensor of ones. tfjs's own (tfjs-core gradients/Sum_grad, Mean_grad) build
// dx as dy · ones(x.shape) (/ N): the ones are filled element by element in JavaScript and copied into the backend,
// then multiplied. BatchNorm's moments take two Means per layer, so a vgg-small step filled 10 such arrays of up to
// 2M floats: 40% of its time (177 ms of 430, V8's profiler). Broadcasting dy (/ N) does the same arithmetic, so dx
// is bit for bit what tfjs computes: dy · 1 is dy exactly, and dy / N is one rounding either way.
import * as tf from '@tensorflow/tfjs-core';

function expandedDy(dy: tf.Tensor, x: tf.Tensor, axis: number | number[]): { dy: tf.Tensor; count: number } {
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const shape = x.shape.slice();
  let count = 1;
  for (const a of axes) {
    count *= shape[a]!;
    shape[a] = 1;
  }
  return { dy: tf.reshape(tf.cast(dy, 'float32'), shape), count };
}

/** Registers the Sum and Mean gradients (global: every backend; idempotent). */
export function registerReductionGradients(): void {
  tf.registerGradient({
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const { axis } = attrs as unknown as tf.SumAttrs;
      return { x: () => tf.broadcastTo(expandedDy(dy as tf.Tensor, x, axis).dy, x.shape) };
    },
  });
  tf.registerGradient({
    kernelName: tf.Mean,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const { axis } = attrs as unknown as tf.MeanAttrs;
      return {
        x: () => {
          const e = expandedDy(dy as tf.Tensor, x, axis);
          return tf.broadcastTo(tf.div(e.dy, e.count), x.shape);
        },
      };
    },
  });
}
