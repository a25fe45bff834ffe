// Inference on a layer chain without tfjs's engine (evaluation's forward passes): the addon kernels tfjs's blas
// backend runs for the same ops — a pruned layer's product through its pattern, sgemm, convolutions, bias and ReLU,
// max-pooling — on the weights read in place from the wasm heap, into buffers kept between batches. The same logits
// as the network's tfjs forward pass, bit for bit (test/ml/layer-chain-forward.test.ts); tfjs's dispatch, the copy
// of each batch into its heap and the read-back were a third of an evaluation's forward passes (27 against 17 ms for
// 6,000 rows of the 80%-pruned MLP). Chains with batch normalisation or mean-pooling stay on tfjs.
import * as tf from '@tensorflow/tfjs-core';
import type { Network } from '../models/network.js';
import { lap } from '../layer-seconds.js';
import { batchOf, chainLayers } from './layer-chain-trainer.js';
import { activeNativeKernels } from './register-wasm-kernels.js';
import { peekValues } from './sparse-matmul.js';

/** Logits [rows, classes] of x [rows, features] (a view of a buffer the next call reuses). */
export type ChainLogits = (x: Float32Array, rows: number) => Float32Array;

/** The chain forward pass of `net` as it stands (weights, patterns), or null where tfjs's must run. */
export function chainForward(net: Network): ChainLogits | null {
  const addon = activeNativeKernels();
  const chain = net.def.chain;
  // The wasm backend's tensors only (the addon's kernels are registered there; another backend runs its own).
  if (!addon || tf.getBackend() !== 'wasm' || !chain) return null;
  if (chain.some((s) => s.kind === 'batchNorm' || s.kind === 'meanPool')) return null;
  const layers = chainLayers(
    chain,
    net.def.inputShape,
    (name) => net.variable(name).shape,
    () => undefined,
    (name) => net.patternOf(name),
  );
  const outputs: Float32Array[] = layers.map(() => new Float32Array(0));
  return (x, rows) => {
    let input = x;
    let clock = performance.now();
    layers.forEach((l, i) => {
      if (outputs[i]!.length < rows * l.outSize) outputs[i] = new Float32Array(rows * l.outSize);
      const out = outputs[i]!.subarray(0, rows * l.outSize);
      if (l.kind === 'maxPool') addon.maxPool(input, out, batchOf(l.dims, rows));
      else if (l.kind === 'dense' || l.kind === 'conv') {
        // Views of the heap: no tfjs call runs until the batch is done, so the heap cannot move under them.
        const w = peekValues(net.variable(l.weight));
        if (l.kind === 'conv') addon.conv2d(input, w, out, batchOf(l.dims, rows));
        else if (l.pattern) addon.sparseMatMul(input, w, l.pattern, out, Int32Array.of(rows));
        else addon.gemm(input, w, out, Int32Array.of(1, rows, l.n, l.k, 0, 0, 1, 1));
        if (l.bias) {
          const b = peekValues(net.variable(l.bias));
          const dims = Int32Array.of(out.length / b.length, b.length);
          if (l.relu) addon.biasAddRelu(out, b, out, dims);
          else addon.biasAdd(out, b, out, dims);
        }
      } else throw new Error(`chainForward: ${l.kind} layers run on tfjs`);
      input = out;
      clock = lap(l.label, 'inference', clock);
    });
    return input;
  };
}
