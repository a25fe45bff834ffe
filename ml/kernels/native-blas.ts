// Loads the optional native kernel addon (ml/kernels/native/unprune_blas.c over Debian's OpenBLAS, built at
// install by ml/kernels/native/build.mjs). Its absence is not an error: the wasm kernels are the fallback, and
// `unavailableReason` says why the addon is not in use.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface NativeBlas {
  gemm(a: Float32Array, b: Float32Array, c: Float32Array, dims: Int32Array): void;
  conv2d(x: Float32Array, filter: Float32Array, y: Float32Array, dims: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, dims: Int32Array): void;
  conv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, dims: Int32Array): void;
  maxPoolGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, dims: Int32Array): void;
  /** Each window's maximum (the scan maxPoolGrad makes); dims as maxPoolGrad's. */
  maxPool(x: Float32Array, y: Float32Array, dims: Int32Array): void;
  /** outW and outBuf are new arrays, or w and buf themselves (the update in place). */
  sgdStep(
    w: Float32Array,
    g: Float32Array,
    buf: Float32Array | null,
    mask: Float32Array | null,
    outW: Float32Array,
    outBuf: Float32Array | null,
    lr: number,
    momentum: number,
    first: boolean,
    nesterov: boolean,
    weightDecay: number,
  ): void;
  biasAdd(x: Float32Array, bias: Float32Array, out: Float32Array, dims: Int32Array): void;
  columnSum(x: Float32Array, out: Float32Array, dims: Int32Array): void;
  /** out[r, j] = max(x[r, j] + bias[j], 0); dims [rows, c]. */
  biasAddRelu(x: Float32Array, bias: Float32Array, out: Float32Array, dims: Int32Array): void;
  /** dx = dy · step(y) for a ReLU's output y; dims [length]. */
  reluGrad(dy: Float32Array, y: Float32Array, dx: Float32Array, dims: Int32Array): void;
  /** −mean_i log softmax(logits_i)[labels_i] into out[0]; dims [b, classes]. */
  softmaxCrossEntropy(logits: Float32Array, labels: Int32Array, out: Float32Array, dims: Int32Array): void;
  /** Its gradient with respect to the logits, times dy[0]; dims [b, classes]. */
  softmaxCrossEntropyGrad(
    logits: Float32Array,
    labels: Int32Array,
    dy: Float32Array,
    dz: Float32Array,
    dims: Int32Array,
  ): void;
  /** Batch normalisation with batch statistics over x[rows, c]: y = γ·(x − mean)/√(var + eps) + β (then a ReLU
   *  where dims[2] is 1); stats gets the mean and the biased variance (c floats each). dims [rows, c, relu]. */
  batchNormTrain(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    stats: Float32Array,
    dims: Int32Array,
    eps: number,
  ): void;
  /** Its gradients from the gradient dy at y (before any ReLU): dx (unless dx is empty), and dγ then dβ into
   *  dparams; dims [rows, c]. */
  batchNormGrad(
    x: Float32Array,
    dy: Float32Array,
    gamma: Float32Array,
    stats: Float32Array,
    dx: Float32Array,
    dparams: Float32Array,
    dims: Int32Array,
    eps: number,
  ): void;
  /** dst's row i (dims [width] floats) = src's row rows[i]; then src's rows `ahead` fetched into cache. */
  gatherRows(src: Float32Array, rows: Int32Array, dst: Float32Array, dims: Int32Array, ahead?: Int32Array): void;
  /** gatherRows from a split's pixel codes (ml/data/dataset.ts's PixelCodes): the same floats, a quarter the bytes;
   *  each row's codes are fetched a few rows ahead, and of `ahead` only the first few. */
  decodeRows(
    codes: Uint8Array,
    rows: Int32Array,
    dst: Float32Array,
    scaleShift: Float64Array,
    dims: Int32Array,
    ahead?: Int32Array,
  ): void;
  /** Pruning's top-k (ml/prune/mask-ops.ts's topK): 1 in `keep` at the k largest eligible scores, dims [k]. */
  topK(scores: Float32Array, eligible: Uint8Array, keep: Uint8Array, dims: Int32Array): void;
  /** y[b, n] = x[b, k]·w[k, n] over a pattern (ml/kernels/sparse-matmul.ts); dims [b], or [b, 1] with w the
   *  pattern's entries only, by column (the gradients' [b, 1]: by row). */
  sparseMatMul(x: Float32Array, w: Float32Array, pattern: Int32Array, y: Float32Array, dims: Int32Array): void;
  /** dx[b, k] = dy[b, n]·wᵀ over the pattern; dims [b]. */
  sparseMatMulGradX(dy: Float32Array, w: Float32Array, pattern: Int32Array, dx: Float32Array, dims: Int32Array): void;
  /** dw[k, n] = x[b, k]ᵀ·dy[b, n] at the pattern's entries, zero elsewhere; dims [b]. */
  sparseMatMulGradW(x: Float32Array, dy: Float32Array, pattern: Int32Array, dw: Float32Array, dims: Int32Array): void;
  /** x[b, k]'s entries ≠ c (x − c there) by row, or by column (dims [b, k, byColumn]): entries = [starts, indices]. */
  offsetEntries(x: Float32Array, entries: Int32Array, vals: Float32Array, dims: Int32Array, c: number): number;
  /** out[rows, n] = c·colsum(m[mrows, n]) + Σ vals·(m's rows the entries index), row by row (dims [rows, n, mrows]). */
  offsetProduct(
    entries: Int32Array,
    vals: Float32Array,
    m: Float32Array,
    out: Float32Array,
    dims: Int32Array,
    c: number,
  ): void;
  /** offsetEntries' listing by row re-listed by column (dims [b, k]), as offsetEntries lists it by column. */
  offsetTranspose(
    entries: Int32Array,
    vals: Float32Array,
    columns: Int32Array,
    columnVals: Float32Array,
    dims: Int32Array,
  ): void;
  /** The attack's RBF C-SVC (ml/metrics/rbf-svc.ts): α per row into `alpha`; returns [ρ, iterations]. */
  rbfSvcSolve(x: Float64Array, y: Int8Array, alpha: Float64Array, params: Float64Array): [number, number];
  /** Its decision values for query rows; params [dims, gamma, ρ, signsOnly (1: only the signs need be exact)]. */
  rbfSvcDecisions(
    q: Float64Array,
    vectors: Float64Array,
    coefficients: Float64Array,
    out: Float64Array,
    params: Float64Array,
  ): void;
  setThreads(n: number): void;
  /** vectorBits: the register width the vector kernels were built for (512 AVX-512, 256 AVX2, 128 otherwise). */
  describe(): { config: string; core: string; threads: number; vectorBits: number };
}

export const NATIVE_ADDON_PATH = fileURLToPath(new URL('../../build/native/unprune_blas.node', import.meta.url));

let loaded: NativeBlas | null | undefined;
let reason = '';

export interface NativeBlasOptions {
  /** False refuses the addon (UNPRUNE_NATIVE=0). */
  enabled?: boolean;
  /** Threads the addon's kernels may use per process, default 1 (the local engine's processes are the parallelism;
   *  more threads per process would oversubscribe the cores). The addon splits its own loops across them; OpenBLAS
   *  runs single-threaded inside each. */
  threads?: number;
  /** The user's OPENBLAS_CORETYPE, if any (it wins over the choice below). */
  coreType?: string;
}
let options: NativeBlasOptions = {};

/** Sets how the addon loads; takes effect at the first load (OpenBLAS reads its settings once). */
export function configureNativeBlas(o: NativeBlasOptions): void {
  options = o;
}

export function blasThreads(): number {
  return options.threads ?? 1;
}

/**
 * Debian's OpenBLAS 0.3.21 does not know AVX-512 AMD cores (Zen 4 and later) by name: it fell back to its AVX2
 * Haswell kernels on one such VM and took another (Zen 4 with AVX512-BF16) for a Cooperlake, whose kernels round
 * differently; its SkylakeX kernels run those cores' AVX-512 units (sgemm 117 → 207 GFLOP/s on one core, measured
 * on the CI machine), so every AVX-512 machine runs the same kernels. A user's OPENBLAS_CORETYPE wins.
 */
function chooseCoreType(): void {
  if (!options.coreType && cpuHasAvx512()) process.env.OPENBLAS_CORETYPE = 'SkylakeX';
}

let avx512: boolean | undefined;

/** Whether this CPU has AVX-512 (F, BW, DQ, VL), from /proc/cpuinfo read once (false where it cannot be read). */
export function cpuHasAvx512(): boolean {
  avx512 ??= readAvx512();
  return avx512;
}

function readAvx512(): boolean {
  let flags = '';
  try {
    flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '';
  } catch {
    return false;
  }
  const has = (f: string) => new RegExp(`\\b${f}\\b`).test(flags);
  return ['avx512f', 'avx512bw', 'avx512dq', 'avx512vl'].every(has);
}

/**
 * Whether this build of the addon's vector kernels (pattern and offset products) hold a 256-bit register or wider:
 * AVX2 or AVX-512. Built for 128-bit vectors they split each vector in two and are left to sgemm. The build decides,
 * not the CPU: an addon built for AVX2 runs AVX2 code on an AVX-512 CPU.
 */
export function wideVectorKernels(addon: NativeBlas): boolean {
  return addon.describe().vectorBits >= 256;
}

/**
 * Whether a dense first layer's offset products (offsetProduct) beat sgemm with this build of the addon: where its
 * vector kernels are wide (wideVectorKernels). For the MLP's input layer on a Zen 4, entries listed and multiplied: AVX-512
 * 0.36 and 0.37 ms against sgemm's 0.67 and 0.64 (product, weight gradient); built for AVX2 (8-float vectors, the
 * entries compressed through a permutation table) 0.02 + 0.50 and 0.06 + 0.45 ms against Haswell sgemm's ~0.70
 * each. Built for 128-bit vectors they are left to sgemm.
 */
export function offsetProductsPay(addon: NativeBlas): boolean {
  return wideVectorKernels(addon);
}

/** The addon, or null (see nativeBlasUnavailableReason). Set UNPRUNE_NATIVE=0 to refuse it. */
export function loadNativeBlas(): NativeBlas | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (options.enabled === false) {
    reason = 'disabled by UNPRUNE_NATIVE=0';
    return null;
  }
  if (!existsSync(NATIVE_ADDON_PATH)) {
    reason = `${NATIVE_ADDON_PATH} is not built (npm install builds it when libopenblas-dev is installed)`;
    return null;
  }
  // OpenBLAS reads these when the library loads, before any call could set them.
  chooseCoreType();
  process.env.OPENBLAS_NUM_THREADS = '1';
  try {
    const addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeBlas;
    addon.setThreads(blasThreads());
    loaded = addon;
  } catch (err) {
    reason = `${NATIVE_ADDON_PATH} failed to load: ${String(err instanceof Error ? err.message : err).split('\n')[0]}`;
  }
  return loaded;
}

export function nativeBlasUnavailableReason(): string {
  loadNativeBlas();
  return reason;
}
