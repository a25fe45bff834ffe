import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  filterIoU,
  filterMask,
  hammingDistance,
  layerSparsity,
  maskIoU,
  maskSparsity,
  perLayerIoU,
} from '../../ml/metrics/masks.js';
import type { Mask } from '../../ml/mask.js';

const m = (a: number[], b: number[]): Mask => ({
  layers: [
    { name: 'l1', shape: [2, 2], keep: Uint8Array.from(a) },
    { name: 'l2', shape: [3], keep: Uint8Array.from(b) },
  ],
});

test('IoU, Hamming, per-layer IoU and sparsity on hand-built masks', () => {
  const a = m([1, 1, 0, 0], [1, 0, 1]);
  const b = m([1, 0, 1, 0], [1, 0, 0]);
  // kept: a = {0,1 | 0,2}, b = {0,2 | 0}; intersection 2 (l1[0], l2[0]), union 5.
  assert.equal(maskIoU(a, b), 2 / 5);
  assert.equal(hammingDistance(a, b), 3);
  assert.deepEqual(perLayerIoU(a, b), { l1: 1 / 3, l2: 1 / 2 });
  assert.ok(Math.abs(maskSparsity(a) - 3 / 7) < 1e-12);
  const ls = layerSparsity(b);
  assert.equal(ls.l1, 0.5);
  assert.ok(Math.abs(ls.l2! - 2 / 3) < 1e-12);
  assert.equal(maskIoU(a, a), 1);
  assert.equal(maskIoU(m([0, 0, 0, 0], [0, 0, 0]), m([0, 0, 0, 0], [0, 0, 0])), 1);
  assert.throws(() => maskIoU(a, { layers: [a.layers[0]!] }), /different layer counts/);
});

test('IoU and Hamming count word by word on aligned masks and byte by byte elsewhere, as a plain count', () => {
  // Layers long enough for the four-byte path, with tails, and views at odd offsets (the byte path).
  let seed = 7;
  const bit = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 1;
  const buffer = new Uint8Array(1000).map(bit);
  const other = new Uint8Array(1000).map(bit);
  for (const [offset, length] of [
    [0, 999],
    [4, 517],
    [1, 600],
    [3, 7],
  ] as const) {
    const layer = (keep: Uint8Array): Mask => ({ layers: [{ name: 'l', shape: [length], keep }] });
    const a = buffer.subarray(offset, offset + length);
    const b = other.subarray(0, length);
    let inter = 0;
    let union = 0;
    for (let i = 0; i < length; i++) {
      inter += a[i]! && b[i]! ? 1 : 0;
      union += a[i]! || b[i]! ? 1 : 0;
    }
    assert.equal(maskIoU(layer(a), layer(b)), inter / union, `offset ${offset}, length ${length}`);
    assert.equal(hammingDistance(layer(a), layer(b)), union - inter);
  }
});

test('filter-level masks and IoU: a filter (last axis) is kept if any of its weights is', () => {
  const a: Mask = { layers: [{ name: 'c', shape: [2, 3], keep: Uint8Array.from([1, 0, 0, 0, 0, 1]) }] };
  const b: Mask = { layers: [{ name: 'c', shape: [2, 3], keep: Uint8Array.from([0, 0, 0, 1, 1, 0]) }] };
  assert.deepEqual(Array.from(filterMask(a).layers[0]!.keep), [1, 0, 1]);
  assert.deepEqual(Array.from(filterMask(b).layers[0]!.keep), [1, 1, 0]);
  assert.equal(filterIoU(a, b), 1 / 3);
  // A layer neither mask prunes (a classifier left dense) is left out: with it the IoU would read 3/5.
  const dense = { name: 'fc', shape: [2, 2], keep: Uint8Array.from([1, 1, 1, 1]) };
  assert.equal(filterIoU({ layers: [...a.layers, dense] }, { layers: [...b.layers, { ...dense }] }), 1 / 3);
  assert.equal(filterIoU({ layers: [dense] }, { layers: [{ ...dense }] }), 1, 'nothing pruned: identical');
});
