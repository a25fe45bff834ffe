// The native layer-chain path (ml/kernels/layer-chain-trainer.ts) against tfjs's: tfjs's autodiff with its own
// gradient definitions and the MaskedOptimizer, over the same kernels. Whole training runs of the MLP and LeNet-5
// must give the same numbers: dense and pruned (dense products through the mask's pattern with the layer held
// compact, masked dense products and convolutions), the default loss and GA's negated one, momentum, Nesterov, weight
// decay, a cosine schedule, a short last batch, progress hooks reading the network at epoch ends, and checkpoints
// resumed on the other path. Batch normalisation (vgg-small) to rounding: against PyTorch in float64 on a small chain
// (a committed fixture; tfjs's path too, with the addon's op and composed), and vgg-small's step against tfjs's.
// Skipped, saying why, where the addon cannot be built.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Tensor2D } from '@tensorflow/tfjs-core';

execFileSync(process.execPath, ['ml/kernels/native/build.mjs'], { stdio: 'inherit' });
const { availableBackends, initBackend, tf } = await import('../../ml/backend.js');
const { nativeBlasUnavailableReason } = await import('../../ml/kernels/native-blas.js');
const { configureSparseProducts } = await import('../../ml/kernels/sparse-matmul.js');
const { buildArch } = await import('../../ml/models/architectures.js');
const { initWeights } = await import('../../ml/models/init-weights.js');
const { Network } = await import('../../ml/models/network.js');
const { magnitudeMask } = await import('../../ml/prune/magnitude.js');
const { configureLayerChainTraining, scaledCrossEntropy, trainingStepper, trainNetwork } =
  await import('../../ml/train.js');
const { BN_EPS, BN_MOMENTUM, batchNorm, bnParams, conv, convParams, dense, denseParams } =
  await import('../../ml/models/layers.js');
const { makeSynthetic } = await import('../../ml/data/synthetic.js');
const { fullView } = await import('../../ml/data/dataset.js');
type TrainConfig = import('../../ml/train.js').TrainConfig;
type TrainOptions = import('../../ml/train.js').TrainOptions;
type TrainingCheckpoint = import('../../ml/train.js').TrainingCheckpoint;
type Weights = import('../../ml/models/network.js').Weights;
type ArchDefinition = import('../../ml/models/network.js').ArchDefinition;

const available = (await availableBackends()).includes('blas');
const skip = available ? false : `native kernels unavailable: ${nativeBlasUnavailableReason()}`;
if (available) await initBackend('blas');
// On: the pattern products are the pruned layers' path on AVX-512 CPUs; these runs must cover them everywhere.
configureSparseProducts(true);

// 300 examples in batches of 64: the last batch of each epoch has 44. LeNet-5 needs 16×16 images at least.
const ds = makeSynthetic({ train: 300, test: 10, inputShape: [8, 8, 1], numClasses: 4, seed: 5 });
const images = makeSynthetic({ train: 300, test: 10, inputShape: [16, 16, 1], numClasses: 4, seed: 6 });
const base: TrainConfig = { epochs: 3, batchSize: 64, optimizer: 'sgd', lr: 0.05, seed: 7 };

function model(arch: 'mlp' | 'lenet5') {
  const data = arch === 'mlp' ? ds : images;
  const def = buildArch(arch, data.inputShape, data.numClasses);
  const init = initWeights(def, 2);
  return {
    arch,
    def,
    init,
    view: fullView(data, 'train'),
    // Every layer ≤ 35% kept: dense products through the pattern (convolutions masked).
    sparse: magnitudeMask(def, init, 0.85, 'layer'),
    // Dense products and convolutions, the mask applied by the update.
    half: magnitudeMask(def, init, 0.5, 'layer'),
  };
}
type Model = ReturnType<typeof model>;
const mlp = model('mlp');
const lenet = model('lenet5');
const { sparse, half } = mlp;

interface Run {
  weights: Weights;
  losses: number[];
  /** The network's weights as the progress hook saw them at the end of the first epoch. */
  atFirstEpoch: Weights;
  checkpoints: TrainingCheckpoint[];
}

async function run(native: boolean, cfg: TrainConfig, opts: TrainOptions = {}, m: Model = mlp): Promise<Run> {
  configureLayerChainTraining(native);
  const net = new Network(m.def, m.init);
  let atFirstEpoch: Weights = {};
  const checkpoints: TrainingCheckpoint[] = [];
  try {
    const summary = await trainNetwork(net, m.view, cfg, {
      ...opts,
      hooks: {
        progressEvery: 2,
        onProgress: (p) => {
          if (p.epoch === 1 && p.epochEnd) atFirstEpoch = net.getWeights();
        },
      },
      onEpochEnd: (_, take) => void checkpoints.push(take()),
    });
    return { weights: net.getWeights(), losses: summary.epochLosses, atFirstEpoch, checkpoints };
  } finally {
    net.dispose();
    configureLayerChainTraining(true);
  }
}

/**
 * The same float32 numbers, entry by entry (bits, but for the sign of a zero: where a pruned layer is held compact
 * its pruned weights are +0, where tfjs's masked update multiplies by the mask they may be −0).
 */
function assertSameBits(a: Weights, b: Weights, what: string): void {
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort(), `${what}: parameters`);
  for (const name of Object.keys(a)) {
    const x = new Uint32Array(a[name]!.buffer, a[name]!.byteOffset, a[name]!.length);
    const y = new Uint32Array(b[name]!.buffer, b[name]!.byteOffset, b[name]!.length);
    const zero = (v: number) => (v & 0x7fffffff) === 0;
    const first = x.findIndex((v, i) => v !== y[i] && !(zero(v) && zero(y[i]!)));
    assert.equal(first, -1, `${what}: ${name}[${first}] ${a[name]![first]} vs ${b[name]![first]}`);
  }
}

const cases = (m: Model): { what: string; cfg: TrainConfig; opts: TrainOptions }[] => [
  { what: 'dense, momentum and weight decay', cfg: { ...base, momentum: 0.9, weightDecay: 5e-4 }, opts: {} },
  { what: '85% pruned, Nesterov', cfg: { ...base, nesterov: true }, opts: { mask: m.sparse } },
  {
    what: '50% pruned, GA (negated cross-entropy), no momentum',
    cfg: { ...base, momentum: 0, lr: 0.002 },
    opts: { mask: m.half, loss: scaledCrossEntropy(-1) },
  },
  {
    what: '85% pruned, cosine schedule, a loss scaled by 0.5',
    cfg: { ...base, schedule: { kind: 'cosine', minLr: 0.001 } },
    opts: { mask: m.sparse, loss: scaledCrossEntropy(0.5) },
  },
];

for (const m of [mlp, lenet])
  for (const c of cases(m)) {
    test(`the native layer chain trains ${m.arch} as tfjs's path does, bit for bit: ${c.what}`, { skip }, async () => {
      const tfjs = await run(false, c.cfg, c.opts, m);
      const native = await run(true, c.cfg, c.opts, m);
      assertSameBits(tfjs.weights, native.weights, 'final weights');
      assertSameBits(tfjs.atFirstEpoch, native.atFirstEpoch, 'weights seen by the progress hook');
      assert.deepEqual(native.losses, tfjs.losses);
      assert.equal(native.checkpoints.length, 3);
      native.checkpoints.forEach((k, i) => {
        const t = tfjs.checkpoints[i]!;
        assert.equal(k.optimizer.t, t.optimizer.t);
        assert.deepEqual(Object.keys(k.optimizer.slots).sort(), Object.keys(t.optimizer.slots).sort());
        for (const name of Object.keys(t.optimizer.slots))
          assertSameBits({ m: t.optimizer.slots[name]![0]! }, { m: k.optimizer.slots[name]![0]! }, `slot ${name}`);
        assertSameBits(t.weights, k.weights, `checkpoint ${i + 1}`);
      });
      if (c.opts.mask)
        for (const l of c.opts.mask.layers) {
          const w = native.weights[l.name]!;
          assert.ok(
            l.keep.every((k, i) => k === 1 || w[i] === 0),
            `${l.name}: pruned weights stay zero`,
          );
        }
    });
  }

// Batch normalisation: the native path computes its statistics and gradients in closed form (double sums), tfjs's
// path composes them from moments and its autodiff (float32), so the two agree to rounding, not bit for bit. The
// reference is PyTorch in float64 (test/fixtures/bn-chain-reference.py: three SGD steps of a small conv/BN/ReLU/
// max-pool/mean-pool/dense chain).
const bnRef = JSON.parse(readFileSync(new URL('../fixtures/bn-chain-reference.json', import.meta.url), 'utf8')) as {
  lr: number;
  momentum: number;
  weight_decay: number;
  batch: number;
  x: number[];
  y: number[];
  start: Record<string, number[]>;
  after: Record<string, number[]>;
  losses: number[];
};
const bnChain: ArchDefinition = {
  arch: 'bn-chain',
  inputShape: [6, 6, 2],
  numClasses: 3,
  params: [
    ...convParams('conv1', 3, 2, 4, false),
    ...bnParams('bn1', 4),
    ...convParams('conv2', 3, 4, 5, false),
    ...bnParams('bn2', 5),
    ...denseParams('fc', 5, 3, true),
  ],
  chain: [
    { kind: 'conv', name: 'conv1', stride: 1, pad: 'same', bias: false, relu: false },
    { kind: 'batchNorm', name: 'bn1', relu: true, eps: BN_EPS, momentum: BN_MOMENTUM },
    { kind: 'maxPool', size: 2, stride: 2, pad: 'same' },
    { kind: 'conv', name: 'conv2', stride: 1, pad: 'same', bias: false, relu: false },
    { kind: 'batchNorm', name: 'bn2', relu: true, eps: BN_EPS, momentum: BN_MOMENTUM },
    { kind: 'meanPool' },
    { kind: 'dense', name: 'fc', relu: false },
  ],
  forward(ctx, x) {
    let h = tf.relu(batchNorm(ctx, 'bn1', conv(ctx, 'conv1', x, 1, 'same', false)));
    h = tf.maxPool(h, 2, 2, 'same');
    h = tf.relu(batchNorm(ctx, 'bn2', conv(ctx, 'conv2', h, 1, 'same', false)));
    return dense(ctx, 'fc', tf.mean(h, [1, 2]) as Tensor2D);
  },
};

/** The largest error against the float64 reference, relative to |reference| + 1e-3, over every parameter. */
async function bnChainError(native: boolean): Promise<{ weights: number; loss: number }> {
  configureLayerChainTraining(native);
  const start = Object.fromEntries(Object.entries(bnRef.start).map(([k, v]) => [k, Float32Array.from(v)]));
  const net = new Network(bnChain, start);
  const b = bnRef.batch;
  const per = 6 * 6 * 2;
  const cfg: TrainConfig = { epochs: 1, batchSize: b, optimizer: 'sgd', lr: bnRef.lr, seed: 0 };
  const stepper = trainingStepper(net, { ...cfg, momentum: bnRef.momentum, weightDecay: bnRef.weight_decay });
  let loss = 0;
  try {
    for (let k = 0; k < bnRef.losses.length; k++) {
      const x = Float32Array.from(bnRef.x.slice(k * b * per, (k + 1) * b * per));
      stepper.step(x, Int32Array.from(bnRef.y.slice(k * b, (k + 1) * b)), b, bnRef.lr, 1);
      loss = Math.max(loss, Math.abs((await stepper.takeLoss()) - bnRef.losses[k]!));
    }
    stepper.finish();
    const w = net.getWeights();
    let weights = 0;
    for (const [name, ref] of Object.entries(bnRef.after))
      ref.forEach((v, i) => (weights = Math.max(weights, Math.abs(w[name]![i]! - v) / (Math.abs(v) + 1e-3))));
    return { weights, loss };
  } finally {
    net.dispose();
    configureLayerChainTraining(true);
  }
}

test(
  'batch normalisation trains as PyTorch’s (float64) does, to float32 rounding, on every path',
  { skip },
  async () => {
    const native = await bnChainError(true);
    // tfjs's path on blas runs the same kernels as a tfjs op (ml/kernels/batch-norm.ts); on plain wasm, tfjs's moments
    // and its autodiff through them.
    const tfjsOp = await bnChainError(false);
    await initBackend('wasm');
    const composed = await bnChainError(false).finally(() => initBackend('blas'));
    // Measured: native 7.7e-7, the op 1.6e-6, composed on wasm 2.1e-6 (5.2e-6 with blas's kernels before the op);
    // losses within 1.3e-7.
    assert.ok(native.weights < 5e-6, `native path: largest relative error ${native.weights}`);
    assert.ok(tfjsOp.weights < 5e-6, `tfjs's path, the kernel as an op: largest relative error ${tfjsOp.weights}`);
    assert.ok(composed.weights < 3e-5, `tfjs's path, composed: largest relative error ${composed.weights}`);
    for (const r of [native, tfjsOp, composed]) assert.ok(r.loss < 1e-6, `losses: ${r.loss}`);
  },
);

// vgg-small's chain declaration against its forward: one full-batch step of a small batch on small images. One step:
// over several, the two paths' trajectories part where a ReLU or a max-pool decides differently on a value within
// rounding of its boundary (measured: 5e-6 after one step, 2e-3 after three without momentum). A small batch keeps
// the test's meaning where tfjs's path composes batch normalisation from float32 moments (no addon op), whose error
// grows with the rows it sums (128 images of 16×16: the convolutions' updates 2.8e-3 from PyTorch's in float64).
test('vgg-small (BatchNorm) takes the same step on the native path as on tfjs’s, to rounding', { skip }, async () => {
  const data = makeSynthetic({ train: 32, test: 10, inputShape: [8, 8, 3], numClasses: 4, seed: 8 });
  const def = buildArch('vgg-small', data.inputShape, data.numClasses);
  const init = initWeights(def, 3);
  const vgg: Model = { ...mlp, def, init, view: fullView(data, 'train'), half: magnitudeMask(def, init, 0.5, 'layer') };
  const cfg: TrainConfig = { ...base, epochs: 1, batchSize: 32, momentum: 0.9, weightDecay: 5e-4 };
  for (const opts of [{}, { mask: vgg.half }]) {
    const tfjs = await run(false, cfg, opts, vgg);
    const native = await run(true, cfg, opts, vgg);
    assert.deepEqual(Object.keys(native.weights).sort(), Object.keys(tfjs.weights).sort());
    // Each parameter's change (running statistics included) agrees within 1e-4 of its size (measured: ≤ 1.2e-5, the
    // γs' float32 rounding near 1; against PyTorch in float64 both paths err by about that much).
    for (const name of Object.keys(init)) {
      const [a, b, s] = [tfjs.weights[name]!, native.weights[name]!, init[name]!];
      let diff = 0;
      let moved = 0;
      a.forEach((v, i) => {
        diff += (v - b[i]!) ** 2;
        moved += (v - s[i]!) ** 2;
      });
      assert.ok(Math.sqrt(diff) <= 1e-4 * Math.sqrt(moved), `${name}: ${Math.sqrt(diff)} of ${Math.sqrt(moved)}`);
    }
    assert.ok(Math.abs(native.losses[0]! - tfjs.losses[0]!) < 1e-6, 'the step’s loss');
    const [k, t] = [native.checkpoints[0]!, tfjs.checkpoints[0]!];
    assert.deepEqual(Object.keys(k.optimizer.slots).sort(), Object.keys(t.optimizer.slots).sort());
    if ('mask' in opts)
      for (const l of vgg.half.layers)
        assert.ok(
          l.keep.every((keep, i) => keep === 1 || native.weights[l.name]![i] === 0),
          `${l.name}: pruned weights stay zero`,
        );
  }
  const kernels = await kernelsPerRun(true, { ...cfg, epochs: 3 }, {}, vgg);
  assert.ok(kernels < 3, `native path: ${kernels} tfjs kernels for 3 steps`);
});

test('a checkpoint taken on one path resumes on the other, as the uninterrupted run', { skip }, async () => {
  const cfg = { ...base, momentum: 0.9, weightDecay: 1e-4 };
  // LeNet-5 (a convolution first), and the pruned MLP (every layer held compact on the native path).
  for (const m of [lenet, mlp]) {
    const whole = await run(true, cfg, { mask: m.sparse }, m);
    for (const first of [true, false]) {
      const before = await run(first, { ...cfg, stopAfter: 1 }, { mask: m.sparse }, m);
      const after = await run(!first, cfg, { mask: m.sparse, resume: before.checkpoints[0]! }, m);
      assertSameBits(whole.weights, after.weights, `resumed on the ${first ? 'tfjs' : 'native'} path`);
    }
  }
});

/** tfjs kernels run by a training run (and that it leaves no tensors behind). */
async function kernelsPerRun(native: boolean, cfg: TrainConfig, opts: TrainOptions, m: Model = mlp): Promise<number> {
  configureLayerChainTraining(native);
  const net = new Network(m.def, m.init);
  try {
    const before = tf.memory().numTensors;
    const info = await tf.profile(() => trainNetwork(net, m.view, cfg, opts).then(() => tf.scalar(0)));
    tf.dispose(info.result as never);
    assert.equal(tf.memory().numTensors, before, 'tensors after the run');
    return info.kernels.length;
  } finally {
    net.dispose();
    configureLayerChainTraining(true);
  }
}

const steps = base.epochs * Math.ceil(300 / base.batchSize);

test('the native path runs no tfjs kernels per step and leaves no tensors behind', { skip }, async () => {
  for (const m of [mlp, lenet]) {
    const native = await kernelsPerRun(true, base, { mask: m.sparse }, m);
    const tfjs = await kernelsPerRun(false, base, { mask: m.sparse }, m);
    assert.ok(tfjs > 20 * steps, `tfjs path: ${tfjs} kernels for ${steps} steps`);
    // Masking the start, reading the weights out and writing them back: a fixed few, none per step.
    assert.ok(native < steps, `native path: ${native} kernels for ${steps} steps`);
  }
});

test(
  'runs the native path cannot compute exactly take tfjs’s: Adam, a custom loss, gradient multipliers, a companion stream',
  { skip },
  async () => {
    const custom: TrainOptions['loss'] = (logits, labels) =>
      tf.tidy(() => tf.mul(tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 4), logits), 1) as never);
    const forget = { view: fullView(ds, 'test'), labelOffset: 0 };
    for (const [what, cfg, opts] of [
      ['adam', { ...base, optimizer: 'adam', lr: 1e-3 }, { mask: sparse }],
      ['custom loss', base, { mask: sparse, loss: custom }],
      ['gradient multipliers', base, { gradMask: half }],
      ['companion', base, { companion: forget }],
    ] as [string, TrainConfig, TrainOptions][]) {
      const kernels = await kernelsPerRun(true, cfg, opts);
      assert.ok(kernels > 20 * steps, `${what}: ${kernels} kernels for ${steps} steps`);
    }
  },
);

test(
  'batches gathered by the addon’s row copy are the ones JavaScript gathers (the next batch named or not); a row out of range is refused',
  { skip },
  async () => {
    const { gatherBatch, viewOf } = await import('../../ml/data/dataset.js');
    const { nativeRowCopier } = await import('../../ml/kernels/register-wasm-kernels.js');
    const copy = nativeRowCopier();
    assert.ok(copy, 'the blas backend offers a row copier');
    const sub = viewOf(ds, [299, 0, 17, 17, 150]);
    const positions = [4, 2, 0, 3];
    const js = gatherBatch(sub, positions);
    const native = gatherBatch(sub, positions, undefined, copy);
    assert.deepEqual(native.x, js.x);
    assert.deepEqual(native.y, js.y);
    // The next batch's rows are only fetched into cache: the copy is the same, and rows outside src are no error.
    const ahead = gatherBatch(sub, positions, undefined, copy, [1, 0]);
    assert.deepEqual(ahead.x, js.x);
    const out = new Float32Array(2 * 64);
    copy(ds.train, Int32Array.of(3, 1), out, 64, Int32Array.of(-1, ds.train.n, 2));
    assert.deepEqual(out, Float32Array.of(...ds.train.x.subarray(192, 256), ...ds.train.x.subarray(64, 128)));
    assert.throws(() => copy(ds.train, Int32Array.of(0, ds.train.n), new Float32Array(2 * 64), 64), /row out of range/);
  },
);

test(
  'batches decoded by the addon from a split’s pixel codes are the split’s own floats, bit for bit (grey and RGB normalisations, every byte value)',
  { skip },
  async () => {
    const { gatherBatch, NORMALIZATION, splitFromBytes } = await import('../../ml/data/dataset.js');
    const { nativeRowCopier } = await import('../../ml/kernels/register-wasm-kernels.js');
    const { SeededRandom } = await import('../../ml/data/seeded-random.js');
    const copy = nativeRowCopier()!;
    const rng = new SeededRandom(5);
    for (const [name, features] of [
      ['mnist', 784],
      ['cifar10', 3 * 32 * 32],
    ] as const) {
      // Every byte value appears; then random rows, a subset of them chosen.
      const total = 40;
      const pixels = Uint8Array.from({ length: total * features }, (_, i) =>
        i < 256 ? i : Math.floor(rng.next() * 256),
      );
      const labels = Int32Array.from({ length: total }, (_, i) => i % 10);
      const split = splitFromBytes(pixels, labels, features, Int32Array.of(0, 3, 7, 8, 20, 39), NORMALIZATION[name]);
      assert.ok(split.codes, `${name}: splitFromBytes keeps the codes`);
      const view = { split, indices: Int32Array.from({ length: split.n }, (_, i) => i), featureSize: features };
      const positions = [5, 0, 2, 2, 4];
      const decoded = gatherBatch(view, positions, undefined, copy, [1, 3]);
      const rows = positions.map((p) => split.x.subarray(p * features, (p + 1) * features));
      const expected = new Float32Array(positions.length * features);
      rows.forEach((r, b) => expected.set(r, b * features));
      assert.deepEqual(Buffer.from(decoded.x.buffer), Buffer.from(expected.buffer), `${name}: the same bits`);
      assert.deepEqual(
        decoded.y,
        Int32Array.from(positions, (p) => split.y[p]!),
      );
      // Read from the codes, not the floats.
      const blank = { ...view, split: { ...split, x: new Float32Array(split.x.length) } };
      assert.deepEqual(
        Buffer.from(gatherBatch(blank, positions, undefined, copy).x.buffer),
        Buffer.from(expected.buffer),
      );
    }
  },
);

test('the native path times each layer: forward, backward and update by label, and the loss', { skip }, async () => {
  const { layerTimeSoFar, layerSecondsSince } = await import('../../ml/layer-seconds.js');
  const start = layerTimeSoFar();
  await run(true, base, { mask: sparse });
  const layers = layerSecondsSince(start);
  // The MLP: its three dense layers, each multiplied through the 85% mask's pattern.
  const labels = Object.keys(layers).sort();
  assert.deepEqual(
    labels,
    ['fc1 64×300 sparse', 'fc2 300×100 sparse', 'fc3 100×4 sparse', 'loss'].sort(),
    labels.join(),
  );
  for (const l of labels.filter((x) => x !== 'loss')) {
    for (const phase of ['forward', 'backward', 'update'] as const)
      assert.ok(layers[l]![phase]! > 0, `${l} ${phase}: ${layers[l]![phase]}`);
    assert.equal(layers[l]!.inference, undefined);
  }
  assert.ok(layers.loss!.forward! > 0 && layers.loss!.backward! > 0);
  // tfjs's engine adds nothing here.
  const again = layerTimeSoFar();
  await run(false, base, { mask: sparse });
  assert.deepEqual(layerSecondsSince(again), {});
});

test(
  'a stage’s manifest holds its layer chain’s time by layer: training’s phases, evaluation’s inference',
  { skip },
  async () => {
    const { runSweepInProcess } = await import('../helpers/stages.js');
    const run = await runSweepInProcess({
      dataset: { name: 'synthetic', train: 128, test: 32 },
      model: { arch: 'mlp' },
      train: { epochs: 1, batch: 32, lr: 0.05 },
      seeds: [1],
      prune: [{ method: 'omp', sparsity: [0.9] }],
      deletion: [{ kind: 'random', sizes: [0.25] }],
      unlearn: [{ method: 'ft', epochs: 1 }],
      unprune: ['none'],
      evaluate: { miaShadow: 16 },
    });
    const runOf = async (kind: string) => {
      const s = run.plan.stages.find((x) => x.kind === kind)!;
      return (await run.ctx.store.readManifest(s.kind, s.key))!.run as {
        layers?: Record<string, Record<string, number>>;
      };
    };
    const train = (await runOf('train')).layers!;
    assert.ok(train.loss && Object.keys(train).some((l) => /^fc1 \d+×\d+$/.test(l)), Object.keys(train).join());
    for (const phases of Object.values(train)) assert.equal(phases.inference, undefined);
    // Fine-tuning the 90%-pruned net multiplies through the mask's pattern.
    assert.ok(Object.keys((await runOf('unlearn')).layers!).some((l) => l.endsWith(' sparse')));
    const evaluate = (await runOf('evaluate')).layers!;
    assert.ok(
      Object.values(evaluate).some((p) => p.inference! > 0),
      JSON.stringify(evaluate),
    );
    // A stage that trains nothing has none.
    assert.equal((await runOf('forget')).layers, undefined);
  },
);
