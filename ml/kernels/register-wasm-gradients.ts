// Gradient kernels the wasm backend lacks but training our models needs, and a fast path for transposed matmuls. Registered once, after the wasm backend
// has initialised. Depthwise convolutions are not used by any unprune model, so their gradients are not provided.
import { getKernel, registerKernel } from '@tensorflow/tfjs-core';
import { wrapWasmBatchMatMul } from './batch-matmul-wasm.js';
import { conv2dBackpropFilterWasmConfig } from './conv2d-backprop-filter-wasm.js';

export function registerWasmGradientKernels(): void {
  for (const config of [conv2dBackpropFilterWasmConfig]) {
    if (!getKernel(config.kernelName, config.backendName)) registerKernel(config);
  }
  wrapWasmBatchMatMul();
}
