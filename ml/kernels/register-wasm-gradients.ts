// Kernels registered on the wasm backend once it has initialised: Conv2DBackpropFilter, which tfjs-backend-wasm
// lacks (conv nets cannot train without it); faster replacements for Conv2DBackpropInput and MaxPoolGrad; and a
// fast path for transposed matmuls. Depthwise convolutions are not used by any unprune model, so their gradients
// are not provided.
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { wrapWasmBatchMatMul } from './batch-matmul-wasm.js';
import { conv2dBackpropFilterWasmConfig } from './conv2d-backprop-filter-wasm.js';
import { conv2dBackpropInputWasmConfig } from './conv2d-backprop-input-wasm.js';
import { maxPoolGradWasmConfig } from './max-pool-grad-wasm.js';

let registered = false;

export function registerWasmGradientKernels(): void {
  if (registered) return;
  const replace = (config: KernelConfig) => {
    if (getKernel(config.kernelName, config.backendName)) unregisterKernel(config.kernelName, config.backendName);
    registerKernel(config);
  };
  replace(conv2dBackpropFilterWasmConfig);
  replace(conv2dBackpropInputWasmConfig);
  replace(maxPoolGradWasmConfig);
  wrapWasmBatchMatMul();
  registered = true;
}
