// tfjs-backend-wasm 4.22's BatchMatMul is fast (XNNPACK, ~40 GFLOP/s on one core) only without transposes; with
// transposeA or transposeB it takes a slow path (~3.5 GFLOP/s, measured). Every dense layer's backward pass uses a
// transposed product, so we wrap the kernel: transpose explicitly (cheap, memory-bound) and call the fast path.
import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';

interface WasmBackendLike {
  disposeData(dataId: object): boolean;
}

type KernelArgs = {
  inputs: { a: TensorInfo; b: TensorInfo };
  backend: WasmBackendLike;
  attrs: { transposeA: boolean; transposeB: boolean };
};

let wrapped = false;

export function wrapWasmBatchMatMul(): void {
  if (wrapped) return;
  const original = getKernel('BatchMatMul', 'wasm');
  const transpose = getKernel('Transpose', 'wasm');
  if (!original || !transpose) return;
  const swapLast = (t: TensorInfo, backend: WasmBackendLike): TensorInfo => {
    const perm = t.shape.map((_, i) => i);
    const r = perm.length;
    [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
    return transpose.kernelFunc({ inputs: { x: t }, backend, attrs: { perm } } as never) as TensorInfo;
  };
  const config: KernelConfig = {
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
    kernelFunc: ((args: KernelArgs) => {
      const { inputs, backend, attrs } = args;
      if (!attrs.transposeA && !attrs.transposeB) return original.kernelFunc(args as never);
      const a = attrs.transposeA ? swapLast(inputs.a, backend) : inputs.a;
      const b = attrs.transposeB ? swapLast(inputs.b, backend) : inputs.b;
      try {
        return original.kernelFunc({
          inputs: { a, b },
          backend,
          attrs: { transposeA: false, transposeB: false },
        } as never);
      } finally {
        if (a !== inputs.a) backend.disposeData(a.dataId);
        if (b !== inputs.b) backend.disposeData(b.dataId);
      }
    }) as never,
  };
  unregisterKernel('BatchMatMul', 'wasm');
  registerKernel(config);
  wrapped = true;
}
