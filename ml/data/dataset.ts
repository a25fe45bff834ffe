// In-memory data sets and index-set views. A split holds normalised float32 images (NHWC) and int labels; a view
// is a split plus an index array, so D, D_r, D_f and test share one copy of the pixels.
import { InvalidConfigError } from '../errors.js';
import { SeededRandom } from './seeded-random.js';

import type { DatasetName } from '../catalog.js';

export interface Split {
  /** n × h × w × c, row-major, already normalised. */
  x: Float32Array;
  /** Class labels, 0..numClasses-1. */
  y: Int32Array;
  n: number;
  /** The bytes x was normalised from, where it was (splitFromBytes). */
  codes?: PixelCodes;
}

/**
 * A split's raw pixels and its normalisation: x[i·f + j] = fround(bytes[i·f + j]·scale[j] − shift[j]) in double, f
 * features a row, scaleShift = f scales then f shifts. The native row copier decodes batches from these: a quarter
 * of the bytes to read (MNIST's 6,000 training rows are 18.8 MB of floats; perf over a quickstart put the row
 * copies at 9.2% of all CPU from the floats, 7.7% from the codes).
 */
export interface PixelCodes {
  bytes: Uint8Array;
  scaleShift: Float64Array;
}

export interface Dataset {
  name: DatasetName;
  /** [height, width, channels]. */
  inputShape: [number, number, number];
  numClasses: number;
  train: Split;
  test: Split;
}

export interface DataView {
  split: Split;
  /** Indices into split; the view's examples in this order. */
  indices: Int32Array;
  /** Per-example pixel count (h·w·c), for batching. */
  featureSize: number;
  /** Labels by position in the view, replacing the split's (random relabelling, tagged labels). */
  labels?: Int32Array;
}

export interface LoadOptions {
  /** Number of training examples to keep (a seeded random subset); default all. */
  train?: number;
  /** Number of test examples to keep; default all. */
  test?: number;
  /** Seed for the subset choice; default 0. */
  subsetSeed?: number;
  /** Subtract the data set's mean and divide by its std (default true); false leaves pixels in [0, 1]. */
  normalize?: boolean;
}

/** Per-channel normalisation constants (the usual published values). */
export const NORMALIZATION: Record<DatasetName, { mean: number[]; std: number[] }> = {
  mnist: { mean: [0.1307], std: [0.3081] },
  'fashion-mnist': { mean: [0.286], std: [0.353] },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
  synthetic: { mean: [0], std: [1] },
};

/**
 * Builds a split from raw bytes in [0, 255] (NHWC), keeping the chosen rows and normalising them. The floats are
 * made on first use of `x`: with the native row copier nothing reads them (batches and forward passes decode rows
 * from the codes), and making them cost every stage process ~0.1 s of its start (MNIST's 6,000 rows: 18.8 MB of
 * fresh memory, page by page).
 */
export function splitFromBytes(
  pixels: Uint8Array,
  labels: ArrayLike<number>,
  featureSize: number,
  rows: Int32Array | null,
  norm: { mean: number[]; std: number[] } | null,
): Split {
  const n = rows ? rows.length : labels.length;
  const y = new Int32Array(n);
  const channels = norm ? norm.mean.length : 1;
  const scale = norm ? norm.std.map((s) => 1 / (255 * s)) : [1 / 255];
  const shift = norm ? norm.mean.map((m, c) => m / norm.std[c]!) : [0];
  const bytes = new Uint8Array(n * featureSize);
  const scaleShift = new Float64Array(2 * featureSize);
  for (let j = 0; j < featureSize; j++) {
    scaleShift[j] = scale[j % channels]!;
    scaleShift[featureSize + j] = shift[j % channels]!;
  }
  for (let i = 0; i < n; i++) {
    const src = rows ? rows[i]! : i;
    y[i] = labels[src]!;
    bytes.set(pixels.subarray(src * featureSize, (src + 1) * featureSize), i * featureSize);
  }
  const codes = { bytes, scaleShift };
  let x: Float32Array | undefined;
  return {
    get x() {
      return (x ??= decodeCodes(codes, featureSize, n));
    },
    y,
    n,
    codes,
  };
}

/** The first `rows` rows of floats that `codes` encode (PixelCodes' formula). */
function decodeCodes(codes: PixelCodes, featureSize: number, rows: number): Float32Array {
  const { bytes, scaleShift } = codes;
  const x = new Float32Array(rows * featureSize);
  for (let i = 0, at = 0; i < rows; i++)
    for (let j = 0; j < featureSize; j++, at++) x[at] = bytes[at]! * scaleShift[j]! - scaleShift[featureSize + j]!;
  return x;
}

/** Seeded choice of `size` rows out of `total` (sorted, so the subset keeps the file's order), or null for all. */
export function chooseRows(total: number, size: number | undefined, seed: number, what: string): Int32Array | null {
  if (size === undefined || size === total) return null;
  if (!Number.isInteger(size) || size <= 0 || size > total) {
    throw new InvalidConfigError(`${what} subset size ${size} is out of range: must be an integer in 1..${total}`);
  }
  const perm = new SeededRandom(seed).permutation(total);
  return perm.subarray(0, size).sort();
}

export function featureSizeOf(ds: Dataset): number {
  return ds.inputShape[0] * ds.inputShape[1] * ds.inputShape[2];
}

/** A view over all of a split. */
export function fullView(ds: Dataset, which: 'train' | 'test'): DataView {
  const split = ds[which];
  const indices = new Int32Array(split.n);
  for (let i = 0; i < split.n; i++) indices[i] = i;
  return { split, indices, featureSize: featureSizeOf(ds) };
}

/** A view over the given training indices (copied, validated). */
export function viewOf(ds: Dataset, indices: ArrayLike<number>, which: 'train' | 'test' = 'train'): DataView {
  const split = ds[which];
  const idx = Int32Array.from(indices);
  for (const i of idx) {
    if (i < 0 || i >= split.n)
      throw new InvalidConfigError(`index ${i} is outside the ${which} split (0..${split.n - 1})`);
  }
  return { split, indices: idx, featureSize: featureSizeOf(ds) };
}

/** The view minus a set of indices (D_r = D \ D_f), keeping the view's order. */
export function without(view: DataView, removed: ArrayLike<number>): DataView {
  const drop = new Set<number>(Array.from(removed));
  const kept = view.indices.filter((i) => !drop.has(i));
  return { split: view.split, indices: kept, featureSize: view.featureSize };
}

/** Concatenation of two views of the same split, with the labels each contributes (default: the split's). */
export function concatViews(a: DataView, b: DataView, labelsA?: Int32Array, labelsB?: Int32Array): DataView {
  if (a.split !== b.split) throw new Error('cannot concatenate views of different splits');
  const indices = new Int32Array(a.indices.length + b.indices.length);
  indices.set(a.indices);
  indices.set(b.indices, a.indices.length);
  const labels = new Int32Array(indices.length);
  labels.set(labelsA ?? labelsOf(a));
  labels.set(labelsB ?? labelsOf(b), a.indices.length);
  return { split: a.split, indices, featureSize: a.featureSize, labels };
}

/** The labels of a view, in view order. */
export function labelsOf(view: DataView): Int32Array {
  return view.labels ?? Int32Array.from(view.indices, (i) => view.split.y[i]!);
}

/**
 * Arrays a loop gathers its batches into, reused from batch to batch: a fresh 400 KB array per MNIST batch cost a
 * page fault per 4 KB and most of training's garbage collection (gatherBatch 3.0 → 1.4 s of the quickstart). Only
 * for loops whose batch tensors are gone before the next batch (tfjs's cpu backend keeps the array it is given).
 */
export class BatchBuffer {
  private x = new Float32Array(0);
  private y = new Int32Array(0);

  /** Views of `rows` rows of `featureSize` features (valid until the next call). */
  take(rows: number, featureSize: number): { x: Float32Array; y: Int32Array } {
    if (this.x.length < rows * featureSize) this.x = new Float32Array(rows * featureSize);
    if (this.y.length < rows) this.y = new Int32Array(rows);
    return { x: this.x.subarray(0, rows * featureSize), y: this.y.subarray(0, rows) };
  }
}

const dominantValues = new WeakMap<Split, number | null>();

/**
 * The value at least half of a split's pixels hold (normalised MNIST's background: 81% of them), judged on its first
 * 256 examples, or null. A dense first layer may then multiply by the other pixels only (x = c + a sparse rest; see
 * offsetProduct in ml/kernels/native/unprune_blas.c). Computed once per split, from its codes where it has them
 * (leaving its floats unmade).
 */
export function dominantValue(split: Split, featureSize: number): number | null {
  let v = dominantValues.get(split);
  if (v !== undefined) return v;
  const rows = Math.min(split.n, 256);
  const sample = split.codes
    ? decodeCodes(split.codes, featureSize, rows)
    : split.x.subarray(0, Math.min(rows * featureSize, split.x.length));
  // The commonest value of the first example is the candidate; its share is counted over the first 256.
  const counts = new Map<number, number>();
  for (let j = 0; j < Math.min(featureSize, sample.length); j++)
    counts.set(sample[j]!, (counts.get(sample[j]!) ?? 0) + 1);
  let candidate = NaN;
  let most = 0;
  for (const [value, count] of counts) if (count > most) [candidate, most] = [value, count];
  let same = 0;
  for (let i = 0; i < sample.length; i++) same += sample[i] === candidate ? 1 : 0;
  v = sample.length > 0 && same >= sample.length / 2 ? candidate : null;
  dominantValues.set(split, v);
  return v;
}

/**
 * Copies rows of `width` floats: dst's row i = src's row rows[i] (a native copier may stand in for the default, and
 * read the split's codes instead); `ahead`: rows of src the next call will copy, which it fetches into cache meanwhile.
 */
export type RowCopier = (src: Split, rows: Int32Array, dst: Float32Array, width: number, ahead?: Int32Array) => void;

/**
 * Copies the rows of a batch into arrays ready for a tensor: fresh ones, or `into`'s (valid until its next use).
 * `next`: the positions of the batch that follows (its rows are fetched into cache while this one is used).
 */
export function gatherBatch(
  view: DataView,
  positions: ArrayLike<number>,
  into?: BatchBuffer,
  copyRows?: RowCopier,
  next?: ArrayLike<number>,
): { x: Float32Array; y: Int32Array } {
  const fs = view.featureSize;
  const { x, y } = into
    ? into.take(positions.length, fs)
    : { x: new Float32Array(positions.length * fs), y: new Int32Array(positions.length) };
  if (copyRows) {
    // A plain loop: Int32Array.from with a mapping function took 0.4 s of a quickstart's CPU here.
    const rowsOf = (p: ArrayLike<number>) => {
      const rows = new Int32Array(p.length);
      for (let b = 0; b < p.length; b++) rows[b] = view.indices[p[b]!]!;
      return rows;
    };
    copyRows(view.split, rowsOf(positions), x, fs, next && rowsOf(next));
  } else
    for (let b = 0; b < positions.length; b++) {
      const i = view.indices[positions[b]!]!;
      x.set(view.split.x.subarray(i * fs, (i + 1) * fs), b * fs);
    }
  for (let b = 0; b < positions.length; b++)
    y[b] = view.labels ? view.labels[positions[b]!]! : view.split.y[view.indices[positions[b]!]!]!;
  return { x, y };
}
