// Kernels registered on the wasm backend once it has initialised. Always: Conv2DBackpropFilter, which
// tfjs-backend-wasm lacks (conv nets cannot train without it); faster replacements for Conv2DBackpropInput and
// MaxPoolGrad, and for Tile (BatchNorm's gradient); a fast path for transposed matmuls; and Identity/same-dtype Cast without copies. With the native addon (the `blas` backend): OpenBLAS
// versions of the matmul and conv kernels, bias Add, Sum and Mean over the batch axes, with the wasm set above as their fallback,
// and kernels only it has: the fused SGD update, the sparse product of pruned dense layers, softmax cross-entropy,
// batch normalisation in training mode.
// Depthwise convolutions are not used by any unprune model, so their gradients are not provided.
import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';
import { wrapWasmBatchMatMul } from './batch-matmul-wasm.js';
import { BATCH_NORM_GRAD_KERNEL, BATCH_NORM_TRAIN_KERNEL, registerBatchNormGradient } from './batch-norm.js';
import { conv2dBackpropFilterWasmConfig } from './conv2d-backprop-filter-wasm.js';
import { conv2dBackpropInputWasmConfig } from './conv2d-backprop-input-wasm.js';
import { maxPoolGradWasmConfig } from './max-pool-grad-wasm.js';
import type { RowCopier } from '../data/dataset.js';
import type { NativeBlas } from './native-blas.js';
import { sharedDataWasmConfigs } from './shared-data-wasm.js';
import { tileWasmConfig } from './tile-wasm.js';
import { currentWasmKernels, nativeWasmKernelConfigs, SGD_STEP_KERNEL } from './native-wasm-kernels.js';
import {
  registerFusedCrossEntropyGradient,
  SOFTMAX_XENT_GRAD_KERNEL,
  SOFTMAX_XENT_KERNEL,
} from './softmax-cross-entropy.js';
import {
  registerSparseMatMulGradient,
  SPARSE_MATMUL_GRAD_W_KERNEL,
  SPARSE_MATMUL_GRAD_X_KERNEL,
  SPARSE_MATMUL_KERNEL,
} from './sparse-matmul.js';

const NATIVE_REPLACES = [
  'BatchMatMul',
  'Conv2D',
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'MaxPoolGrad',
  'Add',
  'Sum',
  'Mean',
];

/** Kernels only the addon provides (no wasm version to fall back to: callers check for them). */
const NATIVE_ONLY = [
  SGD_STEP_KERNEL,
  SPARSE_MATMUL_KERNEL,
  SPARSE_MATMUL_GRAD_X_KERNEL,
  SPARSE_MATMUL_GRAD_W_KERNEL,
  SOFTMAX_XENT_KERNEL,
  SOFTMAX_XENT_GRAD_KERNEL,
  BATCH_NORM_TRAIN_KERNEL,
  BATCH_NORM_GRAD_KERNEL,
];

let wasmFuncs: Map<string, KernelFunc> | undefined;
let nativeActive: NativeBlas | null = null;

/** The addon whose kernels the wasm backend runs now (the `blas` backend), or null. */
export function activeNativeKernels(): NativeBlas | null {
  return nativeActive;
}

/** The addon's copy of a batch's rows where the blas backend is active (gatherBatch's JavaScript copy otherwise). */
export function nativeRowCopier(): RowCopier | undefined {
  const addon = nativeActive;
  return addon
    ? (src, rows, dst, width, ahead) =>
        src.codes
          ? addon.decodeRows(src.codes.bytes, rows, dst, src.codes.scaleShift, Int32Array.of(width), ahead)
          : addon.gatherRows(src.x, rows, dst, Int32Array.of(width), ahead)
    : undefined;
}

function replace(config: KernelConfig): void {
  if (getKernel(config.kernelName, config.backendName)) unregisterKernel(config.kernelName, config.backendName);
  registerKernel(config);
}

/** Registers the wasm kernel set, plus the native one when `native` is given (idempotent; switches both ways). */
export function registerWasmKernels(native: NativeBlas | null = null): void {
  if (!wasmFuncs) {
    replace(conv2dBackpropFilterWasmConfig);
    replace(conv2dBackpropInputWasmConfig);
    replace(maxPoolGradWasmConfig);
    replace(tileWasmConfig());
    wrapWasmBatchMatMul();
    for (const config of sharedDataWasmConfigs()) replace(config);
    wasmFuncs = currentWasmKernels(NATIVE_REPLACES);
  }
  if (native) {
    for (const config of nativeWasmKernelConfigs(native, wasmFuncs)) replace(config);
    registerSparseMatMulGradient();
    registerFusedCrossEntropyGradient();
    registerBatchNormGradient();
    nativeActive = native;
  } else if (nativeActive) {
    for (const [kernelName, kernelFunc] of wasmFuncs) replace({ kernelName, backendName: 'wasm', kernelFunc });
    for (const name of NATIVE_ONLY) unregisterKernel(name, 'wasm');
    nativeActive = null;
  }
}
