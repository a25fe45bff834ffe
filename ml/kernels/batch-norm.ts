// Batch normalisation in training mode as one kernel (and one for its gradient) where the backend has them (the
// native addon's batchNormTrain / batchNormGrad): statistics summed in double and the gradient in closed form. The
// op-by-op form (moments, then tfjs's autodiff through them) sums in float32, and its error grows with the rows it
// sums: on 128 images of 16×16 the convolutions' updates moved 2.8e-3 from PyTorch's in float64 (this form: 8e-6).
import * as tf from '@tensorflow/tfjs-core';

export const BATCH_NORM_TRAIN_KERNEL = 'UnpruneBatchNormTrain';
export const BATCH_NORM_GRAD_KERNEL = 'UnpruneBatchNormGrad';

export interface BatchNormAttrs {
  eps: number;
}

/** The gradient kernel's: the input's gradient (x's shape), or with `params` γ's then β's ([2 · channels]). */
export interface BatchNormGradAttrs extends BatchNormAttrs {
  params: boolean;
}

export function nativeBatchNormAvailable(): boolean {
  return tf.getKernel(BATCH_NORM_TRAIN_KERNEL, tf.getBackend()) !== undefined;
}

/**
 * γ·(x − mean)/√(var + eps) + β over every axis but the last, with the batch's statistics; also returns them as
 * [2, channels]: the mean, then the biased variance.
 */
export function nativeBatchNorm<T extends tf.Tensor>(
  x: T,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps: number,
): { y: T; stats: tf.Tensor2D } {
  const attrs: BatchNormAttrs = { eps };
  const [y, stats] = tf.engine().runKernel(BATCH_NORM_TRAIN_KERNEL, { x, gamma, beta }, attrs as never) as [
    T,
    tf.Tensor2D,
  ];
  return { y, stats };
}

let gradientRegistered = false;

/** Its gradients (through the batch statistics; none through the returned statistics); the registry is global. */
export function registerBatchNormGradient(): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAIN_KERNEL,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true],
    gradFunc: (dys, saved, attrs) => {
      const [x, gamma, stats] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor2D];
      const dy = (dys as tf.Tensor[])[0]!;
      const c = gamma.shape[0];
      // The input's gradient, or γ's and β's ([2, channels] in one pass): tfjs runs each closure in a scope of its
      // own, so one kernel's outputs cannot serve all three.
      const grad = (params: boolean) => {
        const gradAttrs: BatchNormGradAttrs = { eps: (attrs as unknown as BatchNormAttrs).eps, params };
        return tf.engine().runKernel(BATCH_NORM_GRAD_KERNEL, { x, dy, gamma, stats }, gradAttrs as never) as tf.Tensor;
      };
      return {
        x: () => grad(false),
        gamma: () => tf.slice(grad(true), [0], [c]),
        beta: () => tf.slice(grad(true), [c], [c]),
      };
    },
  });
}
