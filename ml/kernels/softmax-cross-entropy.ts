// Softmax cross-entropy with integer labels as one kernel (and one for its gradient) where the backend has them (the
// native addon): the op-by-op form (oneHot, logSoftmax's max/sub/exp/sum/log, mul, sum, mean, neg, and as many
// again for the gradient) is ~20 small kernel calls per training step, each with tfjs's per-op overhead. Same
// definition, including a label outside [0, classes): an all-zero one-hot row, adding nothing to the sum.
import * as tf from '@tensorflow/tfjs-core';

export const SOFTMAX_XENT_KERNEL = 'UnpruneSoftmaxCrossEntropy';
export const SOFTMAX_XENT_GRAD_KERNEL = 'UnpruneSoftmaxCrossEntropyGrad';

export function fusedCrossEntropyAvailable(): boolean {
  return tf.getKernel(SOFTMAX_XENT_KERNEL, tf.getBackend()) !== undefined;
}

/** −mean_i log softmax(logits_i)[labels_i]: logits [b, classes] float32, labels [b] int32. */
export function fusedCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.engine().runKernel(SOFTMAX_XENT_KERNEL, { logits, labels }) as tf.Scalar;
}

let gradientRegistered = false;

/** Its gradient with respect to the logits (the labels get none); tfjs's registry is global, so once. */
export function registerFusedCrossEntropyGradient(): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: SOFTMAX_XENT_KERNEL,
    inputsToSave: ['logits', 'labels'],
    gradFunc: (dy, saved) => {
      const [logits, labels] = saved as [tf.Tensor2D, tf.Tensor1D];
      return {
        logits: () =>
          tf.engine().runKernel(SOFTMAX_XENT_GRAD_KERNEL, { logits, labels, dy: dy as tf.Tensor }) as tf.Tensor,
        labels: () => tf.zerosLike(labels),
      };
    },
  });
}
