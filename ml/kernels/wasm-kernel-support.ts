// What our wasm kernels need from tfjs-backend-wasm's BackendWasm (its class is not exported from the typings root).
import {
  backend_util,
  getKernel,
  type Conv2DBackpropFilterAttrs,
  type MaxPoolGradAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

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

type Shape4 = [number, number, number, number];

/**
 * The geometry both conv-gradient kernels need (NHWC, dilation 1 — tfjs's conv gradients support no other), with
 * M = n·oh·ow output positions and K = fh·fw·cin patch length.
 */
export function convGeometry(
  kernel: string,
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: Pick<Conv2DBackpropFilterAttrs, 'strides' | 'pad' | 'dataFormat' | 'dimRoundingMode'>,
) {
  if (attrs.dataFormat !== 'NHWC') throw new Error(`${kernel} (wasm): only NHWC is supported, got ${attrs.dataFormat}`);
  const info = backend_util.computeConv2DInfo(
    xShape as Shape4,
    filterShape as Shape4,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  return {
    info,
    m: info.batchSize * info.outHeight * info.outWidth,
    k: info.filterHeight * info.filterWidth * info.inChannels,
  };
}

/** The pooling geometry of a MaxPoolGrad (NHWC, dilation 1). */
export function poolGeometry(
  inputShape: readonly number[],
  attrs: Pick<MaxPoolGradAttrs, 'filterSize' | 'strides' | 'pad' | 'dimRoundingMode'>,
): backend_util.Conv2DInfo {
  return backend_util.computePool2DInfo(
    inputShape as Shape4,
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

/** The addon's convolution dimensions: [n, h, w, c, oh, ow, co, fh, fw, sh, sw, top, left]. */
export function convDims(info: backend_util.Conv2DInfo): Int32Array {
  const { padInfo: pad } = info;
  return Int32Array.of(
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    pad.top,
    pad.left,
  );
}

/** The addon's pooling dimensions: the convolution's without the output channels (pooling keeps them). */
export function poolDims(info: backend_util.Conv2DInfo): Int32Array {
  const d = convDims(info);
  return Int32Array.of(...d.subarray(0, 6), ...d.subarray(7));
}
