// Tile for wasm in JS, by block copies: each input row is copied once, then every tile is a copy of the block before
// it, doubling (copyWithin is a memmove). BatchNorm's input gradient tiles a [1, 1, 1, C] scale to [N, H, W, C]:
// tfjs-backend-wasm 4.22's Tile took 170 ms per call on a vgg-small batch, half of its training step (measured with
// tf.profile); this takes about a millisecond. Strings go to the kernel it replaces (which does not
// support them either).
import { getKernel, util, type KernelConfig, type TensorInfo, type TileAttrs } from '@tensorflow/tfjs-core';

type NumericArray = Float32Array | Int32Array | Uint8Array;

interface TileBackend {
  makeOutput(shape: number[], dtype: TensorInfo['dtype']): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): NumericArray;
}

/** Writes `src` (of `shape`, row-major) tiled `reps` times along each axis into `out`. */
export function tileInto(
  src: NumericArray,
  shape: readonly number[],
  reps: readonly number[],
  out: NumericArray,
): void {
  const rank = shape.length;
  if (rank === 0) {
    out[0] = src[0]!;
    return;
  }
  const inStride = util.computeStrides([...shape]).concat(1);
  const outStride = util.computeStrides(shape.map((s, i) => s * reps[i]!)).concat(1);
  /** Fills one tile along `dim` at outAt from the input block at inAt, then repeats it reps[dim] times. */
  const fill = (dim: number, inAt: number, outAt: number): void => {
    const n = shape[dim]!;
    if (dim === rank - 1) out.set(src.subarray(inAt, inAt + n), outAt);
    else for (let i = 0; i < n; i++) fill(dim + 1, inAt + i * inStride[dim]!, outAt + i * outStride[dim]!);
    const block = n * outStride[dim]!;
    const total = block * reps[dim]!;
    for (let filled = block; filled < total; filled += Math.min(filled, total - filled))
      out.copyWithin(outAt + filled, outAt, outAt + Math.min(filled, total - filled));
  };
  fill(0, 0, 0);
}

/** The Tile config over the wasm kernel it replaces (which strings still reach). Call once, before registering it. */
export function tileWasmConfig(): KernelConfig {
  const original = getKernel('Tile', 'wasm')?.kernelFunc;
  if (!original) throw new Error('the wasm backend lacks its Tile kernel');
  return {
    kernelName: 'Tile',
    backendName: 'wasm',
    kernelFunc: ((args: { inputs: { x: TensorInfo }; backend: TileBackend; attrs: TileAttrs }) => {
      const { x } = args.inputs;
      if (x.dtype === 'string') return original(args as never);
      const { reps } = args.attrs;
      const out = args.backend.makeOutput(
        x.shape.map((s, i) => s * reps[i]!),
        x.dtype,
      );
      if (util.sizeFromShape(out.shape) > 0)
        tileInto(args.backend.typedArrayFromHeap(x), x.shape, reps, args.backend.typedArrayFromHeap(out));
      return out;
    }) as never,
  };
}
