// Identity and same-dtype Cast on the wasm backend share their input's data (a reference count, as tfjs's cpu
// backend and wasm's own Reshape do) instead of copying it: tensors are immutable, and gradients make several such
// copies per layer (ReLU's gradient casts a float32 Step to float32; 0.4 ms of a LeNet-5 step, measured).
import { getKernel, type CastAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

interface RefCountingBackend {
  incRef(dataId: object): void;
}

type Args<A> = { inputs: { x: TensorInfo }; backend: RefCountingBackend; attrs: A };

function share(x: TensorInfo, backend: RefCountingBackend): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Configs for Identity and Cast over the wasm kernels they replace (which still handle strings and conversions).
 *  Call once, before registering them. */
export function sharedDataWasmConfigs(): KernelConfig[] {
  const identity = getKernel('Identity', 'wasm')?.kernelFunc;
  const cast = getKernel('Cast', 'wasm')?.kernelFunc;
  if (!identity || !cast) throw new Error('the wasm backend lacks its Identity or Cast kernel');
  const shareOr = (original: KernelFunc, same: (args: Args<CastAttrs>) => boolean): KernelFunc =>
    ((args: Args<CastAttrs>) => (same(args) ? share(args.inputs.x, args.backend) : original(args as never))) as never;
  return [
    // Strings live outside the wasm heap: the original kernel handles them.
    {
      kernelName: 'Identity',
      backendName: 'wasm',
      kernelFunc: shareOr(identity, (a) => a.inputs.x.dtype !== 'string'),
    },
    { kernelName: 'Cast', backendName: 'wasm', kernelFunc: shareOr(cast, (a) => a.inputs.x.dtype === a.attrs.dtype) },
  ];
}
