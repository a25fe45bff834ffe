// Artifact encodings: weights (float32 per tensor), bit-packed masks (1 bit per weight), index sets (int32), JSON.
// Every binary format starts with a 4-byte magic and a version byte so a wrong or truncated blob fails loudly.
// The types are structural copies of ml/'s (the store imports nothing of ours); ml/'s Mask and Weights fit them.

export interface MaskLayerData {
  name: string;
  shape: number[];
  /** 1 = kept, 0 = pruned. */
  keep: Uint8Array;
}
export interface MaskData {
  layers: MaskLayerData[];
}
export type WeightsData = Record<string, Float32Array>;

export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

const VERSION = 1;
const magic = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
const MASK_MAGIC = magic('UPMK');
const WEIGHTS_MAGIC = magic('UPWT');
const INDEX_MAGIC = magic('UPIX');

/** magic | u8 version | u32 LE header length | JSON header | padding to 4 bytes | payload */
function frame(
  m: number[],
  header: unknown,
  payloadBytes: number,
  version = VERSION,
): { out: Uint8Array; payloadAt: number } {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const payloadAt = Math.ceil((9 + h.length) / 4) * 4;
  const out = new Uint8Array(payloadAt + payloadBytes);
  out.set(m, 0);
  out[4] = version;
  new DataView(out.buffer).setUint32(5, h.length, true);
  out.set(h, 9);
  return { out, payloadAt };
}

function unframe<H>(
  m: number[],
  bytes: Uint8Array,
  what: string,
  versions = [VERSION],
): { header: H; payloadAt: number } {
  if (bytes.length < 9 || m.some((b, i) => bytes[i] !== b)) throw new CodecError(`not an unprune ${what} blob`);
  if (!versions.includes(bytes[4]!))
    throw new CodecError(`${what} blob version ${bytes[4]} is not supported (expected ${versions.join(' or ')})`);
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(5, true);
  if (9 + len > bytes.length) throw new CodecError(`${what} blob is truncated (header)`);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(9, 9 + len))) as H;
  return { header, payloadAt: Math.ceil((9 + len) / 4) * 4 };
}

const product = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

// Payloads are little-endian. On a little-endian host (every platform Node runs on in practice) they are copied
// as whole arrays; element-by-element DataView access allocated a number per weight and was the codec's cost.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Four 0/1 flags (a little-endian word's bytes; any nonzero byte counts as 1) as a nibble, first flag lowest. The
 *  multiply moves byte j's flag to bit 24 + j; no two partial products share a bit, so nothing carries. */
function flagNibble(word: number): number {
  const ones = ((((word & 0x7f7f7f7f) + 0x7f7f7f7f) | word) >>> 7) & 0x01010101;
  return (Math.imul(ones, 0x01020408) >>> 24) & 15;
}

/** A nibble's four bits as four 0/1 bytes of a little-endian word, first bit lowest. */
const NIBBLE_FLAGS = Uint32Array.from({ length: 16 }, (_, b) =>
  [0, 1, 2, 3].reduce((word, j) => word | (((b >> j) & 1) << (8 * j)), 0),
);

export function encodeMask(mask: MaskData): Uint8Array {
  const bits = mask.layers.reduce((s, l) => s + l.keep.length, 0);
  const { out, payloadAt } = frame(
    MASK_MAGIC,
    { layers: mask.layers.map((l) => ({ name: l.name, shape: l.shape })) },
    Math.ceil(bits / 8),
  );
  let bit = 0;
  for (const l of mask.layers) {
    const keep = l.keep;
    const setBit = (i: number) => {
      if (keep[i]) out[payloadAt + (bit >> 3)]! |= 1 << (bit & 7);
    };
    let i = 0;
    // Bit by bit up to a byte boundary, then eight at a time (a layer's bits need not start on one): as two words
    // where the flags are 4-byte aligned (each word's four 0/1 flags gathered into a nibble by one multiply).
    for (; i < keep.length && bit & 7; i++, bit++) setBit(i);
    if (HOST_IS_LITTLE_ENDIAN && ((keep.byteOffset + i) & 3) === 0) {
      const words = new Uint32Array(keep.buffer, keep.byteOffset + i, (keep.length - i) >> 2);
      for (let at = payloadAt + (bit >> 3), w = 0; i + 8 <= keep.length; i += 8, bit += 8, at++, w += 2)
        out[at] = flagNibble(words[w]!) | (flagNibble(words[w + 1]!) << 4);
    }
    for (let at = payloadAt + (bit >> 3); i + 8 <= keep.length; i += 8, bit += 8, at++) {
      out[at] =
        (keep[i] ? 1 : 0) |
        (keep[i + 1] ? 2 : 0) |
        (keep[i + 2] ? 4 : 0) |
        (keep[i + 3] ? 8 : 0) |
        (keep[i + 4] ? 16 : 0) |
        (keep[i + 5] ? 32 : 0) |
        (keep[i + 6] ? 64 : 0) |
        (keep[i + 7] ? 128 : 0);
    }
    for (; i < keep.length; i++, bit++) setBit(i);
  }
  return out;
}

export function decodeMask(bytes: Uint8Array): MaskData {
  const { header, payloadAt } = unframe<{ layers: { name: string; shape: number[] }[] }>(MASK_MAGIC, bytes, 'mask');
  const total = header.layers.reduce((s, l) => s + product(l.shape), 0);
  if (payloadAt + Math.ceil(total / 8) !== bytes.length) throw new CodecError('mask blob has the wrong length');
  let bit = 0;
  return {
    layers: header.layers.map(({ name, shape }) => {
      const keep = new Uint8Array(product(shape));
      const getBit = () => (bytes[payloadAt + (bit >> 3)]! >> (bit & 7)) & 1;
      let i = 0;
      for (; i < keep.length && bit & 7; i++, bit++) keep[i] = getBit();
      if (HOST_IS_LITTLE_ENDIAN && (i & 3) === 0) {
        // Eight flags as two words from a table (keep starts its own buffer, so i is the alignment).
        const words = new Uint32Array(keep.buffer, 0, keep.length >> 2);
        for (; i + 8 <= keep.length; i += 8, bit += 8) {
          const byte = bytes[payloadAt + (bit >> 3)]!;
          words[i >> 2] = NIBBLE_FLAGS[byte & 15]!;
          words[(i >> 2) + 1] = NIBBLE_FLAGS[byte >> 4]!;
        }
      }
      for (; i + 8 <= keep.length; i += 8, bit += 8) {
        const byte = bytes[payloadAt + (bit >> 3)]!;
        keep[i] = byte & 1;
        keep[i + 1] = (byte >> 1) & 1;
        keep[i + 2] = (byte >> 2) & 1;
        keep[i + 3] = (byte >> 3) & 1;
        keep[i + 4] = (byte >> 4) & 1;
        keep[i + 5] = (byte >> 5) & 1;
        keep[i + 6] = (byte >> 6) & 1;
        keep[i + 7] = byte >> 7;
      }
      for (; i < keep.length; i++, bit++) keep[i] = getBit();
      return { name, shape, keep };
    }),
  };
}

// Weights, version 2: a tensor whose elements are mostly all-zero bits (a pruned layer's) is stored as a bitmap of
// its other elements (LSB first, padded to 4 bytes) and their bit patterns in order, its header entry naming how
// many (`stored`); the others as version 1, every element. A pruned MLP's weights: 1.07 MB → 0.29 MB at 80%
// sparsity; a quickstart wrote 199 MB into its store, and two workers' writes contended for memory (the kernel's
// copy into the page cache took 3.4× the CPU it took with one worker). -0 and NaN are bit patterns like any other.
const WEIGHTS_VERSION = 2;
/** Stored sparse when at most this share of its elements is kept (the bitmap costs 1/32 of the dense size). */
const SPARSE_WEIGHTS_SHARE = 0.75;
const bitmapBytes = (length: number) => Math.ceil(length / 32) * 4;

interface WeightsTensorHeader {
  name: string;
  length: number;
  /** Sparse: how many elements follow the bitmap. */
  stored?: number;
}

/** A tensor's payload bytes. */
const tensorBytes = (t: WeightsTensorHeader) =>
  t.stored === undefined ? 4 * t.length : bitmapBytes(t.length) + 4 * t.stored;

export function encodeWeights(weights: WeightsData): Uint8Array {
  const names = Object.keys(weights);
  const tensors: WeightsTensorHeader[] = names.map((name) => {
    const w = weights[name]!;
    if (!HOST_IS_LITTLE_ENDIAN) return { name, length: w.length };
    const bits = new Uint32Array(w.buffer, w.byteOffset, w.length);
    let stored = 0;
    for (let i = 0; i < bits.length; i++) if (bits[i] !== 0) stored++;
    return w.length >= 64 && stored <= SPARSE_WEIGHTS_SHARE * w.length
      ? { name, length: w.length, stored }
      : { name, length: w.length };
  });
  const { out, payloadAt } = frame(
    WEIGHTS_MAGIC,
    { tensors },
    tensors.reduce((sum, t) => sum + tensorBytes(t), 0),
    WEIGHTS_VERSION,
  );
  const view = new DataView(out.buffer);
  let at = payloadAt;
  tensors.forEach((t, k) => {
    const w = weights[names[k]!]!;
    if (t.stored !== undefined) {
      const bits = new Uint32Array(w.buffer, w.byteOffset, w.length);
      const values = new Uint32Array(out.buffer, at + bitmapBytes(t.length), t.stored);
      let v = 0;
      for (let i = 0; i < bits.length; i++)
        if (bits[i] !== 0) {
          out[at + (i >> 3)]! |= 1 << (i & 7);
          values[v++] = bits[i]!;
        }
    } else if (HOST_IS_LITTLE_ENDIAN) new Float32Array(out.buffer, at, w.length).set(w);
    else for (let i = 0; i < w.length; i++) view.setFloat32(at + 4 * i, w[i]!, true);
    at += tensorBytes(t);
  });
  return out;
}

export function decodeWeights(bytes: Uint8Array): WeightsData {
  const { header, payloadAt } = unframe<{ tensors: WeightsTensorHeader[] }>(WEIGHTS_MAGIC, bytes, 'weights', [
    VERSION,
    WEIGHTS_VERSION,
  ]);
  const total = header.tensors.reduce((s, t) => s + tensorBytes(t), 0);
  if (payloadAt + total !== bytes.length) throw new CodecError('weights blob has the wrong length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: WeightsData = {};
  let at = payloadAt;
  for (const t of header.tensors) {
    if (t.stored !== undefined) {
      const w = new Float32Array(t.length);
      const bits = new Uint32Array(w.buffer);
      const from = at + bitmapBytes(t.length);
      // The stored bit patterns, copied aligned (read one by one through a DataView, each became a heap number).
      const values = HOST_IS_LITTLE_ENDIAN
        ? new Uint32Array(bytes.slice(from, from + 4 * t.stored).buffer)
        : Uint32Array.from({ length: t.stored }, (_, k) => view.getUint32(from + 4 * k, true));
      let v = 0;
      for (let i0 = 0; i0 < t.length; i0 += 8) {
        // Set bits only, lowest first (a bit-by-bit walk of an 80%-pruned MLP's bitmap took ~3× as long).
        for (let byte = bytes[at + (i0 >> 3)]!; byte !== 0; byte &= byte - 1) {
          const i = i0 + 31 - Math.clz32(byte & -byte);
          if (v === t.stored || i >= t.length) throw new CodecError('weights blob has a corrupt bitmap');
          bits[i] = values[v++]!;
        }
      }
      if (v !== t.stored) throw new CodecError('weights blob has a corrupt bitmap');
      out[t.name] = w;
    } else if (HOST_IS_LITTLE_ENDIAN)
      // slice() copies into a fresh, aligned buffer (the blob's own offset need not be a multiple of 4).
      out[t.name] = new Float32Array(bytes.slice(at, at + 4 * t.length).buffer);
    else out[t.name] = Float32Array.from({ length: t.length }, (_, i) => view.getFloat32(at + 4 * i, true));
    at += tensorBytes(t);
  }
  return out;
}

export function encodeIndices(indices: ArrayLike<number>): Uint8Array {
  const { out, payloadAt } = frame(INDEX_MAGIC, { count: indices.length }, indices.length * 4);
  if (HOST_IS_LITTLE_ENDIAN) new Int32Array(out.buffer, payloadAt, indices.length).set(indices);
  else {
    const view = new DataView(out.buffer);
    for (let i = 0; i < indices.length; i++) view.setInt32(payloadAt + 4 * i, indices[i]!, true);
  }
  return out;
}

export function decodeIndices(bytes: Uint8Array): Int32Array {
  const { header, payloadAt } = unframe<{ count: number }>(INDEX_MAGIC, bytes, 'index set');
  if (payloadAt + header.count * 4 !== bytes.length) throw new CodecError('index set blob has the wrong length');
  if (HOST_IS_LITTLE_ENDIAN) return new Int32Array(bytes.slice(payloadAt).buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Int32Array.from({ length: header.count }, (_, i) => view.getInt32(payloadAt + 4 * i, true));
}

export function encodeJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

export function decodeJson<T>(bytes: Uint8Array): T {
  return JSON.parse(new TextDecoder().decode(bytes)) as T;
}
