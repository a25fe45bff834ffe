// What our wasm kernels need from tfjs-backend-wasm's BackendWasm (its class is not exported from the typings root).
import { getKernel, type TensorInfo } from '@tensorflow/tfjs-core';

export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
  disposeData(dataId: object): boolean;
}

/** Calls another wasm kernel directly (inside a kernel, the engine must not be re-entered). */
export function runWasmKernel(name: string, backend: WasmBackendLike, inputs: object, attrs: object): TensorInfo {
  const kernel = getKernel(name, 'wasm');
  if (!kernel) throw new Error(`wasm kernel ${name} is missing`);
  return kernel.kernelFunc({ inputs, backend, attrs } as never) as TensorInfo;
}
