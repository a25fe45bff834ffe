// Parameter declarations and forward pieces shared by the architectures.
import * as tf from '@tensorflow/tfjs-core';
import { nativeBatchNorm, nativeBatchNormAvailable } from '../kernels/batch-norm.js';
import { sparseMatMul } from '../kernels/sparse-matmul.js';
import type { ForwardContext, ParamInfo } from './network.js';

export function denseParams(name: string, inUnits: number, outUnits: number, output = false): ParamInfo[] {
  return [
    {
      name: `${name}.w`,
      shape: [inUnits, outUnits],
      role: 'dense',
      trainable: true,
      prunable: true,
      output,
      fanIn: inUnits,
    },
    { name: `${name}.b`, shape: [outUnits], role: 'bias', trainable: true, prunable: false, output, fanIn: inUnits },
  ];
}

export function convParams(name: string, k: number, cin: number, cout: number, bias: boolean): ParamInfo[] {
  const fanIn = k * k * cin;
  const list: ParamInfo[] = [
    { name: `${name}.w`, shape: [k, k, cin, cout], role: 'conv', trainable: true, prunable: true, fanIn },
  ];
  if (bias) list.push({ name: `${name}.b`, shape: [cout], role: 'bias', trainable: true, prunable: false, fanIn });
  return list;
}

export function bnParams(name: string, channels: number): ParamInfo[] {
  const s = [channels];
  return [
    { name: `${name}.gamma`, shape: s, role: 'bn-gamma', trainable: true, prunable: false },
    { name: `${name}.beta`, shape: s, role: 'bn-beta', trainable: true, prunable: false },
    { name: `${name}.mean`, shape: s, role: 'bn-mean', trainable: false, prunable: false },
    { name: `${name}.var`, shape: s, role: 'bn-var', trainable: false, prunable: false },
  ];
}

export function dense(ctx: ForwardContext, name: string, x: tf.Tensor2D): tf.Tensor2D {
  const w = ctx.p(`${name}.w`) as tf.Tensor2D;
  const pattern = ctx.pattern?.(`${name}.w`);
  // A pruned layer with a pattern multiplies its kept weights only (the same product: the others are zero).
  const y = pattern ? sparseMatMul(x, w, pattern) : tf.matMul(x, w);
  return tf.add(y, ctx.p(`${name}.b`)) as tf.Tensor2D;
}

export function conv(
  ctx: ForwardContext,
  name: string,
  x: tf.Tensor4D,
  stride: number,
  pad: 'same' | 'valid',
  bias: boolean,
): tf.Tensor4D {
  const y = tf.conv2d(x, ctx.p(`${name}.w`) as tf.Tensor4D, stride, pad);
  return bias ? (tf.add(y, ctx.p(`${name}.b`)) as tf.Tensor4D) : y;
}

export const BN_MOMENTUM = 0.1;
export const BN_EPS = 1e-5;

/** Batch normalisation over all axes but the last (PyTorch semantics: unbiased running variance). */
export function batchNorm<T extends tf.Tensor>(ctx: ForwardContext, name: string, x: T): T {
  const gamma = ctx.p(`${name}.gamma`);
  const beta = ctx.p(`${name}.beta`);
  if (!ctx.training) {
    return tf.batchNorm(x, ctx.p(`${name}.mean`), ctx.p(`${name}.var`), beta, gamma, BN_EPS) as T;
  }
  const count = x.size / x.shape[x.rank - 1]!;
  const update = (mean: tf.Tensor, variance: tf.Tensor) => {
    const unbiased = tf.mul(variance, count / Math.max(1, count - 1));
    ctx.updateState(`${name}.mean`, tf.add(tf.mul(ctx.p(`${name}.mean`), 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)));
    ctx.updateState(
      `${name}.var`,
      tf.add(tf.mul(ctx.p(`${name}.var`), 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM)),
    );
  };
  // The addon's kernel where the backend has it (double sums, closed-form gradient: ml/kernels/batch-norm.ts).
  if (nativeBatchNormAvailable()) {
    const { y, stats } = nativeBatchNorm(x, gamma, beta, BN_EPS);
    const [mean, variance] = tf.unstack(stats);
    update(mean!, variance!);
    return y;
  }
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  update(mean, variance);
  return tf.batchNorm(x, mean, variance, beta, gamma, BN_EPS) as T;
}
