// SGD (momentum, Nesterov, coupled weight decay) and Adam with PyTorch's update rules, written with tfjs ops so
// that masking is fused into the update: masked gradients in, and weights multiplied by the mask after the step,
// so pruned weights stay exactly zero.
import * as tf from '@tensorflow/tfjs-core';
import { SGD_STEP_KERNEL, type SgdStepAttrs } from './kernels/native-wasm-kernels.js';

export type OptimizerKind = 'sgd' | 'adam';

export interface OptimizerConfig {
  optimizer: OptimizerKind;
  lr: number;
  /** SGD momentum (default 0.9). */
  momentum?: number;
  nesterov?: boolean;
  /** L2 penalty added to the gradient, as PyTorch's weight_decay (default 0). */
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** The optimiser's state between steps (for checkpoints): the step count and each parameter's slot tensors. */
export interface OptimizerState {
  t: number;
  slots: Record<string, Float32Array[]>;
}

export class MaskedOptimizer {
  private readonly slots = new Map<string, tf.Variable[]>();
  private t = 0;

  constructor(
    readonly config: OptimizerConfig,
    /** Keyed by variable name; a missing key means the variable is dense. */
    private readonly masks: Map<string, tf.Tensor> = new Map(),
    /** Extra per-variable gradient multipliers (e.g. SalUn's saliency mask), applied before the update. */
    private readonly gradMasks: Map<string, tf.Tensor> = new Map(),
  ) {}

  /** Applies one update; grads are keyed by variable name. Disposes nothing it was given. */
  step(vars: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number): void {
    this.t++;
    const c = this.config;
    const wd = c.weightDecay ?? 0;
    // Where the backend has the fused kernel (the native one), SGD is one kernel per variable instead of ~7 ops.
    const fused = c.optimizer === 'sgd' && tf.getKernel(SGD_STEP_KERNEL, tf.getBackend()) !== undefined;
    tf.tidy(() => {
      for (const [name, g0] of Object.entries(grads)) {
        const v = vars.get(name);
        if (!v) continue;
        const mask = this.masks.get(name);
        const gradMask = this.gradMasks.get(name);
        if (fused && !gradMask && v.dtype === 'float32' && g0.dtype === 'float32') {
          this.fusedSgdStep(name, v, g0, mask, lr);
          continue;
        }
        let g = g0;
        if (wd !== 0) g = tf.add(g, tf.mul(v, wd));
        if (mask) g = tf.mul(g, mask);
        if (gradMask) g = tf.mul(g, gradMask);
        let next: tf.Tensor;
        if (c.optimizer === 'sgd') {
          const mom = c.momentum ?? 0.9;
          if (mom === 0) next = tf.sub(v, tf.mul(g, lr));
          else {
            const [buf] = this.slot(name, v, 1);
            const b = this.t === 1 ? g : tf.add(tf.mul(buf!, mom), g);
            buf!.assign(b);
            const d = c.nesterov ? tf.add(g, tf.mul(b, mom)) : b;
            next = tf.sub(v, tf.mul(d, lr));
          }
        } else {
          const b1 = c.beta1 ?? 0.9;
          const b2 = c.beta2 ?? 0.999;
          const eps = c.epsilon ?? 1e-8;
          const [m, s] = this.slot(name, v, 2);
          const mNew = tf.add(tf.mul(m!, b1), tf.mul(g, 1 - b1));
          const sNew = tf.add(tf.mul(s!, b2), tf.mul(tf.square(g), 1 - b2));
          m!.assign(mNew);
          s!.assign(sNew);
          const stepSize = lr / (1 - Math.pow(b1, this.t));
          const denom = tf.add(tf.div(tf.sqrt(sNew), Math.sqrt(1 - Math.pow(b2, this.t))), eps);
          next = tf.sub(v, tf.mul(tf.div(mNew, denom), stepSize));
        }
        if (mask) next = tf.mul(next, mask);
        v.assign(next);
      }
    });
  }

  private fusedSgdStep(name: string, v: tf.Variable, g: tf.Tensor, mask: tf.Tensor | undefined, lr: number): void {
    const c = this.config;
    const momentum = c.momentum ?? 0.9;
    const buf = momentum !== 0 ? this.slot(name, v, 1)[0] : undefined;
    const first = this.t === 1;
    const inputs: tf.NamedTensorMap = { w: v, g };
    if (buf && !first) inputs.buf = buf;
    if (mask) inputs.mask = mask;
    const attrs: SgdStepAttrs = { lr, momentum, first, nesterov: !!c.nesterov, weightDecay: c.weightDecay ?? 0 };
    const out = tf.engine().runKernel(SGD_STEP_KERNEL, inputs, attrs as never) as unknown as tf.Tensor[];
    if (buf) buf.assign(out[1]!);
    v.assign(out[0]!);
  }

  private slot(name: string, v: tf.Variable, count: number): tf.Variable[] {
    let s = this.slots.get(name);
    if (!s) {
      s = Array.from({ length: count }, () => tf.variable(tf.zerosLike(v), false));
      this.slots.set(name, s);
    }
    return s;
  }

  exportState(): OptimizerState {
    const slots: Record<string, Float32Array[]> = {};
    for (const [name, list] of this.slots) slots[name] = list.map((v) => (v.dataSync() as Float32Array).slice());
    return { t: this.t, slots };
  }

  /** Restores exported state; `vars` (keyed like the grads) gives each slot its shape. */
  importState(state: OptimizerState, vars: Map<string, tf.Variable>): void {
    this.dispose();
    this.t = state.t;
    for (const [name, arrays] of Object.entries(state.slots)) {
      const v = vars.get(name);
      if (!v) throw new Error(`optimizer state names unknown parameter ${name}`);
      this.slots.set(
        name,
        // Inside tidy: the tensor a variable is made from would otherwise outlive it (a leak per slot on resume).
        arrays.map((a) => tf.tidy(() => tf.variable(tf.tensor(a, v.shape), false))),
      );
    }
  }

  dispose(): void {
    for (const list of this.slots.values()) for (const v of list) v.dispose();
    this.slots.clear();
  }
}
