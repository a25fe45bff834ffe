// The pruning mask: one 0/1 byte per weight in memory (store/codec.ts bit-packs them on the wire). A mask covers
// only the prunable weight tensors of a network, in the network's parameter order. Pruning, training, unlearning
// and un-pruning all use it; the metrics that compare masks live in metrics/masks.ts.
import * as tf from '@tensorflow/tfjs-core';
import type { Network } from './models/network.js';

export interface LayerMask {
  name: string;
  shape: number[];
  /** 1 = kept, 0 = pruned; length = product of shape. */
  keep: Uint8Array;
}

export interface Mask {
  layers: LayerMask[];
}

/** How many of a 32-bit word's four 0/1 bytes are 1: its product with 0x01010101 carries their sum into the top byte. */
export function flagsInWord(word: number): number {
  return Math.imul(word, 0x01010101) >>> 24;
}

/** Kept weights of one layer's mask (or any 0/1 array): four flags a word where the array is 4-byte aligned. */
export function keptCount(keep: Uint8Array): number {
  let n = 0;
  let i = 0;
  if (keep.byteOffset % 4 === 0) {
    const words = new Int32Array(keep.buffer, keep.byteOffset, keep.length >>> 2);
    for (let w = 0; w < words.length; w++) n += flagsInWord(words[w]!);
    i = words.length * 4;
  }
  for (; i < keep.length; i++) n += keep[i]!;
  return n;
}

export function countKept(mask: Mask): number {
  return mask.layers.reduce((n, l) => n + keptCount(l.keep), 0);
}

export function maskSize(mask: Mask): number {
  return mask.layers.reduce((s, l) => s + l.keep.length, 0);
}

/** Multiplies the network's masked weights by the mask (pruned weights become exactly zero). */
export function enforceMask(net: Network, mask: Mask): void {
  tf.tidy(() => {
    for (const l of mask.layers) {
      const v = net.variable(l.name);
      v.assign(tf.mul(v, tf.tensor(Float32Array.from(l.keep), l.shape)));
    }
  });
}
