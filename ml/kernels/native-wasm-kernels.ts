// Kernels for the wasm backend that run on the native addon (OpenBLAS sgemm, im2col/col2im in C): BatchMatMul,
// Conv2D and both its gradients, MaxPoolGrad, bias Add, Sum and Mean over all but the last axis, and the fused masked SGD update
// `UnpruneSgdStep`, a pruned dense layer's product over its mask's pattern with its two gradients, and softmax
// cross-entropy with its gradient. Each reads its inputs straight from the wasm heap and writes into an output the wasm backend
// allocated, so tensors stay wasm tensors and every other op keeps running on wasm. Shapes outside what the addon handles (non-float32, dilation,
// NCHW, batch broadcasting other than 1-to-n) go to the wasm kernel it replaces.
import {
  getKernel,
  util,
  type BatchMatMulAttrs,
  type Conv2DAttrs,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type MaxPoolGradAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import {
  BATCH_NORM_GRAD_KERNEL,
  BATCH_NORM_TRAIN_KERNEL,
  type BatchNormAttrs,
  type BatchNormGradAttrs,
} from './batch-norm.js';
import type { NativeBlas } from './native-blas.js';
import { SOFTMAX_XENT_GRAD_KERNEL, SOFTMAX_XENT_KERNEL } from './softmax-cross-entropy.js';
import { SPARSE_MATMUL_GRAD_W_KERNEL, SPARSE_MATMUL_GRAD_X_KERNEL, SPARSE_MATMUL_KERNEL } from './sparse-matmul.js';
import { convDims, convGeometry, poolDims, poolGeometry, type WasmBackendLike } from './wasm-kernel-support.js';

/** Name of the fused SGD kernel; MaskedOptimizer uses it where the current backend registers it. */
export const SGD_STEP_KERNEL = 'UnpruneSgdStep';

export interface SgdStepAttrs {
  lr: number;
  momentum: number;
  first: boolean;
  nesterov: boolean;
  weightDecay: number;
}

type Args<I, A> = { inputs: I; backend: unknown; attrs: A };

const isF32 = (...ts: TensorInfo[]) => ts.every((t) => t.dtype === 'float32');

/** The native kernels, each falling back to `fallbacks[name]` (the wasm kernel being replaced) when it must. */
export function nativeWasmKernelConfigs(addon: NativeBlas, fallbacks: Map<string, KernelFunc>): KernelConfig[] {
  const fallback = (name: string, args: unknown) => {
    const f = fallbacks.get(name);
    if (!f) throw new Error(`no wasm fallback for ${name}`);
    return f(args as never);
  };

  const batchMatMul = (args: Args<{ a: TensorInfo; b: TensorInfo }, BatchMatMulAttrs>) => {
    const { a, b } = args.inputs;
    const backend = args.backend as WasmBackendLike;
    const { transposeA, transposeB } = args.attrs;
    const ra = a.shape.length;
    const rb = b.shape.length;
    if (!isF32(a, b) || ra < 2 || rb < 2) return fallback('BatchMatMul', args);
    const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
    const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
    const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
    const batchShapeA = a.shape.slice(0, -2);
    const batchShapeB = b.shape.slice(0, -2);
    const ba = util.sizeFromShape(batchShapeA);
    const bb = util.sizeFromShape(batchShapeB);
    const sameBatch = ba === bb && util.arraysEqual(batchShapeA, batchShapeB);
    if (!sameBatch && ba !== 1 && bb !== 1) return fallback('BatchMatMul', args);
    const outBatch = ba >= bb ? batchShapeA : batchShapeB;
    const batch = Math.max(ba, bb);
    const out = backend.makeOutput([...outBatch, m, n], 'float32');
    if (batch * m * n === 0) return out;
    if (k === 0) {
      backend.typedArrayFromHeap(out).fill(0);
      return out;
    }
    addon.gemm(
      backend.typedArrayFromHeap(a),
      backend.typedArrayFromHeap(b),
      backend.typedArrayFromHeap(out),
      Int32Array.from([batch, m, n, k, transposeA ? 1 : 0, transposeB ? 1 : 0, ba, bb]),
    );
    return out;
  };

  /** Allocates the output and, unless it is empty, runs `kernel` on heap views of (a, b, out). */
  const runNative = (
    backend: WasmBackendLike,
    kernel: (a: Float32Array, b: Float32Array, out: Float32Array, dims: Int32Array) => void,
    a: TensorInfo,
    b: TensorInfo,
    outShape: readonly number[],
    dims: Int32Array,
  ): TensorInfo => {
    const out = backend.makeOutput([...outShape], 'float32');
    if (util.sizeFromShape(out.shape) === 0) return out;
    // Views are taken after the allocation: growing wasm memory detaches earlier views.
    kernel(backend.typedArrayFromHeap(a), backend.typedArrayFromHeap(b), backend.typedArrayFromHeap(out), dims);
    return out;
  };

  const conv2d = (args: Args<{ x: TensorInfo; filter: TensorInfo }, Conv2DAttrs>) => {
    const { x, filter } = args.inputs;
    const { dilations, dataFormat } = args.attrs;
    const dil = typeof dilations === 'number' ? [dilations, dilations] : (dilations ?? [1, 1]);
    if (!isF32(x, filter) || dataFormat !== 'NHWC' || dil[0] !== 1 || dil[1] !== 1) return fallback('Conv2D', args);
    const { info } = convGeometry('Conv2D', x.shape, filter.shape, args.attrs);
    return runNative(args.backend as WasmBackendLike, addon.conv2d, x, filter, info.outShape, convDims(info));
  };

  const conv2dBackpropFilter = (args: Args<{ x: TensorInfo; dy: TensorInfo }, Conv2DBackpropFilterAttrs>) => {
    const { x, dy } = args.inputs;
    const { filterShape } = args.attrs;
    const { info } = convGeometry('Conv2DBackpropFilter', x.shape, filterShape, args.attrs);
    const backend = args.backend as WasmBackendLike;
    return runNative(backend, addon.conv2dBackpropFilter, x, dy, filterShape, convDims(info));
  };

  const conv2dBackpropInput = (args: Args<{ dy: TensorInfo; filter: TensorInfo }, Conv2DBackpropInputAttrs>) => {
    const { dy, filter } = args.inputs;
    const { inputShape } = args.attrs;
    const { info } = convGeometry('Conv2DBackpropInput', inputShape, filter.shape, args.attrs);
    const backend = args.backend as WasmBackendLike;
    return runNative(backend, addon.conv2dBackpropInput, dy, filter, inputShape, convDims(info));
  };

  const maxPoolGrad = (args: Args<{ dy: TensorInfo; input: TensorInfo; output: TensorInfo }, MaxPoolGradAttrs>) => {
    const { dy, input } = args.inputs;
    const info = poolGeometry(input.shape, args.attrs);
    const dims = poolDims(info);
    return runNative(args.backend as WasmBackendLike, addon.maxPoolGrad, input, dy, input.shape, dims);
  };

  // Inputs: w, g, and optionally buf (momentum, from the second step on) and mask; outputs [w'] or [w', buf'].
  const sgdStep = (
    args: Args<{ w: TensorInfo; g: TensorInfo; buf?: TensorInfo; mask?: TensorInfo }, SgdStepAttrs>,
  ): TensorInfo[] => {
    const { w, g, buf, mask } = args.inputs;
    const backend = args.backend as WasmBackendLike;
    const { lr, momentum, first, nesterov, weightDecay } = args.attrs;
    const outW = backend.makeOutput([...w.shape], 'float32');
    const outBuf = momentum !== 0 ? backend.makeOutput([...w.shape], 'float32') : null;
    const view = (t: TensorInfo | null | undefined) => (t ? backend.typedArrayFromHeap(t) : null);
    addon.sgdStep(
      view(w)!,
      view(g)!,
      first ? null : view(buf),
      view(mask),
      view(outW)!,
      view(outBuf),
      lr,
      momentum,
      first,
      nesterov,
      weightDecay,
    );
    return outBuf ? [outW, outBuf] : [outW];
  };

  // A bias over the last axis ([..., C] + [C], either order); any other broadcast goes to wasm.
  const add = (args: Args<{ a: TensorInfo; b: TensorInfo }, object>) => {
    const { a, b } = args.inputs;
    const biasLike = (x: TensorInfo, v: TensorInfo) =>
      v.shape.length === 1 && x.shape.length >= 2 && x.shape[x.shape.length - 1] === v.shape[0];
    const [x, bias] = biasLike(a, b) ? [a, b] : biasLike(b, a) ? [b, a] : [null, null];
    if (!x || !bias || !isF32(a, b)) return fallback('Add', args);
    const backend = args.backend as WasmBackendLike;
    const out = backend.makeOutput([...x.shape], 'float32');
    const c = bias.shape[0]!;
    const rows = util.sizeFromShape(x.shape) / Math.max(1, c);
    if (rows * c === 0) return out;
    addon.biasAdd(
      backend.typedArrayFromHeap(x),
      backend.typedArrayFromHeap(bias),
      backend.typedArrayFromHeap(out),
      Int32Array.from([rows, c]),
    );
    return out;
  };

  // A sum or mean over every axis but the last (bias gradients; BatchNorm's batch moments, whose wasm Mean
  // transposes first: 25 ms on a vgg-small activation against ~1 ms here); any other reduction goes to wasm.
  const columnReduce =
    (name: 'Sum' | 'Mean') => (args: Args<{ x: TensorInfo }, { axis: number | number[]; keepDims: boolean }>) => {
      const { x } = args.inputs;
      const r = x.shape.length;
      const axes = util.parseAxisParam(args.attrs.axis, x.shape).sort((p, q) => p - q);
      const allButLast = r >= 2 && axes.length === r - 1 && axes.every((ax, i) => ax === i);
      if (!allButLast || !isF32(x)) return fallback(name, args);
      const backend = args.backend as WasmBackendLike;
      const c = x.shape[r - 1]!;
      const out = backend.makeOutput(args.attrs.keepDims ? [...axes.map(() => 1), c] : [c], 'float32');
      const rows = util.sizeFromShape(x.shape) / Math.max(1, c);
      if (c === 0) return out;
      const sums = backend.typedArrayFromHeap(out);
      if (rows === 0) {
        sums.fill(0); // for Mean too, as tfjs's cpu backend answers
        return out;
      }
      addon.columnSum(backend.typedArrayFromHeap(x), sums, Int32Array.from([rows, c]));
      // A float32 quotient, as wasm's Mean divides its float32 sum by the count.
      if (name === 'Mean') for (let j = 0; j < c; j++) sums[j] = sums[j]! / rows;
      return out;
    };

  // A pruned layer's product and its two gradients over the mask's pattern (ml/kernels/sparse-matmul.ts).
  type SparseInputs = { pattern: TensorInfo } & Record<string, TensorInfo>;
  const sparse =
    (
      first: string,
      second: string,
      outShape: (a: TensorInfo, b: TensorInfo) => number[],
      kernel: (a: Float32Array, b: Float32Array, p: Int32Array, out: Float32Array, dims: Int32Array) => void,
    ) =>
    (args: Args<SparseInputs, object>) => {
      const a = args.inputs[first]!;
      const b = args.inputs[second]!;
      const { pattern } = args.inputs;
      const backend = args.backend as WasmBackendLike;
      const out = backend.makeOutput(outShape(a, b), 'float32');
      if (util.sizeFromShape(out.shape) === 0) return out;
      // The batch is the first operand's rows (x, or dy); views are taken after the allocation (see runNative).
      kernel(
        backend.typedArrayFromHeap(a),
        backend.typedArrayFromHeap(b),
        backend.typedArrayFromHeap(pattern) as unknown as Int32Array,
        backend.typedArrayFromHeap(out),
        Int32Array.from([a.shape[0]!]),
      );
      return out;
    };
  // y = x·w: [b, k]·[k, n]; dx = dy·wᵀ: [b, n]·[k, n]ᵀ; dw = xᵀ·dy: [b, k]ᵀ·[b, n], batch b from x.
  const sparseMatMul = sparse('x', 'w', (x, w) => [x.shape[0]!, w.shape[1]!], addon.sparseMatMul);
  const sparseGradX = sparse('dy', 'w', (dy, w) => [dy.shape[0]!, w.shape[0]!], addon.sparseMatMulGradX);
  const sparseGradW = sparse('x', 'dy', (x, dy) => [x.shape[1]!, dy.shape[1]!], addon.sparseMatMulGradW);

  // Softmax cross-entropy and its gradient (ml/kernels/softmax-cross-entropy.ts): logits [b, c], int32 labels [b].
  const xentDims = (logits: TensorInfo) => Int32Array.from([logits.shape[0]!, logits.shape[1]!]);
  const softmaxXent = (args: Args<{ logits: TensorInfo; labels: TensorInfo }, object>) => {
    const { logits, labels } = args.inputs;
    const backend = args.backend as WasmBackendLike;
    const out = backend.makeOutput([], 'float32');
    const heap = (t: TensorInfo) => backend.typedArrayFromHeap(t);
    addon.softmaxCrossEntropy(heap(logits), heap(labels) as unknown as Int32Array, heap(out), xentDims(logits));
    return out;
  };
  const softmaxXentGrad = (args: Args<{ logits: TensorInfo; labels: TensorInfo; dy: TensorInfo }, object>) => {
    const { logits, labels, dy } = args.inputs;
    const backend = args.backend as WasmBackendLike;
    const out = backend.makeOutput([...logits.shape], 'float32');
    const heap = (t: TensorInfo) => backend.typedArrayFromHeap(t);
    const dims = xentDims(logits);
    addon.softmaxCrossEntropyGrad(heap(logits), heap(labels) as unknown as Int32Array, heap(dy), heap(out), dims);
    return out;
  };

  // Batch normalisation in training mode and its gradient (ml/kernels/batch-norm.ts): channels last.
  const channelsOf = (x: TensorInfo) => x.shape[x.shape.length - 1]!;
  const batchNormTrain = (args: Args<{ x: TensorInfo; gamma: TensorInfo; beta: TensorInfo }, BatchNormAttrs>) => {
    const { x, gamma, beta } = args.inputs;
    const backend = args.backend as WasmBackendLike;
    const c = channelsOf(x);
    const y = backend.makeOutput([...x.shape], 'float32');
    const stats = backend.makeOutput([2, c], 'float32');
    const heap = (t: TensorInfo) => backend.typedArrayFromHeap(t);
    const dims = Int32Array.of(util.sizeFromShape(x.shape) / c, c, 0);
    addon.batchNormTrain(heap(x), heap(gamma), heap(beta), heap(y), heap(stats), dims, args.attrs.eps);
    return [y, stats];
  };
  type GradInputs = { x: TensorInfo; dy: TensorInfo; gamma: TensorInfo; stats: TensorInfo };
  const batchNormGrad = (args: Args<GradInputs, BatchNormGradAttrs>) => {
    const { x, dy, gamma, stats } = args.inputs;
    const backend = args.backend as WasmBackendLike;
    const c = channelsOf(x);
    const out = backend.makeOutput(args.attrs.params ? [2 * c] : [...x.shape], 'float32');
    const scratch = args.attrs.params ? null : new Float32Array(2 * c);
    const heap = (t: TensorInfo) => backend.typedArrayFromHeap(t);
    const dims = Int32Array.of(util.sizeFromShape(x.shape) / c, c);
    const [dx, dparams] = scratch ? [heap(out), scratch] : [new Float32Array(0), heap(out)];
    addon.batchNormGrad(heap(x), heap(dy), heap(gamma), heap(stats), dx, dparams, dims, args.attrs.eps);
    return out;
  };

  const wasm = (kernelName: string, kernelFunc: unknown): KernelConfig => ({
    kernelName,
    backendName: 'wasm',
    kernelFunc: kernelFunc as KernelFunc,
  });
  return [
    wasm('BatchMatMul', batchMatMul),
    wasm('Conv2D', conv2d),
    wasm('Conv2DBackpropFilter', conv2dBackpropFilter),
    wasm('Conv2DBackpropInput', conv2dBackpropInput),
    wasm('MaxPoolGrad', maxPoolGrad),
    wasm('Add', add),
    wasm('Sum', columnReduce('Sum')),
    wasm('Mean', columnReduce('Mean')),
    wasm(SGD_STEP_KERNEL, sgdStep),
    wasm(SPARSE_MATMUL_KERNEL, sparseMatMul),
    wasm(SPARSE_MATMUL_GRAD_X_KERNEL, sparseGradX),
    wasm(SPARSE_MATMUL_GRAD_W_KERNEL, sparseGradW),
    wasm(SOFTMAX_XENT_KERNEL, softmaxXent),
    wasm(SOFTMAX_XENT_GRAD_KERNEL, softmaxXentGrad),
    wasm(BATCH_NORM_TRAIN_KERNEL, batchNormTrain),
    wasm(BATCH_NORM_GRAD_KERNEL, batchNormGrad),
  ];
}

/** The kernel functions currently registered on wasm for `names` (the fallbacks of the native kernels). */
export function currentWasmKernels(names: string[]): Map<string, KernelFunc> {
  const out = new Map<string, KernelFunc>();
  for (const name of names) {
    const k = getKernel(name, 'wasm');
    if (k) out.set(name, k.kernelFunc);
  }
  return out;
}
