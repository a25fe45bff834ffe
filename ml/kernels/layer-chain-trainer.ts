// Masked SGD on a layer chain (the MLP, LeNet-5: convolutions and dense layers with ReLUs, max-pooling between)
// without tfjs's engine: the native addon's kernels that the blas backend runs for each op (sgemm, the convolutions
// and their gradients, the sparse products over a mask's pattern, bias add, the fused cross-entropy, the SGD update)
// called directly on plain arrays, in the same order with the same arguments, so a run gives the tfjs path's numbers
// (test/ml/layer-chain-trainer.test.ts). On a pruned MLP the kernels are a few hundred microseconds a step, and tfjs's
// taping, tensor allocation and tidy were about as much again.
import { backend_util } from '@tensorflow/tfjs-core';
import type { ChainStep, Weights } from '../models/network.js';
import type { OptimizerConfig, OptimizerState } from '../optimizers.js';
import type { NativeBlas } from './native-blas.js';
import { convDims, poolDims } from './wasm-kernel-support.js';

/** A chain's layer as the trainer runs it: its parameters (masks, patterns) and geometry fixed for the run. */
export type ChainLayer =
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
      bias: string;
      relu: boolean;
      keep?: Float32Array;
      /** The addon's convolution dimensions for one example ([0], the batch, is set per step). */
      dims: Int32Array;
      /** Per example: input and output sizes; output channels. */
      inSize: number;
      outSize: number;
      channels: number;
    }
  | { kind: 'maxPool'; dims: Int32Array; inSize: number; outSize: number };

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
  return steps.map((s): ChainLayer => {
    const inSize = size();
    if (s.kind === 'maxPool') {
      const info = backend_util.computePool2DInfo(shape, s.size, s.stride, 1, s.pad);
      shape = [1, info.outHeight, info.outWidth, info.inChannels];
      return { kind: 'maxPool', dims: poolDims(info), inSize, outSize: size() };
    }
    const weight = `${s.name}.w`;
    const keep = keepOf(weight);
    const params = { weight, bias: `${s.name}.b`, relu: s.relu, ...(keep ? { keep } : {}) };
    if (s.kind === 'dense') {
      const [k, n] = shapeOf(weight) as [number, number];
      if (k !== inSize) throw new Error(`${s.name}: expects ${k} inputs, the chain gives ${inSize}`);
      shape = [1, 1, 1, n];
      const pattern = patternOf(weight);
      return { kind: 'dense', ...params, k, n, ...(pattern ? { pattern } : {}) };
    }
    const filter = shapeOf(weight) as [number, number, number, number];
    const info = backend_util.computeConv2DInfo(shape, filter, s.stride, 1, s.pad);
    shape = [1, info.outHeight, info.outWidth, info.outChannels];
    return { kind: 'conv', ...params, dims: convDims(info), inSize, outSize: size(), channels: info.outChannels };
  });
}

/**
 * One parameter's value and SGD momentum, double-buffered: the update writes the spare pair, then they swap. A
 * pruned layer that multiplies through its pattern is held compact: its kept entries only, in the pattern's row
 * order (`dense` gives each one's index in the full matrix). Its pruned weights and their momentum are zero on the
 * tfjs path throughout (masked gradients, masked updates), so leaving them out changes no kept entry's arithmetic.
 */
class ParamSlot {
  value: Float32Array;
  next: Float32Array;
  momentum: Float32Array | null;
  nextMomentum: Float32Array | null;
  readonly grad: Float32Array;

  constructor(
    start: Float32Array,
    hasMomentum: boolean,
    savedMomentum: Float32Array | undefined,
    private readonly dense?: Int32Array,
  ) {
    this.value = this.take(start);
    const len = this.value.length;
    this.next = new Float32Array(len);
    this.grad = new Float32Array(len);
    this.momentum = hasMomentum ? (savedMomentum ? this.take(savedMomentum) : new Float32Array(len)) : null;
    this.nextMomentum = hasMomentum ? new Float32Array(len) : null;
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

  swap(): void {
    [this.value, this.next] = [this.next, this.value];
    [this.momentum, this.nextMomentum] = [this.nextMomentum, this.momentum];
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

/** dims[1] of the sparse products: the weights (or weight gradient) are the pattern's entries only. */
const COMPACT = 1;
/** gatherRows's dims for single floats. */
const ONE = Int32Array.of(1);

/** `dims` with its first entry (the batch) set to `rows`. */
const batchOf = (dims: Int32Array, rows: number) => {
  const d = dims.slice();
  d[0] = rows;
  return d;
};

/** Trains a layer chain in place of tfjs; `lossScale` × mean cross-entropy is the loss (−1: gradient ascent). */
export class LayerChainTrainer {
  /** Per layer (none for a pooling layer): weights, biases, and the full weight tensor's size. */
  private readonly weights: (ParamSlot | null)[];
  private readonly biases: (ParamSlot | null)[];
  private readonly sizes: number[];
  /** Pruned dense layers held compact: their weights in column order for the product, and where each comes from. */
  private readonly columnOrder: (Int32Array | null)[];
  private readonly byColumn: (Float32Array | null)[];
  /** Each layer's output for the batch (after its ReLU; the logits last) and the loss's gradient there. */
  private readonly outputs: Float32Array[];
  private readonly outputGrads: Float32Array[];
  private readonly lossOut = new Float32Array(1);
  private readonly lossGrad = new Float32Array(1);
  private t: number;
  private readonly momentum: number;

  constructor(
    private readonly addon: NativeBlas,
    private readonly layers: ChainLayer[],
    start: Weights,
    private readonly config: OptimizerConfig,
    maxRows: number,
    state?: OptimizerState,
  ) {
    this.momentum = config.momentum ?? 0.9;
    const orders = layers.map((l) => (l.kind === 'dense' && l.pattern ? patternOrders(l.pattern) : null));
    const slot = (name: string, dense?: Int32Array) =>
      new ParamSlot(start[name]!, this.momentum !== 0, state?.slots[name]?.[0], dense);
    this.weights = layers.map((l, i) => (l.kind === 'maxPool' ? null : slot(l.weight, orders[i]?.dense)));
    this.biases = layers.map((l) => (l.kind === 'maxPool' ? null : slot(l.bias)));
    this.sizes = layers.map((l) => (l.kind === 'maxPool' ? 0 : start[l.weight]!.length));
    this.columnOrder = orders.map((o) => o?.byColumn ?? null);
    this.byColumn = orders.map((o) => (o ? new Float32Array(o.byColumn.length) : null));
    const outSize = (l: ChainLayer) => (l.kind === 'dense' ? l.n : l.outSize);
    this.outputs = layers.map((l) => new Float32Array(maxRows * outSize(l)));
    this.outputGrads = layers.map((l) => new Float32Array(maxRows * outSize(l)));
    this.t = state?.t ?? 0;
  }

  /** One SGD step on `rows` examples (x row-major, one example a row; labels y); returns the batch loss. */
  step(x: Float32Array, y: Int32Array, rows: number, lr: number, lossScale: number): number {
    const { addon, layers } = this;
    this.t++;
    const last = layers.length - 1;
    let input = x;
    layers.forEach((l, i) => {
      const out = this.outputs[i]!.subarray(0, rows * (l.kind === 'dense' ? l.n : l.outSize));
      if (l.kind === 'maxPool') addon.maxPool(input, out, batchOf(l.dims, rows));
      else {
        const w = this.weights[i]!.value;
        if (l.kind === 'conv') addon.conv2d(input, w, out, batchOf(l.dims, rows));
        else if (l.pattern) {
          addon.gatherRows(w, this.columnOrder[i]!, this.byColumn[i]!, ONE);
          addon.sparseMatMul(input, this.byColumn[i]!, l.pattern, out, Int32Array.of(rows, COMPACT));
        } else addon.gemm(input, w, out, Int32Array.of(1, rows, l.n, l.k, 0, 0, 1, 1));
        const c = l.kind === 'dense' ? l.n : l.channels;
        const dims = Int32Array.of(out.length / c, c);
        if (l.relu) addon.biasAddRelu(out, this.biases[i]!.value, out, dims);
        else addon.biasAdd(out, this.biases[i]!.value, out, dims);
      }
      input = out;
    });
    const logits = input;
    const classes = logits.length / rows;
    const dims = Int32Array.of(rows, classes);
    addon.softmaxCrossEntropy(logits, y, this.lossOut, dims);
    this.lossGrad[0] = lossScale;
    let grad = this.outputGrads[last]!.subarray(0, logits.length);
    addon.softmaxCrossEntropyGrad(logits, y, this.lossGrad, grad, dims);
    for (let i = last; i >= 0; i--) {
      const l = layers[i]!;
      const layerInput = i === 0 ? x : this.outputs[i - 1]!.subarray(0, rows * this.inSize(i));
      const inputGrad = i === 0 ? null : this.outputGrads[i - 1]!.subarray(0, rows * this.inSize(i));
      // The gradient at the layer's output, through its ReLU (a product with the step, as tfjs's gradient).
      if (l.kind !== 'maxPool' && l.relu) addon.reluGrad(grad, this.outputs[i]!, grad, Int32Array.of(grad.length));
      if (l.kind === 'maxPool') addon.maxPoolGrad(layerInput, grad, inputGrad!, batchOf(l.dims, rows));
      else if (l.kind === 'conv') {
        const w = this.weights[i]!;
        const d = batchOf(l.dims, rows);
        addon.conv2dBackpropFilter(layerInput, grad, w.grad, d);
        addon.columnSum(grad, this.biases[i]!.grad, Int32Array.of(grad.length / l.channels, l.channels));
        if (inputGrad) addon.conv2dBackpropInput(grad, w.value, inputGrad, d);
      } else {
        const w = this.weights[i]!;
        if (l.pattern) addon.sparseMatMulGradW(layerInput, grad, l.pattern, w.grad, Int32Array.of(rows, COMPACT));
        else addon.gemm(layerInput, grad, w.grad, Int32Array.of(1, l.k, l.n, rows, 1, 0, 1, 1));
        addon.columnSum(grad, this.biases[i]!.grad, Int32Array.of(rows, l.n));
        if (inputGrad) {
          if (l.pattern) addon.sparseMatMulGradX(grad, w.value, l.pattern, inputGrad, Int32Array.of(rows, COMPACT));
          else addon.gemm(grad, w.value, inputGrad, Int32Array.of(1, rows, l.k, l.n, 0, 1, 1, 1));
        }
      }
      if (!inputGrad) break;
      grad = inputGrad;
    }
    layers.forEach((l, i) => {
      if (l.kind === 'maxPool') return;
      // A compact layer holds kept weights only: no mask to apply.
      this.update(this.weights[i]!, l.kind === 'dense' && l.pattern ? null : (l.keep ?? null), lr);
      this.update(this.biases[i]!, null, lr);
    });
    // As tfjs's path: the scaled loss is the product of the two float32 numbers.
    return Math.fround(this.lossOut[0]! * lossScale);
  }

  /** Layer i's input size per example. */
  private inSize(i: number): number {
    const l = this.layers[i]!;
    return l.kind === 'dense' ? l.k : l.inSize;
  }

  private update(p: ParamSlot, keep: Float32Array | null, lr: number): void {
    const c = this.config;
    this.addon.sgdStep(
      p.value,
      p.grad,
      p.momentum,
      keep,
      p.next,
      p.nextMomentum,
      lr,
      this.momentum,
      this.t === 1,
      !!c.nesterov,
      c.weightDecay ?? 0,
    );
    p.swap();
  }

  /** The current parameters, copied. */
  currentWeights(): Weights {
    const out: Weights = {};
    this.layers.forEach((l, i) => {
      const w = this.weights[i];
      if (l.kind === 'maxPool' || !w) return;
      out[l.weight] = w.full(w.value, this.sizes[i]!);
      out[l.bias] = this.biases[i]!.value.slice();
    });
    return out;
  }

  /** The optimiser's state in MaskedOptimizer's format (a checkpoint resumes on either path). */
  exportState(): OptimizerState {
    const slots: Record<string, Float32Array[]> = {};
    if (this.momentum !== 0 && this.t > 0)
      this.layers.forEach((l, i) => {
        const w = this.weights[i];
        if (l.kind === 'maxPool' || !w) return;
        slots[l.weight] = [w.full(w.momentum!, this.sizes[i]!)];
        slots[l.bias] = [this.biases[i]!.momentum!.slice()];
      });
    return { t: this.t, slots };
  }
}
