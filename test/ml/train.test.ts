import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../../ml/backend.js';
import { fullView } from '../../ml/data/dataset.js';
import { makeSynthetic } from '../../ml/data/synthetic.js';
import { evaluate } from '../../ml/metrics/accuracy.js';
import { randomMask } from '../../ml/prune/random-pruning.js';
import { MaskedOptimizer } from '../../ml/optimizers.js';
import {
  crossEntropy,
  learningRate,
  trainNetwork,
  trainStep,
  TrainingCancelledError,
  type TrainConfig,
} from '../../ml/train.js';
import { makeNet, useBackend } from '../helpers/ml.js';

await useBackend();
const ds = makeSynthetic({ train: 256, test: 64, inputShape: [8, 8, 1], numClasses: 4, seed: 1 });
const cfg: TrainConfig = {
  epochs: 2,
  batchSize: 32,
  optimizer: 'sgd',
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 5e-4,
  seed: 3,
};

test('a mask keeps pruned weights exactly zero throughout training (SGD and Adam)', async () => {
  for (const optimizer of ['sgd', 'adam'] as const) {
    const { def, net } = makeNet('mlp', ds.inputShape, 4);
    const mask = randomMask(def, 0.7, 1);
    let checks = 0;
    await trainNetwork(
      net,
      fullView(ds, 'train'),
      { ...cfg, optimizer, lr: optimizer === 'adam' ? 1e-3 : 0.05 },
      {
        mask,
        hooks: {
          progressEvery: 1,
          onProgress: () => {
            const w = net.getWeights();
            for (const l of mask.layers) {
              const values = w[l.name]!;
              for (let i = 0; i < values.length; i++)
                if (!l.keep[i]) assert.ok(values[i] === 0, `${l.name}[${i}] = ${values[i]}`);
            }
            checks++;
          },
        },
      },
    );
    assert.equal(checks, 16);
    net.dispose();
  }
});

test('training is deterministic for a seed on a backend, and different seeds differ', async () => {
  const run = async (seed: number) => {
    const { net } = makeNet('mlp', ds.inputShape, 4, 5);
    await trainNetwork(net, fullView(ds, 'train'), { ...cfg, seed });
    const w = net.getWeights();
    net.dispose();
    return w;
  };
  const a = await run(1);
  const b = await run(1);
  const c = await run(2);
  for (const k of Object.keys(a)) assert.deepEqual(a[k], b[k]);
  assert.notDeepEqual(a['fc1.w'], c['fc1.w']);
});

test('no tensor leaks across training steps', async () => {
  for (const arch of ['mlp', 'lenet5', 'vgg-small', 'resnet8'] as const) {
    const shape: [number, number, number] = arch === 'mlp' ? [8, 8, 1] : [16, 16, 3];
    const { net } = makeNet(arch, shape, 4);
    const opt = new MaskedOptimizer({ optimizer: 'sgd', lr: 0.01, momentum: 0.9 });
    const x = tf.randomNormal([8, ...shape]);
    const y = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32');
    trainStep(net, opt, x, y, 0.01, crossEntropy).dispose(); // creates the optimiser's slots
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) trainStep(net, opt, x, y, 0.01, crossEntropy).dispose();
    assert.equal(tf.memory().numTensors, before, `${arch}: tensors grew across steps`);
    opt.dispose();
    x.dispose();
    y.dispose();
    net.dispose();
  }
  const start = tf.memory().numTensors;
  const { net } = makeNet('mlp', ds.inputShape, 4);
  await trainNetwork(net, fullView(ds, 'train'), cfg);
  net.dispose();
  assert.equal(tf.memory().numTensors, start, 'a whole training run leaves nothing behind');
});

test('progress is reported every N batches and at epoch ends; training learns', async () => {
  const { net } = makeNet('mlp', ds.inputShape, 4);
  const seen: { epoch: number; batch: number; epochEnd: boolean }[] = [];
  const summary = await trainNetwork(net, fullView(ds, 'train'), cfg, {
    hooks: {
      progressEvery: 3,
      onProgress: (p) => void seen.push({ epoch: p.epoch, batch: p.batch, epochEnd: p.epochEnd }),
    },
  });
  assert.deepEqual(
    seen.map((s) => `${s.epoch}:${s.batch}${s.epochEnd ? '!' : ''}`),
    ['1:3', '1:6', '1:8!', '2:3', '2:6', '2:8!'],
  );
  assert.equal(summary.examples, 512);
  assert.ok(summary.epochLosses[1]! < summary.epochLosses[0]!);
  assert.ok(evaluate(net, fullView(ds, 'test')).accuracy > 90);
  net.dispose();
});

test('a cancellation signal stops training at the next batch', async () => {
  const { net } = makeNet('mlp', ds.inputShape, 4);
  const ac = new AbortController();
  let reports = 0;
  await assert.rejects(
    trainNetwork(net, fullView(ds, 'train'), cfg, {
      hooks: { signal: ac.signal, progressEvery: 1, onProgress: () => void (++reports === 2 && ac.abort()) },
    }),
    TrainingCancelledError,
  );
  assert.equal(reports, 2);
  net.dispose();
});

test('learning-rate schedules', () => {
  const base: TrainConfig = { ...cfg, lr: 0.1, epochs: 10 };
  assert.equal(learningRate({ ...base, schedule: { kind: 'constant' } }, 7), 0.1);
  assert.equal(learningRate({ ...base, schedule: { kind: 'cosine' } }, 0), 0.1);
  assert.ok(Math.abs(learningRate({ ...base, schedule: { kind: 'cosine' } }, 5) - 0.05) < 1e-12);
});

test('SGD with momentum and weight decay follows PyTorch’s update rule', () => {
  const v = tf.variable(tf.tensor1d([1, -2]));
  const opt = new MaskedOptimizer({ optimizer: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
  const vars = new Map([['w', v]]);
  const g = tf.tensor1d([0.5, 0.5]);
  opt.step(vars, { w: g }, 0.1);
  // d = g + wd·w = [0.51, 0.48]; buf = d; w -= 0.1·buf
  let w = v.dataSync();
  assert.ok(Math.abs(w[0]! - (1 - 0.051)) < 1e-6 && Math.abs(w[1]! - (-2 - 0.048)) < 1e-6);
  opt.step(vars, { w: g }, 0.1);
  // d2 = g + wd·w1; buf = 0.9·buf + d2
  const d2 = [0.5 + 0.01 * (1 - 0.051), 0.5 + 0.01 * (-2 - 0.048)];
  const buf = [0.9 * 0.51 + d2[0]!, 0.9 * 0.48 + d2[1]!];
  w = v.dataSync();
  assert.ok(Math.abs(w[0]! - (1 - 0.051 - 0.1 * buf[0]!)) < 1e-6);
  assert.ok(Math.abs(w[1]! - (-2 - 0.048 - 0.1 * buf[1]!)) < 1e-6);
  opt.dispose();
  v.dispose();
  g.dispose();
});

test('the batch order of D_r is the batch order of D with the deleted examples left out', async () => {
  const { epochOrder } = await import('../../ml/train.js');
  const { without } = await import('../../ml/data/dataset.js');
  const d = fullView(ds, 'train');
  const dr = without(d, [5, 17, 100, 200]);
  const orderD = Array.from(epochOrder(d, 7, 2), (p) => d.indices[p]!);
  const orderR = Array.from(epochOrder(dr, 7, 2), (p) => dr.indices[p]!);
  assert.deepEqual(
    orderR,
    orderD.filter((i) => ![5, 17, 100, 200].includes(i)),
  );
  assert.notDeepEqual(Array.from(epochOrder(d, 7, 3)), Array.from(epochOrder(d, 7, 2)));
});

test('a truncated run (stopAfter) is the first epochs of the full run bit for bit, its cosine schedule not rescaled', async () => {
  const { truncatedRetrainEstimate } = await import('../../ml/unprune/estimators.js');
  const { viewOf } = await import('../../ml/data/dataset.js');
  const { Network } = await import('../../ml/models/network.js');
  const ds = makeSynthetic({ train: 96, test: 8, inputShape: [4, 4, 1], numClasses: 3, seed: 2 });
  const full: TrainConfig = { ...cfg, epochs: 3, batchSize: 16, lr: 0.1, seed: 4, schedule: { kind: 'cosine' } };
  const { def, init, net } = makeNet('mlp', ds.inputShape, 3);
  const after: Record<number, Record<string, Float32Array>> = {};
  await trainNetwork(net, fullView(ds, 'train'), full, {
    onEpochEnd: (e, checkpoint) => void (after[e] = checkpoint().weights),
  });
  net.dispose();
  const truncated = new Network(def, init);
  await trainNetwork(truncated, fullView(ds, 'train'), { ...full, stopAfter: 2 });
  assert.deepEqual(truncated.getWeights(), after[2], 'stopAfter 2 = epoch 2 of the 3-epoch run');
  truncated.dispose();
  const rescaled = new Network(def, init);
  await trainNetwork(rescaled, fullView(ds, 'train'), { ...full, epochs: 2 });
  assert.notDeepEqual(rescaled.getWeights(), after[2], 'a 2-epoch cosine run is a different run');
  rescaled.dispose();
  const estimate = await truncatedRetrainEstimate({
    def,
    init,
    dense: init,
    retain: fullView(ds, 'train'),
    forget: viewOf(ds, [0]),
    train: full,
  });
  assert.deepEqual(estimate, after[2], 'the retrain estimator stops the gold run early');
});

test('Adam (with L2 weight decay) equals PyTorch step for step: five full-batch steps against torch.optim.Adam', async () => {
  const { readFileSync } = await import('node:fs');
  const { mlp } = await import('../../ml/models/architectures.js');
  const { Network } = await import('../../ml/models/network.js');
  const { crossEntropy, trainStep } = await import('../../ml/train.js');
  // test/fixtures/adam-reference.json, written by test/fixtures/adam-reference.py (Debian's PyTorch).
  const ref = JSON.parse(readFileSync(new URL('../fixtures/adam-reference.json', import.meta.url), 'utf8')) as {
    lr: number;
    weight_decay: number;
    steps: number;
    x: number[][];
    y: number[];
    w0: number[][];
    b0: number[];
    w: number[][];
    b: number[];
    losses: number[];
  };
  const def = mlp([1, 1, 3], 2, []);
  const transpose = (w: number[][]) => Float32Array.from({ length: 6 }, (_, t) => w[t % 2]![Math.floor(t / 2)]!);
  const net = new Network(def, { 'fc1.w': transpose(ref.w0), 'fc1.b': Float32Array.from(ref.b0) });
  const opt = new MaskedOptimizer({ optimizer: 'adam', lr: ref.lr, weightDecay: ref.weight_decay });
  const losses: number[] = [];
  for (let s = 0; s < ref.steps; s++) {
    const loss = tf.tidy(() =>
      trainStep(net, opt, tf.tensor4d(ref.x.flat(), [8, 1, 1, 3]), tf.tensor1d(ref.y, 'int32'), ref.lr, (l, y) =>
        crossEntropy(l, y),
      ),
    );
    losses.push(loss.dataSync()[0]!);
    loss.dispose();
  }
  const w = net.getWeights();
  transpose(ref.w).forEach((e, i) =>
    assert.ok(Math.abs(w['fc1.w']![i]! - e) < 1e-5, `w[${i}] ${w['fc1.w']![i]} vs ${e}`),
  );
  ref.b.forEach((e, i) => assert.ok(Math.abs(w['fc1.b']![i]! - e) < 1e-5, `b[${i}]`));
  ref.losses.forEach((e, i) => assert.ok(Math.abs(losses[i]! - e) < 1e-5, `loss ${i}: ${losses[i]} vs ${e}`));
  opt.dispose();
  net.dispose();
});

test('crop-flip augmentation, by hand: a shift with zero fill and a mirror, seeded; training with it stays deterministic', async () => {
  const { cropFlip } = await import('../../ml/train.js');
  const { SeededRandom } = await import('../../ml/data/seeded-random.js');
  const [h, w] = [5, 6];
  const src = Float32Array.from({ length: h * w }, (_, i) => i + 1);
  const x = src.slice();
  cropFlip(x, 1, h, w, 1, 42);
  const rng = new SeededRandom(42); // the same draws: dy, dx, flip
  const dy = rng.int(9) - 4;
  const dx = rng.int(9) - 4;
  const flip = rng.int(2) === 1;
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++) {
      const si = i + dy;
      const sj = j + dx;
      const expected = si >= 0 && si < h && sj >= 0 && sj < w ? src[si * w + (flip ? w - 1 - sj : sj)]! : 0;
      assert.equal(x[i * w + j], expected, `(${i}, ${j}) with shift (${dy}, ${dx}) flip ${flip}`);
    }
  const ds = makeSynthetic({ train: 32, test: 4, inputShape: [4, 4, 1], numClasses: 2, seed: 3 });
  const cfgA: TrainConfig = { ...cfg, epochs: 1, augment: 'crop-flip' };
  const run = async () => {
    const { net } = makeNet('mlp', ds.inputShape, 2);
    await trainNetwork(net, fullView(ds, 'train'), cfgA);
    const out = net.getWeights();
    net.dispose();
    return out;
  };
  assert.deepEqual(await run(), await run(), 'deterministic');
});
