import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decodeIndices,
  decodeJson,
  decodeMask,
  decodeWeights,
  encodeIndices,
  encodeJson,
  encodeMask,
  encodeWeights,
  type MaskData,
} from '../../store/codec.js';

test('bit-packed masks round-trip and use 1 bit per weight', () => {
  const keep = Uint8Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 3 === 0 ? 1 : 0));
  const mask: MaskData = {
    layers: [
      { name: 'big.w', shape: [10, 100], keep },
      { name: 'b', shape: [3], keep: Uint8Array.from([0, 1, 1]) },
    ],
  };
  const bytes = encodeMask(mask);
  const headerLen = JSON.stringify({ layers: mask.layers.map((l) => ({ name: l.name, shape: l.shape })) }).length;
  assert.equal(bytes.length, Math.ceil((9 + headerLen) / 4) * 4 + Math.ceil(1003 / 8));
  assert.deepEqual(decodeMask(bytes), mask);
  // Bit order is fixed (LSB first): the first kept weights of the big layer are i = 0, 3, 6 → bits 0b01001001.
  assert.equal(bytes[Math.ceil((9 + headerLen) / 4) * 4], 0b01001001);
  assert.throws(() => decodeMask(bytes.subarray(0, bytes.length - 1)), /wrong length/);
  assert.throws(() => decodeMask(new Uint8Array(20)), /not an unprune mask blob/);
  assert.throws(() => decodeMask(encodeIndices([1])), /not an unprune mask blob/);
});

test('masks whose layers start mid-byte pack every bit in order (LSB first), and any non-zero keep is a 1', () => {
  const sizes = [13, 29, 8, 3, 64, 1];
  let n = 0;
  const layers = sizes.map((size, li) => ({
    name: `l${li}`,
    shape: [size],
    keep: Uint8Array.from({ length: size }, () => [0, 1, 0, 2, 1, 1, 0][n++ % 7]!),
  }));
  const bytes = encodeMask({ layers });
  const all = layers.flatMap((l) => [...l.keep].map((k) => (k ? 1 : 0)));
  const payload = bytes.subarray(bytes.length - Math.ceil(all.length / 8));
  all.forEach((b, i) => assert.equal((payload[i >> 3]! >> (i & 7)) & 1, b, `bit ${i}`));
  assert.equal(payload[payload.length - 1]! >> (all.length & 7), 0, 'padding bits are zero');
  const back = decodeMask(bytes);
  let at = 0;
  for (const [li, l] of back.layers.entries()) {
    assert.equal(l.name, `l${li}`);
    assert.deepEqual([...l.keep], all.slice(at, (at += l.keep.length)));
  }
});

test('weights round-trip bit-exactly (including -0, NaN, subnormals) and detect truncation', () => {
  const w = {
    'dense1.w#3': Float32Array.from([1.5, -0, NaN, 1e-40, -3.4e38, 0.1]),
    'dense1.b#4': new Float32Array(0),
    'out.w#5': Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i)),
  };
  const back = decodeWeights(encodeWeights(w));
  assert.deepEqual(Object.keys(back), Object.keys(w));
  for (const k of Object.keys(w)) {
    const a = new Uint32Array(w[k as keyof typeof w].buffer);
    assert.deepEqual(new Uint32Array(back[k]!.buffer), a, k);
  }
  const bytes = encodeWeights(w);
  assert.throws(() => decodeWeights(bytes.subarray(0, bytes.length - 4)), /wrong length/);
  // The payload is little-endian float32 whatever the host: 1.5 is 0x3fc00000.
  const header = JSON.stringify({ tensors: Object.entries(w).map(([name, a]) => ({ name, length: a.length })) });
  const payloadAt = Math.ceil((9 + header.length) / 4) * 4;
  assert.deepEqual(Array.from(bytes.subarray(payloadAt, payloadAt + 4)), [0x00, 0x00, 0xc0, 0x3f]);
  // A blob read into a larger buffer at an odd offset (not float-aligned) decodes the same.
  for (const offset of [1, 2, 3]) {
    const shifted = new Uint8Array(bytes.length + offset);
    shifted.set(bytes, offset);
    const again = decodeWeights(shifted.subarray(offset));
    for (const k of Object.keys(w))
      assert.deepEqual(new Uint32Array(again[k]!.buffer), new Uint32Array(back[k]!.buffer));
  }
});

test('pruned weights are stored as a bitmap and the kept bit patterns, bit-exactly (-0, NaN, subnormals among zeros)', () => {
  const pruned = new Float32Array(1003); // not a multiple of 8 or 32
  for (let i = 0; i < pruned.length; i += 5) pruned[i] = Math.cos(i);
  pruned.set([-0, NaN, 1e-40, -Infinity], 1);
  pruned[1002] = 7;
  const edge = new Float32Array(64).fill(1).fill(0, 0, 16); // 75% kept: sparse; one more and it is dense
  const dense = Float32Array.from({ length: 100 }, (_, i) => i + 1);
  const w = { pruned, edge, dense, empty: new Float32Array(0) };
  const bytes = encodeWeights(w);
  assert.equal(bytes[4], 2, 'version 2');
  const headerLength = new DataView(bytes.buffer).getUint32(5, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(9, 9 + headerLength))) as {
    tensors: { name: string; length: number; stored?: number }[];
  };
  // Every fifth element (201), −0, NaN, 1e−40 and −∞ (all bit patterns other than zero), and the last.
  const kept = new Uint32Array(pruned.buffer).filter((b) => b !== 0).length;
  assert.equal(kept, 201 + 4 + 1);
  assert.deepEqual(header.tensors, [
    { name: 'pruned', length: 1003, stored: kept },
    { name: 'edge', length: 64, stored: 48 },
    { name: 'dense', length: 100 },
    { name: 'empty', length: 0 },
  ]);
  // Bitmaps of ⌈length/32⌉ words, then the kept elements; the dense tensor whole.
  const payloadAt = Math.ceil((9 + headerLength) / 4) * 4;
  assert.equal(bytes.length, payloadAt + (4 * 32 + 4 * kept) + (4 * 2 + 4 * 48) + 4 * 100);
  const back = decodeWeights(bytes);
  for (const [k, a] of Object.entries(w))
    assert.deepEqual(new Uint32Array(back[k]!.buffer), new Uint32Array(a.buffer), k);
  // A blob read at an odd offset decodes the same; a bit flipped in a bitmap is caught.
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  assert.deepEqual(new Uint32Array(decodeWeights(shifted.subarray(3)).pruned!.buffer), new Uint32Array(pruned.buffer));
  const corrupt = bytes.slice();
  corrupt[payloadAt] ^= 0b10; // element 1 of `pruned` (−0) unlisted: one stored value left over
  assert.throws(() => decodeWeights(corrupt), /corrupt bitmap/);
  assert.throws(() => decodeWeights(bytes.subarray(0, bytes.length - 4)), /wrong length/);
});

test('weights blobs of version 1 (every element, as stores written before version 2 hold) still decode', () => {
  const w = Float32Array.from([0, -0, 1.5, 0, 0, 0, 0, 0]);
  const header = new TextEncoder().encode(JSON.stringify({ tensors: [{ name: 'a', length: w.length }] }));
  const payloadAt = Math.ceil((9 + header.length) / 4) * 4;
  const v1 = new Uint8Array(payloadAt + 4 * w.length);
  v1.set([...'UPWT'].map((c) => c.charCodeAt(0)));
  v1[4] = 1;
  new DataView(v1.buffer).setUint32(5, header.length, true);
  v1.set(header, 9);
  v1.set(new Uint8Array(w.buffer), payloadAt);
  assert.deepEqual(new Uint32Array(decodeWeights(v1).a!.buffer), new Uint32Array(w.buffer));
  v1[4] = 3;
  assert.throws(() => decodeWeights(v1), /version 3 is not supported \(expected 1 or 2\)/);
});

test('index sets and JSON round-trip', () => {
  const idx = Int32Array.from([5, 0, 59999, 17]);
  assert.deepEqual(decodeIndices(encodeIndices(idx)), idx);
  assert.deepEqual(decodeIndices(encodeIndices([])), new Int32Array(0));
  const blob = encodeIndices(idx);
  assert.deepEqual(Array.from(blob.subarray(blob.length - 4)), [17, 0, 0, 0]);
  const shifted = new Uint8Array(blob.length + 1);
  shifted.set(blob, 1);
  assert.deepEqual(decodeIndices(shifted.subarray(1)), idx);
  assert.deepEqual(decodeJson(encodeJson({ a: [1, 'x'], b: null })), { a: [1, 'x'], b: null });
});

test('masks round-trip whatever the layer sizes, flag values and alignment of the keep arrays (the word-wise paths)', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          size: fc.integer({ min: 1, max: 200 }),
          offset: fc.integer({ min: 0, max: 3 }),
          flags: fc.array(fc.constantFrom(0, 0, 1, 2, 128, 255), { minLength: 1, maxLength: 200 }),
        }),
        { minLength: 1, maxLength: 5 },
      ),
      (specs) => {
        const layers = specs.map(({ size, offset, flags }, li) => {
          // A view at a byte offset: the flags need not be word-aligned.
          const keep = new Uint8Array(size + offset).subarray(offset);
          for (let i = 0; i < size; i++) keep[i] = flags[i % flags.length]!;
          return { name: `l${li}`, shape: [size], keep };
        });
        const bits = layers.flatMap((l) => [...l.keep].map((k) => (k ? 1 : 0)));
        const bytes = encodeMask({ layers });
        const payload = bytes.subarray(bytes.length - Math.ceil(bits.length / 8));
        bits.forEach((b, i) => assert.equal((payload[i >> 3]! >> (i & 7)) & 1, b, `bit ${i}`));
        assert.deepEqual(
          decodeMask(bytes).layers.flatMap((l) => [...l.keep]),
          bits,
        );
      },
    ),
    { numRuns: 300 },
  );
});

test('sparse weights round-trip bit-exactly at any density and length (the set-bit walk of the bitmap)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 64, max: 700 }),
      fc.double({ min: 0, max: 0.75 }),
      fc.integer(),
      (length, density, seed) => {
        let s = seed >>> 0;
        const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 4294967296);
        const w = new Float32Array(length);
        const special = [NaN, -0, 1e-45, -3.5, 7];
        for (let i = 0; i < length; i++) if (next() < density) w[i] = special[i % special.length]!;
        const back = decodeWeights(encodeWeights({ w })).w!;
        assert.deepEqual(new Uint32Array(back.buffer), new Uint32Array(w.buffer));
      },
    ),
    { numRuns: 300 },
  );
});
