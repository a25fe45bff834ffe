// Masked SGD on a layer chain (the MLP, LeNet-5, vgg-small: convolutions and dense layers with ReLUs, batch
// normalisation, max- and mean-pooling) without tfjs's engine: the native addon's kernels that the blas backend runs
// for each op (sgemm, the convolutions and their gradients, the sparse products over a mask's pattern, bias add, the
// fused cross-entropy, the SGD update) called directly on plain arrays, in the same order with the same arguments,
// so a run without batch normalisation gives the tfjs path's numbers bit for bit. Batch normalisation is the addon's
// two kernels (batch statistics in double sums, the gradient in closed form), which tfjs's path also runs as an op
// (ml/kernels/batch-norm.ts); the two paths still differ in rounding elsewhere (tfjs's Mean and ReLU ops against the
// fused ones here), and both agree with PyTorch in float64 to float32 rounding (test/ml/layer-chain-trainer.test.ts).
// On a pruned MLP the kernels are a few hundred microseconds a step, and tfjs's taping, tensor allocation and tidy
// were about as much again; vgg-small's step was 2.3× as fast. One exception to bit-for-bit: a dense first layer
// whose inputs mostly hold one value (normalised MNIST's background) multiplies by the other inputs only
// (offsetProduct), the same sums in another order, so such runs agree with tfjs's to rounding
// (test/ml/offset-product.test.ts).
import { backend_util } from '@tensorflow/tfjs-core';
import { lap } from '../layer-seconds.js';
import type { ChainStep, Weights } from '../models/network.js';
import type { OptimizerConfig, OptimizerState } from '../optimizers.js';
import { offsetProductsPay, type NativeBlas } from './native-blas.js';
import { convDims, poolDims } from './wasm-kernel-support.js';

/** A chain's layer as the trainer runs it: its parameters (masks, patterns) and geometry fixed for the run. Sizes
 *  are per example. */
export type ChainLayer = {
  inSize: number;
  outSize: number;
  /** Names it in the time by layer (ml/layer-seconds.ts): its parameters' name, shape, and `sparse` where it
   *  multiplies through a mask's pattern; a pooling layer by its place in the chain. */
  label: string;
} & (
  | {
      kind: 'dense';
      /** Parameter names of the [k, n] weight matrix and the [n] bias. */
      weight: string;
      bias: string;
      k: number;
      n: number;
      relu: boolean;
      /** 0/1 multipliers keeping pruned weights at zero (a masked layer). */
      keep?: Float32Array;
      /** The mask's pattern where the layer multiplies through it (ml/kernels/sparse-matmul.ts's layout). */
      pattern?: Int32Array;
    }
  | {
      kind: 'conv';
      weight: string;
      bias?: string;
      relu: boolean;
      keep?: Float32Array;
      /** The addon's convolution dimensions for one example ([0], the batch, is set per step). */
      dims: Int32Array;
      channels: number;
    }
  | {
      kind: 'batchNorm';
      gamma: string;
      beta: string;
      /** The running statistics, updated each step as layers.ts's batchNorm updates them. */
      mean: string;
      variance: string;
      relu: boolean;
      eps: number;
      momentum: number;
      channels: number;
    }
  | { kind: 'maxPool'; dims: Int32Array }
  | { kind: 'meanPool'; channels: number; area: number }
);

/**
 * The trainer's layers for a chain over `inputShape` (NHWC, one example), with each weight's shape, mask and
 * pattern; the geometry is tfjs's own (computeConv2DInfo, computePool2DInfo), as its kernels compute it.
 */
export function chainLayers(
  steps: ChainStep[],
  inputShape: [number, number, number],
  shapeOf: (param: string) => number[],
  keepOf: (param: string) => Float32Array | undefined,
  patternOf: (param: string) => Int32Array | undefined,
): ChainLayer[] {
  // One example: the dims' batch entry is set per step.
  let shape: [number, number, number, number] = [1, ...inputShape];
  const size = () => shape[1] * shape[2] * shape[3];
  return steps.map((s, index): ChainLayer => {
    const inSize = size();
    const channels = shape[3];
    if (s.kind === 'maxPool') {
      const info = backend_util.computePool2DInfo(shape, s.size, s.stride, 1, s.pad);
      shape = [1, info.outHeight, info.outWidth, info.inChannels];
      return { kind: 'maxPool', label: `${index} max-pool`, dims: poolDims(info), inSize, outSize: size() };
    }
    if (s.kind === 'meanPool') {
      shape = [1, 1, 1, channels];
      const label = `${index} mean-pool`;
      return { kind: 'meanPool', label, channels, area: inSize / channels, inSize, outSize: channels };
    }
    if (s.kind === 'batchNorm') {
      const [gamma, beta, mean, variance] = ['gamma', 'beta', 'mean', 'var'].map((p) => `${s.name}.${p}`) as [
        string,
        string,
        string,
        string,
      ];
      if (shapeOf(gamma)[0] !== channels)
        throw new Error(`${s.name}: expects ${shapeOf(gamma)[0]} channels, the chain gives ${channels}`);
      const { relu, eps, momentum } = s;
      const label = `${s.name} batch-norm ${channels}`;
      return {
        kind: 'batchNorm',
        label,
        gamma,
        beta,
        mean,
        variance,
        relu,
        eps,
        momentum,
        channels,
        inSize,
        outSize: inSize,
      };
    }
    const weight = `${s.name}.w`;
    const keep = keepOf(weight);
    const params = { weight, relu: s.relu, ...(keep ? { keep } : {}) };
    if (s.kind === 'dense') {
      const [k, n] = shapeOf(weight) as [number, number];
      if (k !== inSize) throw new Error(`${s.name}: expects ${k} inputs, the chain gives ${inSize}`);
      shape = [1, 1, 1, n];
      const pattern = patternOf(weight);
      return {
        kind: 'dense',
        label: `${s.name} ${k}×${n}${pattern ? ' sparse' : ''}`,
        ...params,
        bias: `${s.name}.b`,
        k,
        n,
        inSize,
        outSize: n,
        ...(pattern ? { pattern } : {}),
      };
    }
    if (s.relu && !s.bias) throw new Error(`${s.name}: a chain's convolution without bias takes no ReLU`);
    const filter = shapeOf(weight) as [number, number, number, number];
    const info = backend_util.computeConv2DInfo(shape, filter, s.stride, 1, s.pad);
    shape = [1, info.outHeight, info.outWidth, info.outChannels];
    const bias = s.bias ? { bias: `${s.name}.b` } : {};
    return {
      kind: 'conv',
      label: `${s.name} conv ${filter.join('×')}`,
      ...params,
      ...bias,
      dims: convDims(info),
      inSize,
      outSize: size(),
      channels: info.outChannels,
    };
  });
}

/**
 * One parameter's value and SGD momentum, updated in place (the trainer owns both: a spare pair to write into kept
 * five arrays live per step, and the dense first layer's update took twice as long). A pruned layer that multiplies
 * through its pattern is held compact: its kept entries only, in the pattern's row order (`dense` gives each one's
 * index in the full matrix). Its pruned weights and their momentum are zero on the tfjs path throughout (masked
 * gradients, masked updates), so leaving them out changes no kept entry's arithmetic.
 */
class ParamSlot {
  readonly value: Float32Array;
  readonly momentum: Float32Array | null;
  readonly grad: Float32Array;

  constructor(
    start: Float32Array,
    hasMomentum: boolean,
    savedMomentum: Float32Array | undefined,
    private readonly dense?: Int32Array,
  ) {
    this.value = this.take(start);
    const len = this.value.length;
    this.grad = new Float32Array(len);
    this.momentum = hasMomentum ? (savedMomentum ? this.take(savedMomentum) : new Float32Array(len)) : null;
  }

  /** A full-size array's entries this slot holds (a copy). Plain loops: Float32Array.from with a mapping function
   *  walks an iterator, ~1.4 s of a quickstart. */
  private take(full: Float32Array): Float32Array {
    const dense = this.dense;
    if (!dense) return full.slice();
    const out = new Float32Array(dense.length);
    for (let q = 0; q < dense.length; q++) out[q] = full[dense[q]!]!;
    return out;
  }

  /** One of this slot's arrays at full size (zero where pruned). */
  full(values: Float32Array, size: number): Float32Array {
    const dense = this.dense;
    if (!dense) return values.slice();
    const out = new Float32Array(size);
    for (let q = 0; q < dense.length; q++) out[dense[q]!] = values[q]!;
    return out;
  }
}

/** Where a pattern's kept entries sit: each one's index in the full matrix (row order), and the row-order entry
 *  at each column-order position (the product gathers its weights by column). */
function patternOrders(pattern: Int32Array): { dense: Int32Array; byColumn: Int32Array } {
  const [k, n, nnz] = [pattern[0]!, pattern[1]!, pattern[2]!];
  const colptr = 3;
  const rowptr = colptr + n + 1 + nnz;
  const rowcols = rowptr + k + 1;
  const dense = new Int32Array(nnz);
  const byColumn = new Int32Array(nnz);
  const next = pattern.slice(colptr, colptr + n); // each column's next column-order position
  for (let r = 0; r < k; r++)
    for (let q = pattern[rowptr + r]!; q < pattern[rowptr + r + 1]!; q++) {
      const c = pattern[rowcols + q]!;
      dense[q] = r * n + c;
      byColumn[next[c]!++] = q;
    }
  return { dense, byColumn };
}

/**
 * The largest share of a batch's first-layer inputs differing from the dominant value for which the product over
 * them beats sgemm (at MNIST's 19%: 0.36 against 0.72 ms for the MLP's 128 × 784 by 784 × 300, either product; even
 * at ~38%).
 */
const OFFSET_MAX_DENSITY = 0.3;

/** dims[1] of the sparse products: the weights (or weight gradient) are the pattern's entries only. */
const COMPACT = 1;
/** gatherRows's dims for single floats. */
const ONE = Int32Array.of(1);

/** `dims` with its first entry (the batch) set to `rows`. */
export const batchOf = (dims: Int32Array, rows: number) => {
  const d = dims.slice();
  d[0] = rows;
  return d;
};

/** A trained parameter of a layer: its slot, the mask its update keeps (none for a compact layer), full size. */
interface Trained {
  name: string;
  slot: ParamSlot;
  keep: Float32Array | null;
  size: number;
}

/** A batch-normalisation layer's per-step numbers: the batch statistics (mean, then biased variance), the gradient
 *  of γ then β, and the running statistics. */
interface NormState {
  stats: Float32Array;
  grads: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
}

/** Trains a layer chain in place of tfjs; `lossScale` × mean cross-entropy is the loss (−1: gradient ascent). */
export class LayerChainTrainer {
  /** Per layer: its trained parameters (weight then bias, or γ then β; none for pooling). */
  private readonly params: Trained[][];
  private readonly norms: (NormState | null)[];
  /** Pruned dense layers held compact: their weights in column order for the product, and where each comes from. */
  private readonly columnOrder: (Int32Array | null)[];
  private readonly byColumn: (Float32Array | null)[];
  /** Each layer's output for the batch (after its ReLU; the logits last) and the loss's gradient there. */
  private readonly outputs: Float32Array[];
  private readonly outputGrads: Float32Array[];
  /** The first layer's input gradient where it is a batch normalisation (its kernel writes one). */
  private readonly firstInputGrad: Float32Array | null;
  private readonly lossOut = new Float32Array(1);
  private readonly lossGrad = new Float32Array(1);
  private t: number;
  private readonly momentum: number;
  /**
   * A dense first layer over inputs that mostly hold one value c (the data set's dominantValue): its input's other
   * entries, by row for the product and by column for the weight gradient, and whether this step's batch used them.
   */
  private readonly offsetInput: {
    c: number;
    entries: Int32Array;
    vals: Float32Array;
    columns: Int32Array;
    columnVals: Float32Array;
  } | null;
  private offsetStep = false;

  constructor(
    private readonly addon: NativeBlas,
    private readonly layers: ChainLayer[],
    start: Weights,
    private readonly config: OptimizerConfig,
    maxRows: number,
    state?: OptimizerState,
    inputValue: number | null = null,
  ) {
    this.momentum = config.momentum ?? 0.9;
    const orders = layers.map((l) => (l.kind === 'dense' && l.pattern ? patternOrders(l.pattern) : null));
    const trained = (name: string, keep: Float32Array | null, dense?: Int32Array): Trained => ({
      name,
      slot: new ParamSlot(start[name]!, this.momentum !== 0, state?.slots[name]?.[0], dense),
      // A compact layer holds kept weights only: no mask to apply.
      keep: dense ? null : keep,
      size: start[name]!.length,
    });
    this.params = layers.map((l, i) => {
      if (l.kind === 'dense' || l.kind === 'conv') {
        const list = [trained(l.weight, l.keep ?? null, orders[i]?.dense)];
        if (l.bias) list.push(trained(l.bias, null));
        return list;
      }
      return l.kind === 'batchNorm' ? [trained(l.gamma, null), trained(l.beta, null)] : [];
    });
    this.norms = layers.map((l) =>
      l.kind === 'batchNorm'
        ? {
            stats: new Float32Array(2 * l.channels),
            grads: new Float32Array(2 * l.channels),
            mean: start[l.mean]!.slice(),
            variance: start[l.variance]!.slice(),
          }
        : null,
    );
    this.columnOrder = orders.map((o) => o?.byColumn ?? null);
    this.byColumn = orders.map((o) => (o ? new Float32Array(o.byColumn.length) : null));
    this.outputs = layers.map((l) => new Float32Array(maxRows * l.outSize));
    this.outputGrads = layers.map((l) => new Float32Array(maxRows * l.outSize));
    this.firstInputGrad = layers[0]?.kind === 'batchNorm' ? new Float32Array(maxRows * layers[0].inSize) : null;
    this.t = state?.t ?? 0;
    const first = layers[0];
    this.offsetInput =
      first?.kind === 'dense' && !first.pattern && inputValue !== null && offsetProductsPay(addon)
        ? {
            c: inputValue,
            entries: new Int32Array(maxRows + 1 + maxRows * first.k),
            vals: new Float32Array(maxRows * first.k),
            columns: new Int32Array(first.k + 1 + maxRows * first.k),
            columnVals: new Float32Array(maxRows * first.k),
          }
        : null;
  }

  /** y = x·w for the first layer where its input is mostly c (offsetInput): c·colsum(w) + the rest's rows of w. */
  private offsetProduct(x: Float32Array, w: Float32Array, out: Float32Array, rows: number, k: number, n: number) {
    const o = this.offsetInput;
    this.offsetStep = false;
    if (!o) return false;
    const nnz = this.addon.offsetEntries(x, o.entries, o.vals, Int32Array.of(rows, k, 0), o.c);
    if (nnz > OFFSET_MAX_DENSITY * rows * k) return false;
    this.addon.offsetProduct(o.entries, o.vals, w, out, Int32Array.of(rows, n, k), o.c);
    return (this.offsetStep = true);
  }

  /** One SGD step on `rows` examples (x row-major, one example a row; labels y); returns the batch loss. */
  step(x: Float32Array, y: Int32Array, rows: number, lr: number, lossScale: number): number {
    const { addon, layers } = this;
    this.t++;
    const last = layers.length - 1;
    let input = x;
    let clock = performance.now();
    layers.forEach((l, i) => {
      const out = this.outputs[i]!.subarray(0, rows * l.outSize);
      const [w, b] = this.params[i]!.map((p) => p.slot.value);
      if (l.kind === 'maxPool') addon.maxPool(input, out, batchOf(l.dims, rows));
      else if (l.kind === 'meanPool') meanPool(input, out, rows, l.channels, l.area);
      else if (l.kind === 'batchNorm') {
        const norm = this.norms[i]!;
        const dims = Int32Array.of(out.length / l.channels, l.channels, l.relu ? 1 : 0);
        addon.batchNormTrain(input, w!, b!, out, norm.stats, dims, l.eps);
        updateRunningStatistics(norm, l.momentum, dims[0]!);
      } else {
        if (l.kind === 'conv') addon.conv2d(input, w!, out, batchOf(l.dims, rows));
        else if (l.pattern) {
          addon.gatherRows(w!, this.columnOrder[i]!, this.byColumn[i]!, ONE);
          addon.sparseMatMul(input, this.byColumn[i]!, l.pattern, out, Int32Array.of(rows, COMPACT));
        } else if (i > 0 || !this.offsetProduct(input, w!, out, rows, l.k, l.n))
          addon.gemm(input, w!, out, Int32Array.of(1, rows, l.n, l.k, 0, 0, 1, 1));
        const c = l.kind === 'dense' ? l.n : l.channels;
        const dims = Int32Array.of(out.length / c, c);
        if (b && l.relu) addon.biasAddRelu(out, b, out, dims);
        else if (b) addon.biasAdd(out, b, out, dims);
      }
      input = out;
      clock = lap(l.label, 'forward', clock);
    });
    const logits = input;
    const classes = logits.length / rows;
    const dims = Int32Array.of(rows, classes);
    addon.softmaxCrossEntropy(logits, y, this.lossOut, dims);
    clock = lap('loss', 'forward', clock);
    this.lossGrad[0] = lossScale;
    let grad = this.outputGrads[last]!.subarray(0, logits.length);
    addon.softmaxCrossEntropyGrad(logits, y, this.lossGrad, grad, dims);
    clock = lap('loss', 'backward', clock);
    for (let i = last; i >= 0; i--) {
      const l = layers[i]!;
      const layerInput = i === 0 ? x : this.outputs[i - 1]!.subarray(0, rows * l.inSize);
      const inputGrad =
        i > 0
          ? this.outputGrads[i - 1]!.subarray(0, rows * l.inSize)
          : (this.firstInputGrad?.subarray(0, rows * l.inSize) ?? null);
      // The gradient at the layer's output, through its ReLU (a product with the step, as tfjs's gradient).
      if ('relu' in l && l.relu) addon.reluGrad(grad, this.outputs[i]!, grad, Int32Array.of(grad.length));
      const [w, b] = this.params[i]!.map((p) => p.slot);
      if (l.kind === 'maxPool') addon.maxPoolGrad(layerInput, grad, inputGrad!, batchOf(l.dims, rows));
      else if (l.kind === 'meanPool') meanPoolGrad(grad, inputGrad!, rows, l.channels, l.area);
      else if (l.kind === 'batchNorm') {
        const norm = this.norms[i]!;
        const d = Int32Array.of(grad.length / l.channels, l.channels);
        addon.batchNormGrad(layerInput, grad, w!.value, norm.stats, inputGrad!, norm.grads, d, l.eps);
        w!.grad.set(norm.grads.subarray(0, l.channels));
        b!.grad.set(norm.grads.subarray(l.channels));
      } else if (l.kind === 'conv') {
        const d = batchOf(l.dims, rows);
        addon.conv2dBackpropFilter(layerInput, grad, w!.grad, d);
        if (b) addon.columnSum(grad, b.grad, Int32Array.of(grad.length / l.channels, l.channels));
        if (inputGrad) addon.conv2dBackpropInput(grad, w!.value, inputGrad, d);
      } else {
        if (l.pattern) addon.sparseMatMulGradW(layerInput, grad, l.pattern, w!.grad, Int32Array.of(rows, COMPACT));
        else if (i === 0 && this.offsetStep) {
          // xᵀ·dy = c·colsum(dy) in every row, plus the input's other entries (the forward's, by column) times dy's rows.
          const o = this.offsetInput!;
          addon.offsetTranspose(o.entries, o.vals, o.columns, o.columnVals, Int32Array.of(rows, l.k));
          addon.offsetProduct(o.columns, o.columnVals, grad, w!.grad, Int32Array.of(l.k, l.n, rows), o.c);
        } else addon.gemm(layerInput, grad, w!.grad, Int32Array.of(1, l.k, l.n, rows, 1, 0, 1, 1));
        addon.columnSum(grad, b!.grad, Int32Array.of(rows, l.n));
        if (inputGrad) {
          if (l.pattern) addon.sparseMatMulGradX(grad, w!.value, l.pattern, inputGrad, Int32Array.of(rows, COMPACT));
          else addon.gemm(grad, w!.value, inputGrad, Int32Array.of(1, rows, l.k, l.n, 0, 1, 1, 1));
        }
      }
      clock = lap(l.label, 'backward', clock);
      if (i === 0 || !inputGrad) break;
      grad = inputGrad;
    }
    this.params.forEach((list, i) => {
      if (!list.length) return;
      for (const p of list) this.update(p.slot, p.keep, lr);
      clock = lap(layers[i]!.label, 'update', clock);
    });
    // As tfjs's path: the scaled loss is the product of the two float32 numbers.
    return Math.fround(this.lossOut[0]! * lossScale);
  }

  private update(p: ParamSlot, keep: Float32Array | null, lr: number): void {
    const c = this.config;
    this.addon.sgdStep(
      p.value,
      p.grad,
      p.momentum,
      keep,
      p.value,
      p.momentum,
      lr,
      this.momentum,
      this.t === 1,
      !!c.nesterov,
      c.weightDecay ?? 0,
    );
  }

  /** The current parameters (and running statistics), copied. */
  currentWeights(): Weights {
    const out: Weights = {};
    for (const list of this.params) for (const p of list) out[p.name] = p.slot.full(p.slot.value, p.size);
    this.layers.forEach((l, i) => {
      if (l.kind !== 'batchNorm') return;
      out[l.mean] = this.norms[i]!.mean.slice();
      out[l.variance] = this.norms[i]!.variance.slice();
    });
    return out;
  }

  /** The optimiser's state in MaskedOptimizer's format (a checkpoint resumes on either path). */
  exportState(): OptimizerState {
    const slots: Record<string, Float32Array[]> = {};
    if (this.momentum !== 0 && this.t > 0)
      for (const list of this.params) for (const p of list) slots[p.name] = [p.slot.full(p.slot.momentum!, p.size)];
    return { t: this.t, slots };
  }
}

/**
 * The running statistics' update of layers.ts's batchNorm, rounded as its float32 ops round: running·(1 − m) +
 * batch·m, the variance unbiased first (× rows/(rows − 1)).
 */
function updateRunningStatistics(norm: NormState, momentum: number, rows: number): void {
  const f = Math.fround;
  const [keep, take, unbias] = [f(1 - momentum), f(momentum), f(rows / Math.max(1, rows - 1))];
  const c = norm.mean.length;
  for (let j = 0; j < c; j++) {
    norm.mean[j] = f(f(norm.mean[j]! * keep) + f(norm.stats[j]! * take));
    norm.variance[j] = f(f(norm.variance[j]! * keep) + f(f(norm.stats[c + j]! * unbias) * take));
  }
}

/** out[n, c] = the mean of x[n, ·, c] over its `area` positions. */
function meanPool(x: Float32Array, out: Float32Array, rows: number, c: number, area: number): void {
  for (let n = 0; n < rows; n++)
    for (let j = 0; j < c; j++) {
      let sum = 0;
      for (let p = 0, at = n * area * c + j; p < area; p++, at += c) sum += x[at]!;
      out[n * c + j] = sum / area;
    }
}

/** Its gradient: each position gets dy[n, c] / area. */
function meanPoolGrad(dy: Float32Array, dx: Float32Array, rows: number, c: number, area: number): void {
  for (let n = 0; n < rows; n++)
    for (let p = 0; p < area; p++) {
      const at = (n * area + p) * c;
      for (let j = 0; j < c; j++) dx[at + j] = dy[n * c + j]! / area;
    }
}
