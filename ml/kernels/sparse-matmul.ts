// A pruned dense layer's product through its mask's pattern: y = x·w over the kept weights only, which is x·w when
// the pruned weights are zero (masked training keeps them so). Its gradients are the input gradient over the kept
// weights and the weight gradient at the kept positions only (zero elsewhere: the masked optimiser zeroes those
// anyway). The kernels are the native addon's (ml/kernels/native/unprune_blas.c); where the current backend lacks
// them, layers keep the dense matMul. At 80–90% sparsity this skips most of a pruned MLP's multiply-adds.
import * as tf from '@tensorflow/tfjs-core';
import { keptCount } from '../mask.js';
import { loadNativeBlas, wideVectorKernels } from './native-blas.js';
import type { WasmBackendLike } from './wasm-kernel-support.js';

export const SPARSE_MATMUL_KERNEL = 'UnpruneSparseMatMul';
export const SPARSE_MATMUL_GRAD_X_KERNEL = 'UnpruneSparseMatMulGradX';
export const SPARSE_MATMUL_GRAD_W_KERNEL = 'UnpruneSparseMatMulGradW';

/**
 * Layers keeping more than this fraction of their weights use the dense product: OpenBLAS's sgemm wins above it
 * (the MLP's 128×784 by 784×300 product on one thread, SkylakeX kernels: the sparse forward and weight gradient
 * together break even with sgemm near 38% kept; at 20% they take 0.27 + 0.40 ms against 0.62 + 0.62). Built for
 * AVX2 (8-example vectors, Haswell sgemm, on a Zen 4): the three products break even near 34% kept; at 20% 0.34
 * (32 examples a pass), 0.53 and 0.48 ms against sgemm's ~0.78 each.
 */
export const SPARSE_MAX_DENSITY = 0.35;

export function sparseMatMulAvailable(): boolean {
  return tf.getKernel(SPARSE_MATMUL_KERNEL, tf.getBackend()) !== undefined;
}

let sparseProductsSetting: boolean | undefined;

/** Forces pruned layers' products through their patterns on or off (default: where they pay, see below). */
export function configureSparseProducts(on: boolean | undefined): void {
  sparseProductsSetting = on;
}

/**
 * Whether pruned layers multiply through their patterns: where the addon's vector kernels are wide
 * (wideVectorKernels). They keep one register's width of examples in a vector (16 with AVX-512, 8 with AVX2).
 * (16-example vectors built for AVX2, before the width followed the registers, lived on the stack: 7.0 against
 * sgemm's 1.1 ms on a Zen 3.)
 */
export function sparseProductsPay(): boolean {
  const addon = loadNativeBlas();
  return sparseProductsSetting ?? (addon !== null && wideVectorKernels(addon));
}

/**
 * The kept entries of a [k, n] matrix's mask, listed by column and by row, in the addon's layout:
 * [k, n, nnz, colptr[n + 1], colrows[nnz], rowptr[k + 1], rowcols[nnz]] (nnz: the mask's kept count, where the
 * caller has it). Read-only: a mask's pattern is shared with later calls for the same mask (see recentPatterns).
 */
export function maskPattern(keep: Uint8Array, k: number, n: number, nnz = keptCount(keep)): Int32Array {
  const recent = recentPatterns.find(keep, k, n, nnz);
  if (recent) return recent;
  const p = new Int32Array(3 + n + 1 + nnz + k + 1 + nnz);
  p[0] = k;
  p[1] = n;
  p[2] = nnz;
  const colptr = 3;
  const colrows = colptr + n + 1;
  const rowptr = colrows + nnz;
  const rowcols = rowptr + k + 1;
  // One walk of the mask lists each row's columns (and counts each column's rows); the column lists are then filled
  // from the row lists, touching kept entries only (rows ascending within each column).
  const next = new Int32Array(n + 1);
  let q = 0;
  for (let r = 0; r < k; r++) {
    p[rowptr + r] = q;
    for (let j = 0, at = r * n; j < n; j++, at++)
      if (keep[at]) {
        p[rowcols + q++] = j;
        next[j + 1]!++;
      }
  }
  p[rowptr + k] = q;
  for (let j = 0; j < n; j++) next[j + 1]! += next[j]!;
  p.set(next, colptr);
  for (let r = 0; r < k; r++)
    for (let e = p[rowptr + r]!, end = p[rowptr + r + 1]!; e < end; e++) p[colrows + next[p[rowcols + e]!]!++] = r;
  recentPatterns.add(p);
  return p;
}

/**
 * The patterns of the masks used last in this process. A cell's mask serves many stages (each unlearning run and
 * evaluation of its model), and building a pattern took ~2.8 ms for the MLP's layers, most of it the fresh array's
 * page faults. A candidate with the same shape and count is checked entry by entry: every one of its nnz positions
 * kept in `keep`, which holds nnz kept weights, is the same set — exact, and it stops at the first difference.
 */
const recentPatterns = {
  entries: [] as Int32Array[],
  /** The most int32s held (64 MB): a few large layers' patterns, or many small ones. */
  budget: 16 << 20,
  find(keep: Uint8Array, k: number, n: number, nnz: number): Int32Array | undefined {
    const at = this.entries.findIndex((p) => p[0] === k && p[1] === n && p[2] === nnz && sameKept(p, keep));
    if (at < 0) return undefined;
    const [p] = this.entries.splice(at, 1);
    this.entries.unshift(p!);
    return p;
  },
  add(p: Int32Array): void {
    this.entries.unshift(p);
    let held = 0;
    this.entries = this.entries.filter((e) => (held += e.length) <= this.budget || e === p);
  },
};

/** Whether every entry `p` lists (row by row) is kept in `keep`. */
function sameKept(p: Int32Array, keep: Uint8Array): boolean {
  const [k, n, nnz] = [p[0]!, p[1]!, p[2]!];
  const rowptr = 3 + n + 1 + nnz;
  const rowcols = rowptr + k + 1;
  for (let r = 0; r < k; r++)
    for (let e = p[rowptr + r]!, end = p[rowptr + r + 1]!, base = r * n; e < end; e++)
      if (!keep[base + p[rowcols + e]!]) return false;
  return true;
}

/**
 * A float32 tensor's values without copying them out where the backend is wasm (a view of its heap: read it before
 * the next tfjs call, which may grow and move the heap), else dataSync's copy. A fresh megabyte costs ~4 ms of page
 * faults on these VMs, more than reading it.
 */
export function peekValues(t: tf.Tensor): Float32Array {
  const backend = tf.backend() as Partial<WasmBackendLike>;
  if (tf.getBackend() === 'wasm' && t.dtype === 'float32' && backend.typedArrayFromHeap)
    return backend.typedArrayFromHeap(t);
  return t.dataSync() as Float32Array;
}

/** x [b, k] · w [k, n] over `pattern` (an int32 tensor of maskPattern's layout). */
export function sparseMatMul(x: tf.Tensor2D, w: tf.Tensor2D, pattern: tf.Tensor1D): tf.Tensor2D {
  return tf.engine().runKernel(SPARSE_MATMUL_KERNEL, { x, w, pattern }) as tf.Tensor2D;
}

let gradientRegistered = false;

/** The product's gradient (tfjs's registry is global: registered once, used by whichever backend has the kernels). */
export function registerSparseMatMulGradient(): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: SPARSE_MATMUL_KERNEL,
    inputsToSave: ['x', 'w', 'pattern'],
    gradFunc: (dy, saved) => {
      const [x, w, pattern] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
      return {
        x: () => tf.engine().runKernel(SPARSE_MATMUL_GRAD_X_KERNEL, { dy: dy as tf.Tensor, w, pattern }) as tf.Tensor,
        w: () => tf.engine().runKernel(SPARSE_MATMUL_GRAD_W_KERNEL, { x, dy: dy as tf.Tensor, pattern }) as tf.Tensor,
        pattern: () => tf.zerosLike(pattern),
      };
    },
  });
}
