// Masked training: a custom loop over seeded mini-batches with the project's optimisers. Masks keep pruned
// weights exactly zero (gradients masked, weights re-masked after every step). Each step runs inside tf.tidy;
// the only tensors that outlive a step are the network's variables and the optimiser's slots.
import { PermanentError } from './errors.js';
import { countTrainingExamples } from './training-examples.js';
import * as tf from '@tensorflow/tfjs-core';
import { BatchBuffer, dominantValue, gatherBatch, type DataView } from './data/dataset.js';
import { fusedCrossEntropy, fusedCrossEntropyAvailable } from './kernels/softmax-cross-entropy.js';
import { deriveSeed, SeededRandom } from './data/seeded-random.js';
import { enforceMask, type Mask } from './mask.js';
import { Network, type ArchDefinition } from './models/network.js';
import { MaskedOptimizer, type OptimizerConfig, type OptimizerState } from './optimizers.js';
import { chainLayers, LayerChainTrainer } from './kernels/layer-chain-trainer.js';
import { activeNativeKernels, nativeRowCopier } from './kernels/register-wasm-kernels.js';
import type { Weights } from './models/network.js';

export type LrSchedule = { kind: 'constant' } | { kind: 'cosine'; minLr?: number };

export interface TrainConfig extends OptimizerConfig {
  /** The run's length: the learning-rate schedule spans it. */
  epochs: number;
  /**
   * Stop after this many epochs of the `epochs`-long run (a truncated run: the full run's first epochs, bit for
   * bit, its schedule not rescaled). Default: all of them.
   */
  stopAfter?: number;
  /**
   * Training-time augmentation: `crop-flip` (as the CIFAR references: a random shift of up to 4 pixels with zero fill,
   * i.e. pad-4 random crop, and a horizontal flip with probability ½), seeded by the batch order's seed.
   */
  augment?: 'crop-flip';
  batchSize: number;
  schedule?: LrSchedule;
  /** Seeds the batch order. */
  seed: number;
}

export interface TrainProgress {
  epoch: number;
  epochs: number;
  /** Batches finished in this epoch. */
  batch: number;
  batchesPerEpoch: number;
  /** Mean loss over the batches since the previous report. */
  loss: number;
  examples: number;
  examplesPerSecond: number;
  /** True at the end of an epoch. */
  epochEnd: boolean;
}

export interface TrainHooks {
  /**
   * Called every `progressEvery` batches and at every epoch end. The network's variables hold the current weights at
   * epoch ends; in between, the native layer-chain path (which trains outside tfjs) has not written them back: a
   * write-back every 20 steps cost 8% of a pruned MLP's training.
   */
  onProgress?: (p: TrainProgress) => void | Promise<void>;
  progressEvery?: number;
  signal?: AbortSignal;
}

/** Loss for one batch: logits [b, classes], int labels [b], the network (for penalties), the 0-based epoch, the inputs. */
export type LossFn = (logits: tf.Tensor2D, labels: tf.Tensor1D, net: Network, epoch: number, x: tf.Tensor) => tf.Scalar;

export interface TrainOptions {
  mask?: Mask;
  hooks?: TrainHooks;
  loss?: LossFn;
  /** Multipliers applied to gradients (e.g. a saliency mask); keyed by parameter name. */
  gradMask?: Mask;
  /** Continue from a checkpoint: weights and optimiser state at the end of `epoch` (bit-exact resumption). */
  resume?: TrainingCheckpoint;
  /** Called after every epoch with a way to take a checkpoint (taking one reads every tensor back). */
  onEpochEnd?: (epoch: number, checkpoint: () => TrainingCheckpoint) => void | Promise<void>;
  /**
   * A second stream drawn beside the main one (NegGrad+'s forget set): every step's batch is the main view's next
   * batch followed by this view's next min(batch, size) examples, cycling through its own seeded shuffles, their
   * labels shifted by `labelOffset` so the loss can tell the two apart. An epoch is one pass over the main view.
   */
  companion?: { view: DataView; labelOffset: number };
}

/** Training state after `epoch` epochs. */
export interface TrainingCheckpoint {
  epoch: number;
  weights: Weights;
  optimizer: OptimizerState;
}

export interface TrainSummary {
  epochLosses: number[];
  examples: number;
  seconds: number;
  examplesPerSecond: number;
}

export class TrainingCancelledError extends Error {
  constructor() {
    super('training cancelled');
    this.name = 'TrainingCancelledError';
  }
}

/** Same seed, same data, same NaN: a diverging configuration does not heal by retrying. */
export class NonFiniteLossError extends PermanentError {
  constructor(epoch: number, batch: number) {
    super(`loss became NaN or infinite at epoch ${epoch}, batch ${batch}: lower the learning rate`);
    this.name = 'NonFiniteLossError';
  }
}

/** `scale` × the mean cross-entropy, marked so that a native training path may compute it itself. */
export type ScaledCrossEntropy = LossFn & { readonly crossEntropyScale: number };

export function scaledCrossEntropy(scale: number): ScaledCrossEntropy {
  const fn: LossFn = (logits, labels) =>
    tf.tidy(() => {
      const ce = crossEntropy(logits, labels);
      return scale === 1 ? ce : scale === -1 ? tf.neg(ce) : tf.mul(ce, scale);
    });
  return Object.assign(fn, { crossEntropyScale: scale });
}

export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  // One native kernel where the backend has it (the same definition; ml/kernels/softmax-cross-entropy.ts).
  if (labels.dtype === 'int32' && logits.dtype === 'float32' && logits.rank === 2 && fusedCrossEntropyAvailable())
    return fusedCrossEntropy(logits, labels);
  return tf.tidy(() => {
    const oneHot = tf.oneHot(labels, logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  });
}

export function learningRate(cfg: TrainConfig, epoch: number): number {
  const s = cfg.schedule ?? { kind: 'constant' };
  switch (s.kind) {
    case 'constant':
      return cfg.lr;
    case 'cosine': {
      const min = s.minLr ?? 0;
      return min + 0.5 * (cfg.lr - min) * (1 + Math.cos((Math.PI * epoch) / Math.max(1, cfg.epochs)));
    }
  }
}

/** Mask tensors keyed by variable name (dispose them with disposeMaskTensors). */
export function maskTensors(mask: Mask | undefined): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  if (!mask) return out;
  for (const l of mask.layers) out.set(l.name, tf.tensor(Float32Array.from(l.keep), l.shape));
  return out;
}

export function disposeMaskTensors(m: Map<string, tf.Tensor>): void {
  for (const t of m.values()) t.dispose();
}

/** One optimiser step on a batch; returns the batch loss (a kept scalar the caller disposes). */
export function trainStep(
  net: Network,
  opt: MaskedOptimizer,
  x: tf.Tensor,
  y: tf.Tensor1D,
  lr: number,
  loss: LossFn,
  epoch = 0,
): tf.Scalar {
  const vars = net.trainableVariables();
  countTrainingExamples(x.shape[0]!);
  const { value, grads } = tf.variableGrads(() => loss(net.apply(x, true), y, net, epoch, x), vars);
  const byName: Record<string, tf.Tensor> = {};
  const names = new Map(vars.map((v) => [v.name, v] as const));
  for (const [varName, g] of Object.entries(grads)) {
    const v = names.get(varName)!;
    byName[nameOf(net, v)] = g;
  }
  opt.step(net.vars, byName, lr);
  for (const g of Object.values(grads)) g.dispose();
  return value;
}

function nameOf(net: Network, v: tf.Variable): string {
  // Variables are registered as `${param}#${id}`; the param name is the part before '#'.
  const i = v.name.lastIndexOf('#');
  return i < 0 ? v.name : v.name.slice(0, i);
}

/**
 * Seeded batch order for one epoch, as positions in the view. The permutation is drawn over the whole split and
 * restricted to the view, so D and D_r = D \ D_f see their common examples in the same order: with the same seed,
 * the gold standard's run differs from the original only by the deleted examples, not by an unrelated shuffle.
 */
export function epochOrder(view: DataView, seed: number, epoch: number): Int32Array {
  const perm = new SeededRandom(deriveSeed(seed, `epoch:${epoch}`)).permutation(view.split.n);
  const positions = new Int32Array(view.split.n).fill(-1);
  view.indices.forEach((idx, pos) => {
    if (positions[idx] === -1) positions[idx] = pos;
  });
  const order = new Int32Array(view.indices.length);
  let k = 0;
  for (const idx of perm) {
    const pos = positions[idx]!;
    if (pos >= 0) order[k++] = pos;
  }
  // Repeated indices (a view that lists an example twice) follow in view order.
  if (k < order.length) {
    const seen = new Uint8Array(view.indices.length);
    for (let i = 0; i < k; i++) seen[order[i]!] = 1;
    for (let pos = 0; pos < view.indices.length; pos++) if (!seen[pos]) order[k++] = pos;
  }
  return order;
}

/**
 * The companion stream of one epoch: batches of min(batch size, its size) examples, walking through seeded shuffles
 * of the companion view (a new one each time it is exhausted). Reset per epoch, so a resumed run draws the same.
 */
function companionBatches(
  c: NonNullable<TrainOptions['companion']>,
  cfg: TrainConfig,
  epoch: number,
): () => { x: Float32Array; y: Int32Array } {
  const size = c.view.indices.length;
  if (size === 0) throw new Error('the companion view is empty');
  const per = Math.min(cfg.batchSize, size);
  const seed = deriveSeed(cfg.seed, 'companion');
  let pass = 0;
  let order = epochOrder(c.view, seed, epoch * 1_000_003);
  let at = 0;
  return () => {
    const positions = new Int32Array(per);
    for (let i = 0; i < per; i++) {
      if (at === size) {
        order = epochOrder(c.view, seed, epoch * 1_000_003 + ++pass);
        at = 0;
      }
      positions[i] = order[at++]!;
    }
    const batch = gatherBatch(c.view, positions);
    for (let i = 0; i < per; i++) batch.y[i]! += c.labelOffset;
    return batch;
  };
}

function withCompanion(
  a: { x: Float32Array; y: Int32Array },
  b: { x: Float32Array; y: Int32Array },
): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(a.x.length + b.x.length);
  x.set(a.x);
  x.set(b.x, a.x.length);
  const y = new Int32Array(a.y.length + b.y.length);
  y.set(a.y);
  y.set(b.y, a.y.length);
  return { x, y };
}

/** Pad-4 random crop and random horizontal flip of NHWC images, in place (zero fill where the shift uncovers). */
export function cropFlip(x: Float32Array, n: number, h: number, w: number, c: number, seed: number): void {
  const rng = new SeededRandom(seed);
  const img = new Float32Array(h * w * c);
  for (let k = 0; k < n; k++) {
    const dy = rng.int(9) - 4;
    const dx = rng.int(9) - 4;
    const flip = rng.int(2) === 1;
    const base = k * h * w * c;
    img.set(x.subarray(base, base + h * w * c));
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        const si = i + dy;
        const sj0 = j + dx;
        const sj = flip ? w - 1 - sj0 : sj0;
        for (let ch = 0; ch < c; ch++)
          x[base + (i * w + j) * c + ch] = si >= 0 && si < h && sj0 >= 0 && sj0 < w ? img[(si * w + sj) * c + ch]! : 0;
      }
  }
}

/** Trains a fresh network started at `start` (disposed after, also on failure) and returns its weights. */
export async function trainedCopy(
  def: ArchDefinition,
  start: Weights,
  view: DataView,
  cfg: TrainConfig,
  opts: TrainOptions = {},
): Promise<Weights> {
  const net = new Network(def, start);
  try {
    await trainNetwork(net, view, cfg, opts);
    return net.getWeights();
  } finally {
    net.dispose();
  }
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * How a run takes its optimiser steps: tfjs's autodiff and the MaskedOptimizer, or the native layer chain
 * (ml/kernels/layer-chain-trainer.ts) where it computes the same run (bit for bit without batch normalisation).
 */
export interface Stepper {
  step(x: Float32Array, y: Int32Array, rows: number, lr: number, epoch: number): void;
  /** The summed loss of the steps since the last call. */
  takeLoss(): Promise<number>;
  checkpoint(epoch: number): TrainingCheckpoint;
  /** Brings the network's variables up to date (a progress hook at an epoch end may read them). */
  sync(): void;
  /** Leaves the trained weights in the network and frees what the stepper holds (also after a failure). */
  finish(): void;
}

function tfjsStepper(net: Network, cfg: TrainConfig, opts: TrainOptions, loss: LossFn): Stepper {
  const masks = maskTensors(opts.mask);
  const gradMasks = maskTensors(opts.gradMask);
  const opt = new MaskedOptimizer(cfg, masks, gradMasks);
  const [h, w, c] = net.def.inputShape;
  let windowLoss = tf.scalar(0);
  if (opts.resume) opt.importState(opts.resume.optimizer, net.vars);
  return {
    step(x, y, rows, lr, epoch) {
      const stepLoss = tf.tidy(() => {
        const xs = tf.tensor4d(x, [rows, h, w, c]);
        const ys = tf.tensor1d(y, 'int32');
        return trainStep(net, opt, xs, ys, lr, loss, epoch);
      });
      const acc = tf.add(windowLoss, stepLoss);
      windowLoss.dispose();
      stepLoss.dispose();
      windowLoss = acc as tf.Scalar;
    },
    async takeLoss() {
      const sum = (await windowLoss.data())[0]!;
      windowLoss.dispose();
      windowLoss = tf.scalar(0);
      return sum;
    },
    checkpoint: (epoch) => ({ epoch, weights: net.getWeights(), optimizer: opt.exportState() }),
    sync() {},
    finish() {
      windowLoss.dispose();
      opt.dispose();
      disposeMaskTensors(masks);
      disposeMaskTensors(gradMasks);
    },
  };
}

/**
 * The native layer chain, where the run is one it computes: a chain network (the MLP, LeNet-5, vgg-small) on the blas
 * backend, SGD, a scaled cross-entropy (the default loss, or GA's), no gradient multipliers, no companion stream.
 */
function layerChainStepper(
  net: Network,
  cfg: TrainConfig,
  opts: TrainOptions,
  inputValue: number | null,
): Stepper | undefined {
  const chain = net.def.chain;
  const addon = activeNativeKernels();
  const lossScale = opts.loss ? (opts.loss as Partial<ScaledCrossEntropy>).crossEntropyScale : 1;
  if (!chain || !addon || tf.getBackend() !== 'wasm' || !layerChainTraining) return undefined;
  if (cfg.optimizer !== 'sgd' || lossScale === undefined || opts.gradMask || opts.companion) return undefined;
  const keeps = new Map(opts.mask?.layers.map((l) => [l.name, l.keep]));
  const layers = chainLayers(
    chain,
    net.def.inputShape,
    (name) => net.variable(name).shape,
    (name) => {
      const keep = keeps.get(name);
      return keep && Float32Array.from(keep);
    },
    (name) => net.patternOf(name),
  );
  const trainer = new LayerChainTrainer(
    addon,
    layers,
    net.getWeights(),
    cfg,
    cfg.batchSize,
    opts.resume?.optimizer,
    inputValue,
  );
  const writeBack = () => net.setWeights(trainer.currentWeights());
  let windowLoss = 0;
  return {
    step(x, y, rows, lr) {
      countTrainingExamples(rows);
      // Summed in float32, as the tfjs path sums its loss tensors.
      windowLoss = Math.fround(windowLoss + trainer.step(x, y, rows, lr, lossScale));
    },
    async takeLoss() {
      const sum = windowLoss;
      windowLoss = 0;
      return sum;
    },
    checkpoint: (epoch) => ({ epoch, weights: trainer.currentWeights(), optimizer: trainer.exportState() }),
    sync: writeBack,
    finish: writeBack,
  };
}

/**
 * The stepper a run on `net` takes (the network already masked, its patterns in use: trainNetwork sets both up);
 * `inputValue`: the value most inputs hold (the data's dominantValue), if any. Exported for bench/train.ts, which
 * times unprune's training step as runs take it.
 */
export function trainingStepper(
  net: Network,
  cfg: TrainConfig,
  opts: TrainOptions = {},
  inputValue: number | null = null,
): Stepper {
  const loss = opts.loss ?? ((logits, labels) => crossEntropy(logits, labels));
  return layerChainStepper(net, cfg, opts, inputValue) ?? tfjsStepper(net, cfg, opts, loss);
}

let layerChainTraining = true;

/** Turns the native layer-chain path off (false) or back on (benchmarks and tests compare the two). */
export function configureLayerChainTraining(on: boolean): void {
  layerChainTraining = on;
}

/** Trains `net` in place on `view`. Deterministic for a given seed on a given backend. */
export async function trainNetwork(
  net: Network,
  view: DataView,
  cfg: TrainConfig,
  opts: TrainOptions = {},
): Promise<TrainSummary> {
  const n = view.indices.length;
  if (n === 0) throw new Error('cannot train on an empty data set');
  const hooks = opts.hooks ?? {};
  const batchesPerEpoch = Math.ceil(n / cfg.batchSize);
  const every = Math.max(1, hooks.progressEvery ?? batchesPerEpoch);
  const [h, w, c] = net.def.inputShape;
  const epochLosses: number[] = [];
  const start = performance.now();
  let examples = 0;
  const batchBuffer = new BatchBuffer();
  const copyRows = nativeRowCopier();
  if (opts.resume) net.setWeights(opts.resume.weights);
  if (opts.mask) enforceMask(net, opts.mask);
  // The mask holds for the whole run: pruned layers may multiply through it (not with gradient multipliers, whose
  // users may want the pruned coordinates' gradients).
  if (opts.mask && !opts.gradMask) net.usePatterns(opts.mask);
  let stepper: Stepper | undefined;
  try {
    stepper = trainingStepper(net, cfg, opts, dominantValue(view.split, view.featureSize));
    const lastEpoch = Math.min(cfg.epochs, cfg.stopAfter ?? cfg.epochs);
    for (let epoch = opts.resume?.epoch ?? 0; epoch < lastEpoch; epoch++) {
      const order = epochOrder(view, cfg.seed, epoch);
      const companion = opts.companion && companionBatches(opts.companion, cfg, epoch);
      const lr = learningRate(cfg, epoch);
      let windowBatches = 0;
      let epochLoss = 0;
      for (let b = 0; b < batchesPerEpoch; b++) {
        if (hooks.signal?.aborted) throw new TrainingCancelledError();
        const positions = order.subarray(b * cfg.batchSize, Math.min(n, (b + 1) * cfg.batchSize));
        const next = order.subarray((b + 1) * cfg.batchSize, Math.min(n, (b + 2) * cfg.batchSize));
        const batch = companion
          ? withCompanion(gatherBatch(view, positions), companion())
          : gatherBatch(view, positions, batchBuffer, copyRows, next);
        const rows = batch.y.length;
        if (cfg.augment) cropFlip(batch.x, rows, h, w, c, deriveSeed(cfg.seed, `augment:${epoch}:${b}`));
        stepper.step(batch.x, batch.y, rows, lr, epoch);
        windowBatches++;
        examples += rows;
        const epochEnd = b + 1 === batchesPerEpoch;
        if ((b + 1) % every === 0 || epochEnd) {
          const mean = (await stepper.takeLoss()) / windowBatches;
          if (!Number.isFinite(mean)) throw new NonFiniteLossError(epoch + 1, b + 1);
          epochLoss += mean * windowBatches;
          const seconds = (performance.now() - start) / 1000;
          if (epochEnd && hooks.onProgress) stepper.sync();
          await hooks.onProgress?.({
            epoch: epoch + 1,
            epochs: cfg.epochs,
            batch: b + 1,
            batchesPerEpoch,
            loss: mean,
            examples,
            examplesPerSecond: examples / Math.max(seconds, 1e-9),
            epochEnd,
          });
          windowBatches = 0;
        }
        await yieldToEventLoop();
      }
      epochLosses.push(epochLoss / batchesPerEpoch);
      const s = stepper;
      await opts.onEpochEnd?.(epoch + 1, () => s.checkpoint(epoch + 1));
    }
  } finally {
    stepper?.finish();
    net.usePatterns(undefined);
  }
  const seconds = (performance.now() - start) / 1000;
  return { epochLosses, examples, seconds, examplesPerSecond: examples / Math.max(seconds, 1e-9) };
}
