// A network is a list of named parameters plus a pure forward function over them. Weights travel as plain
// Float32Arrays keyed by parameter name (stable across runs), so they serialise trivially and are backend-free.
import * as tf from '@tensorflow/tfjs-core';
import {
  maskPattern,
  peekValues,
  SPARSE_MAX_DENSITY,
  sparseMatMulAvailable,
  sparseProductsPay,
} from '../kernels/sparse-matmul.js';
import { keptCount, type Mask } from '../mask.js';

export type ParamRole = 'conv' | 'dense' | 'bias' | 'bn-gamma' | 'bn-beta' | 'bn-mean' | 'bn-var';

export interface ParamInfo {
  name: string;
  shape: number[];
  role: ParamRole;
  /** Updated by the optimiser (BN running statistics are not). */
  trainable: boolean;
  /** A weight tensor that pruning may mask (conv kernels and dense matrices). */
  prunable: boolean;
  /** The classifier layer: never pruned at filter/neuron granularity (its units are the classes). */
  output?: boolean;
  /** Fan-in for initialisation (weights and biases). */
  fanIn?: number;
}

/** Parameter values keyed by ParamInfo.name. */
export type Weights = Record<string, Float32Array>;

export interface ForwardContext {
  /** The current value of a parameter. */
  p(name: string): tf.Tensor;
  training: boolean;
  /** Records a new value for a BN running statistic (applied only in training mode). */
  updateState(name: string, value: tf.Tensor): void;
  /** The sparsity pattern of a pruned weight whose product may skip its pruned entries (see Network.usePatterns). */
  pattern?(name: string): tf.Tensor1D | undefined;
}

export interface ArchDefinition {
  arch: string;
  inputShape: [number, number, number];
  numClasses: number;
  params: ParamInfo[];
  /** x is [batch, h, w, c]; returns logits [batch, classes]. */
  forward(ctx: ForwardContext, x: tf.Tensor4D): tf.Tensor2D;
  /**
   * Set when `forward` is exactly this chain (each step's output the next one's input, flattened before a dense
   * layer): a native training path may then run it itself (ml/kernels/layer-chain-trainer.ts).
   */
  chain?: ChainStep[];
}

/**
 * A step of a layer chain: `layers.ts`'s conv and dense (parameters `${name}.w`, `${name}.b`; a conv without bias
 * takes no ReLU), its batch normalisation in training mode (`${name}.gamma`, `.beta`, running `.mean`, `.var`), a
 * max-pool, or the mean over the spatial axes (global average pooling).
 */
export type ChainStep =
  | { kind: 'dense'; name: string; relu: boolean }
  | { kind: 'conv'; name: string; stride: number; pad: 'valid' | 'same'; bias: boolean; relu: boolean }
  | { kind: 'batchNorm'; name: string; relu: boolean; eps: number; momentum: number }
  | { kind: 'maxPool'; size: number; stride: number; pad: 'valid' | 'same' }
  | { kind: 'meanPool' };

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A live network: one tf.Variable per parameter. Dispose it when done. */
export class Network {
  readonly vars = new Map<string, tf.Variable>();
  private readonly patterns = new Map<string, tf.Tensor1D>();
  /** The same patterns as arrays (the native training path takes them as they are, not read back from tensors). */
  private readonly patternArrays = new Map<string, Int32Array>();

  constructor(
    readonly def: ArchDefinition,
    weights: Weights,
  ) {
    // Checked before any variable exists, so a bad weight set leaks none.
    for (const p of def.params) {
      const w = weights[p.name];
      if (!w) throw new Error(`${def.arch}: weights lack parameter ${p.name}`);
      if (w.length !== sizeOf(p.shape)) {
        throw new Error(
          `${def.arch}: parameter ${p.name} has ${w.length} values, shape ${p.shape} needs ${sizeOf(p.shape)}`,
        );
      }
    }
    for (const p of def.params) {
      const w = weights[p.name]!;
      // Inside tidy so the temporary tensor the variable is made from does not outlive it.
      const name = `${p.name}#${nextId++}`;
      this.vars.set(
        p.name,
        tf.tidy(() => tf.variable(tf.tensor(w, p.shape), p.trainable, name)),
      );
    }
  }

  get params(): ParamInfo[] {
    return this.def.params;
  }

  variable(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`${this.def.arch} has no parameter ${name}`);
    return v;
  }

  trainableVariables(): tf.Variable[] {
    return this.def.params.filter((p) => p.trainable).map((p) => this.variable(p.name));
  }

  /** Logits for a batch. In training mode BN uses batch statistics and updates its running statistics. */
  apply(x: tf.Tensor, training: boolean, override?: Map<string, tf.Tensor>): tf.Tensor2D {
    const [h, w, c] = this.def.inputShape;
    const x4 = x.rank === 4 ? (x as tf.Tensor4D) : (tf.reshape(x, [-1, h, w, c]) as tf.Tensor4D);
    const ctx: ForwardContext = {
      p: (name) => override?.get(name) ?? this.variable(name),
      training,
      updateState: (name, value) => {
        if (training) this.variable(name).assign(value);
      },
      pattern: (name) => (override?.has(name) ? undefined : this.patterns.get(name)),
    };
    return this.def.forward(ctx, x4);
  }

  getWeights(): Weights {
    const out: Weights = {};
    for (const p of this.def.params) out[p.name] = this.variable(p.name).dataSync() as Float32Array;
    return out;
  }

  setWeights(weights: Weights): void {
    for (const p of this.def.params) {
      const w = weights[p.name];
      if (!w) throw new Error(`${this.def.arch}: weights lack parameter ${p.name}`);
      tf.tidy(() => this.variable(p.name).assign(tf.tensor(w, p.shape)));
    }
  }

  /**
   * Lets dense layers multiply through `mask`'s pattern, skipping pruned weights (ml/kernels/sparse-matmul.ts), for
   * as long as the mask holds: masked training, or evaluating a pruned model. Only layers sparse enough for it to pay
   * and whose pruned weights are all zero now (so the result is the dense product's); none where the backend lacks
   * the kernels. Undefined drops the patterns.
   */
  usePatterns(mask: Mask | undefined): void {
    for (const t of this.patterns.values()) t.dispose();
    this.patterns.clear();
    this.patternArrays.clear();
    if (!mask || !sparseMatMulAvailable() || !sparseProductsPay()) return;
    for (const layer of mask.layers) {
      const info = this.def.params.find((p) => p.name === layer.name);
      if (info?.role !== 'dense' || info.shape.length !== 2) continue;
      const kept = keptCount(layer.keep);
      if (kept > SPARSE_MAX_DENSITY * layer.keep.length) continue;
      // Every pruned weight ±0: the bits but the sign's, of pruned entries only (keep − 1 is all ones there), ORed
      // without a branch (one on the mask's bytes mispredicted: 1.2 against 0.7 ms for the MLP's first layer).
      const w = peekValues(this.variable(layer.name));
      const bits = new Int32Array(w.buffer, w.byteOffset, w.length);
      let stray = 0;
      for (let i = 0; i < bits.length; i++) stray |= bits[i]! & 0x7fffffff & (layer.keep[i]! - 1);
      if (stray !== 0) continue;
      const [k, n] = info.shape as [number, number];
      const pattern = maskPattern(layer.keep, k, n, kept);
      this.patternArrays.set(layer.name, pattern);
      this.patterns.set(layer.name, tf.tensor1d(pattern, 'int32'));
    }
  }

  /** The pattern a weight multiplies through now (see usePatterns), if any. */
  patternOf(name: string): Int32Array | undefined {
    return this.patternArrays.get(name);
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.usePatterns(undefined);
  }
}

let nextId = 0;
