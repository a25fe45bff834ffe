// Gradient kernels the wasm backend lacks but training our models needs. Registered once, after the wasm backend
// has initialised. Depthwise convolutions are not used by any unprune model, so their gradients are not provided.
import { getKernel, registerKernel } from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterWasmConfig } from './conv2d-backprop-filter-wasm.js';

export function registerWasmGradientKernels(): void {
  for (const config of [conv2dBackpropFilterWasmConfig]) {
    if (!getKernel(config.kernelName, config.backendName)) registerKernel(config);
  }
}
