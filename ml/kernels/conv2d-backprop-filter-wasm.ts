// Conv2DBackpropFilter for the wasm backend, which tfjs 4.x lacks (training any conv net on wasm fails without it).
// im2col + one matmul: the patch matrix is laid out [K, M] (K = fh·fw·cin, M = n·oh·ow) so that the product with
// dy viewed as [M, cout] is exactly the filter gradient [fh, fw, cin, cout] in row-major order, with no transpose.
import {
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  type Conv2DBackpropFilterAttrs,
} from '@tensorflow/tfjs-core';
import { convGeometry, runWasmKernel, type WasmBackendLike } from './wasm-kernel-support.js';

export function conv2dBackpropFilterWasm(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: unknown;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { x, dy } = args.inputs;
  const backend = args.backend as WasmBackendLike;
  const { filterShape } = args.attrs;
  const { info, m, k } = convGeometry('Conv2DBackpropFilter', x.shape, filterShape, args.attrs);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c } = info;
  const { outHeight: oh, outWidth: ow, outChannels: co, filterHeight: fh, filterWidth: fw } = info;
  const { strideHeight: sh, strideWidth: sw, padInfo } = info;

  const cols = backend.makeOutput([1, k, m], 'float32');
  // Views are taken after every allocation: growing wasm memory detaches earlier views.
  const colsView = backend.typedArrayFromHeap(cols);
  const xView = backend.typedArrayFromHeap(x);
  const top = padInfo.top;
  const left = padInfo.left;
  for (let kh = 0; kh < fh; kh++) {
    for (let kw = 0; kw < fw; kw++) {
      // Output columns whose input column lies inside the image, for this kw: ow in [owLo, owHi).
      const owLo = Math.max(0, Math.ceil((left - kw) / sw));
      const owHi = Math.min(ow, Math.floor((w - 1 + left - kw) / sw) + 1);
      for (let ci = 0; ci < c; ci++) {
        const row = ((kh * fw + kw) * c + ci) * m;
        for (let b = 0; b < n; b++) {
          for (let y = 0; y < oh; y++) {
            const out = row + (b * oh + y) * ow;
            const ih = y * sh + kh - top;
            if (ih < 0 || ih >= h || owLo >= owHi) {
              colsView.fill(0, out, out + ow);
              continue;
            }
            if (owLo > 0) colsView.fill(0, out, out + owLo);
            if (owHi < ow) colsView.fill(0, out + owHi, out + ow);
            let src = ((b * h + ih) * w + (owLo * sw + kw - left)) * c + ci;
            const step = sw * c;
            for (let x0 = owLo; x0 < owHi; x0++, src += step) colsView[out + x0] = xView[src]!;
          }
        }
      }
    }
  }

  const dy3 = runWasmKernel('Reshape', backend, { x: dy }, { shape: [1, m, co] });
  const grad = runWasmKernel('BatchMatMul', backend, { a: cols, b: dy3 }, { transposeA: false, transposeB: false });
  backend.disposeData(cols.dataId);
  backend.disposeData(dy3.dataId);
  // [1, K, cout] is [fh, fw, cin, cout] in row-major order.
  return { ...grad, shape: [...filterShape] };
}

export const conv2dBackpropFilterWasmConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilterWasm as unknown as KernelFunc,
};
