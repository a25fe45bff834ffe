// The native OpenBLAS kernels (the `blas` backend) against tfjs's cpu backend, the fused SGD update against the
// op-by-op optimiser, and the fused softmax cross-entropy against its op-by-op form. The addon is built here first (ml/kernels/native/build.mjs, which installs Debian's
// libopenblas-dev when missing), as `npm install` does; on a machine where it cannot be built the tests say why.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import type { Tensor, Tensor1D, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { SeededRandom } from '../../ml/data/seeded-random.js';

execFileSync(process.execPath, ['ml/kernels/native/build.mjs'], { stdio: 'inherit' });
const { availableBackends, initBackend, tf } = await import('../../ml/backend.js');
const { nativeBlasUnavailableReason } = await import('../../ml/kernels/native-blas.js');
const canInstall = process.platform === 'linux' && process.getuid?.() === 0;
const available = (await availableBackends()).includes('blas');
if (canInstall) assert.ok(available, `the native kernels should build here: ${nativeBlasUnavailableReason()}`);
const skip = available ? false : `native kernels unavailable: ${nativeBlasUnavailableReason()}`;

/** Runs `f` on the cpu backend and on blas; returns both results. */
async function onBoth(f: () => Float32Array): Promise<{ ref: Float32Array; got: Float32Array }> {
  await tf.setBackend('cpu');
  const ref = tf.tidy(f);
  await initBackend('blas');
  const before = tf.memory().numTensors;
  const got = tf.tidy(f);
  assert.equal(tf.memory().numTensors, before, 'no tensors leak');
  return { ref, got };
}

function assertClose(ref: Float32Array, got: Float32Array, what: string, tol = 1e-4): void {
  assert.equal(got.length, ref.length, `${what}: length`);
  const scale = Math.max(1e-6, ...Array.from(ref, Math.abs));
  let maxErr = 0;
  for (let i = 0; i < ref.length; i++) maxErr = Math.max(maxErr, Math.abs(ref[i]! - got[i]!));
  assert.ok(maxErr / scale < tol, `${what}: relative error ${maxErr / scale}`);
}

const data = (rng: SeededRandom, n: number) => Float32Array.from({ length: n }, () => rng.normal());

test('native BatchMatMul: every transpose combination, batched and broadcast', { skip }, async () => {
  const rng = new SeededRandom(1);
  for (let t = 0; t < 24; t++) {
    const [m, k, n] = [1 + rng.int(40), 1 + rng.int(40), 1 + rng.int(40)];
    const [ta, tb] = [t % 2 === 1, (t >> 1) % 2 === 1];
    const batch = 1 + rng.int(3);
    const broadcast = t % 3; // 0: same batch, 1: a is [1, …], 2: b is rank 2
    const aShape = [broadcast === 1 ? 1 : batch, ...(ta ? [k, m] : [m, k])];
    const bShape = broadcast === 2 ? (tb ? [n, k] : [k, n]) : [batch, ...(tb ? [n, k] : [k, n])];
    const as = data(
      rng,
      aShape.reduce((x, y) => x * y),
    );
    const bs = data(
      rng,
      bShape.reduce((x, y) => x * y),
    );
    const { ref, got } = await onBoth(
      () => tf.matMul(tf.tensor(as, aShape), tf.tensor(bs, bShape), ta, tb).dataSync() as Float32Array,
    );
    assertClose(ref, got, `case ${JSON.stringify({ aShape, bShape, ta, tb })}`);
  }
});

test('native Conv2D and both gradients match cpu on random shapes, strides and paddings', { skip }, async () => {
  const rng = new SeededRandom(2);
  const pads = ['same', 'valid', 0, 1, 2] as const;
  let cases = 0;
  let direct = 0; // few input channels at stride 1: the direct (no-im2col) kernels
  for (let t = 0; t < 40; t++) {
    const [n, h, w, c] = [1 + rng.int(3), 5 + rng.int(12), 5 + rng.int(12), 1 + rng.int(5)];
    // Up to 12 output channels: the direct kernels work in blocks of 8.
    const [fh, fw, co, stride] = [1 + rng.int(5), 1 + rng.int(5), 1 + rng.int(12), 1 + rng.int(3)];
    const pad = pads[rng.int(pads.length)]!;
    const filterShape = [fh, fw, c, co] as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo([n, h, w, c], filterShape, stride, 1, pad);
    if (info.outHeight < 1 || info.outWidth < 1) continue;
    const xs = data(rng, n * h * w * c);
    const fs = data(rng, fh * fw * c * co);
    const ws = data(rng, info.outHeight * info.outWidth * co * n);
    const what = JSON.stringify({ n, h, w, c, fh, fw, co, stride, pad });
    // y = conv(x, f); loss = Σ y·r (r random) gives dy = r, so both gradient kernels see a dense dy.
    const run = (part: 'y' | 'dx' | 'df') => () => {
      const x = tf.tensor4d(xs, [n, h, w, c]);
      const f = tf.tensor4d(fs, filterShape);
      const r = tf.tensor4d(ws, [n, info.outHeight, info.outWidth, co]);
      const loss = (xx: Tensor, ff: Tensor) =>
        tf.sum(tf.mul(tf.conv2d(xx as Tensor4D, ff as Tensor4D, stride, pad), r));
      if (part === 'y') return tf.conv2d(x, f, stride, pad).dataSync() as Float32Array;
      const [dx, df] = tf.grads(loss)([x, f]);
      return (part === 'dx' ? dx! : df!).dataSync() as Float32Array;
    };
    for (const part of ['y', 'dx', 'df'] as const) {
      const { ref, got } = await onBoth(run(part));
      assertClose(ref, got, `${part} ${what}`);
    }
    cases++;
    if (c <= 4 && stride === 1) direct++;
  }
  assert.ok(cases >= 25 && direct >= 6, `ran ${cases} cases, ${direct} direct`);
});

test(
  'the kernels split across threads: partitioned outputs bit for bit as on one thread, filter gradients within rounding, all as cpu',
  { skip },
  async () => {
    const { loadNativeBlas } = await import('../../ml/kernels/native-blas.js');
    const addon = loadNativeBlas()!;
    const rng = new SeededRandom(12);
    /** f on blas with 1 and with 3 threads (an odd split: uneven parts), and on cpu. */
    const threeWays = async (f: () => Float32Array) => {
      const { ref, got: one } = await onBoth(f);
      addon.setThreads(3);
      try {
        const before = tf.memory().numTensors;
        const split = tf.tidy(f);
        assert.equal(tf.memory().numTensors, before, 'no tensors leak');
        return { ref, one, split };
      } finally {
        addon.setThreads(1);
      }
    };
    // Products above the split threshold (2M multiply-adds): tall (split by rows), wide (by columns), a batch.
    for (const [batch, m, k, n] of [
      [1, 260, 784, 300],
      [1, 20, 300, 1000],
      [3, 64, 256, 128],
    ] as const) {
      for (const [ta, tb] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        const aShape = [batch, ...(ta ? [k, m] : [m, k])];
        const bShape = [batch, ...(tb ? [n, k] : [k, n])];
        const as = data(rng, batch * m * k);
        const bs = data(rng, batch * k * n);
        const { ref, one, split } = await threeWays(
          () => tf.matMul(tf.tensor(as, aShape), tf.tensor(bs, bShape), ta, tb).dataSync() as Float32Array,
        );
        const what = JSON.stringify({ batch, m, k, n, ta, tb });
        assert.deepEqual(split, one, `matmul ${what}: the same bits on 3 threads`);
        assertClose(ref, split, `matmul ${what}`);
      }
    }
    // More threads than before: the pool starts another helper, which must wait for the next split, not rerun the last.
    const as = data(rng, 300 * 500);
    const bs = data(rng, 500 * 200);
    const product = () => tf.matMul(tf.tensor(as, [300, 500]), tf.tensor(bs, [500, 200])).dataSync() as Float32Array;
    const once = tf.tidy(product);
    addon.setThreads(4);
    try {
      assert.deepEqual(tf.tidy(product), once, 'a product on 4 threads after 3: the same bits');
    } finally {
      addon.setThreads(1);
    }
    // LeNet-5's two convolutions (the direct kernel, im2col), a pointwise one, and a strided padded one.
    for (const [n, h, c, fh, co, stride, pad] of [
      [24, 28, 1, 5, 6, 1, 'valid'],
      [24, 12, 6, 5, 16, 1, 'valid'],
      [8, 16, 32, 1, 16, 1, 'valid'],
      [8, 17, 8, 3, 24, 2, 'same'],
    ] as const) {
      const filterShape = [fh, fh, c, co] as [number, number, number, number];
      const info = tf.backend_util.computeConv2DInfo([n, h, h, c], filterShape, stride, 1, pad);
      const xs = data(rng, n * h * h * c);
      const fs = data(rng, fh * fh * c * co);
      const rs = data(rng, n * info.outHeight * info.outWidth * co);
      const what = JSON.stringify({ n, h, c, fh, co, stride, pad });
      const run = (part: 'y' | 'dx' | 'df') => () => {
        const x = tf.tensor4d(xs, [n, h, h, c]);
        const f = tf.tensor4d(fs, filterShape);
        const r = tf.tensor4d(rs, [n, info.outHeight, info.outWidth, co]);
        if (part === 'y') return tf.conv2d(x, f, stride, pad).dataSync() as Float32Array;
        const loss = (xx: Tensor, ff: Tensor) =>
          tf.sum(tf.mul(tf.conv2d(xx as Tensor4D, ff as Tensor4D, stride, pad), r));
        const [dx, df] = tf.grads(loss)([x, f]);
        return (part === 'dx' ? dx! : df!).dataSync() as Float32Array;
      };
      for (const part of ['y', 'dx', 'df'] as const) {
        const { ref, one, split } = await threeWays(run(part));
        if (part === 'df') assertClose(one, split, `${part} ${what}: 3 threads against 1`, 1e-5);
        else assert.deepEqual(split, one, `${part} ${what}: the same bits on 3 threads`);
        assertClose(ref, split, `${part} ${what}`);
      }
    }
    // Max-pool gradient over LeNet-5's first pooling: exact.
    const xs = data(rng, 24 * 24 * 24 * 6);
    const pooled = await threeWays(
      () =>
        tf
          .grad((x: Tensor) => tf.sum(tf.maxPool(x as Tensor4D, 2, 2, 'valid')))(tf.tensor4d(xs, [24, 24, 24, 6]))
          .dataSync() as Float32Array,
    );
    assert.deepEqual(pooled.split, pooled.one, 'max-pool gradient: the same bits on 3 threads');
    assert.deepEqual(pooled.split, pooled.ref, 'max-pool gradient: as cpu');
  },
);

test(
  'native bias Add, and Sum and Mean over the batch axes, match cpu; other broadcasts and reductions fall back',
  { skip },
  async () => {
    const rng = new SeededRandom(6);
    for (const shape of [
      [5, 7],
      [2, 3, 4, 6],
      [1, 1, 1, 3],
      [4, 0, 2],
    ]) {
      const c = shape.at(-1)!;
      const xs = data(
        rng,
        shape.reduce((p, q) => p * q, 1),
      );
      const bs = data(rng, c);
      for (const biasFirst of [false, true]) {
        const { ref, got } = await onBoth(() => {
          const x = tf.tensor(xs, shape);
          const b = tf.tensor1d(bs);
          return (biasFirst ? tf.add(b, x) : tf.add(x, b)).dataSync() as Float32Array;
        });
        assert.deepEqual(Array.from(got), Array.from(ref), `add ${shape} bias first: ${biasFirst}`);
      }
      for (const keepDims of [false, true]) {
        const axes = shape.slice(0, -1).map((_, i) => (i % 2 ? i - shape.length : i)); // some negative
        const { ref, got } = await onBoth(
          () => tf.sum(tf.tensor(xs, shape), axes, keepDims).dataSync() as Float32Array,
        );
        assertClose(ref, got, `sum ${shape} over ${axes} keepDims ${keepDims}`, 1e-5);
        const means = await onBoth(() => tf.mean(tf.tensor(xs, shape), axes, keepDims).dataSync() as Float32Array);
        assertClose(means.ref, means.got, `mean ${shape} over ${axes} keepDims ${keepDims}`, 1e-5);
      }
    }
    // Not bias-shaped: row broadcast, equal shapes, a reduction over the last axis, and int32.
    const xs = data(rng, 24);
    const cases: (() => Float32Array | Int32Array)[] = [
      () => tf.add(tf.tensor(xs, [4, 6]), tf.tensor(xs.slice(0, 4), [4, 1])).dataSync() as Float32Array,
      () => tf.add(tf.tensor(xs, [4, 6]), tf.tensor(xs, [4, 6])).dataSync() as Float32Array,
      () => tf.sum(tf.tensor(xs, [2, 3, 4]), [1, 2]).dataSync() as Float32Array,
      () => tf.sum(tf.tensor(xs, [4, 6]), 1).dataSync() as Float32Array,
      () => tf.mean(tf.tensor(xs, [2, 3, 4]), [1, 2]).dataSync() as Float32Array,
      () => tf.add(tf.tensor([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor1d([5, 6], 'int32')).dataSync() as Int32Array,
    ];
    for (const [i, f] of cases.entries()) {
      const { ref, got } = await onBoth(f as () => Float32Array);
      assertClose(Float32Array.from(ref), Float32Array.from(got), `fallback case ${i}`, 1e-5);
    }
  },
);

test('native MaxPoolGrad equals cpu exactly, ties (ReLU zeros) and padding included', { skip }, async () => {
  const rng = new SeededRandom(3);
  for (let t = 0; t < 20; t++) {
    const [n, h, w, c] = [1 + rng.int(3), 4 + rng.int(10), 4 + rng.int(10), 1 + rng.int(4)];
    const [size, stride] = [2 + rng.int(2), 1 + rng.int(2)];
    const pad = rng.int(2) ? 'same' : 'valid';
    const xs = Float32Array.from({ length: n * h * w * c }, () => Math.max(0, rng.normal()));
    const { ref, got } = await onBoth(() => {
      const x = tf.tensor4d(xs, [n, h, w, c]);
      return tf
        .grad((xx: Tensor) => tf.sum(tf.mul(tf.maxPool(xx as Tensor4D, size, stride, pad), 1.5)))(x)
        .dataSync() as Float32Array;
    });
    assert.deepEqual(Array.from(got), Array.from(ref), `case ${t}`);
  }
});

test(
  'the fused SGD kernel gives bit-identical weights to the op-by-op optimiser (mask, momentum, decay)',
  {
    skip,
  },
  async () => {
    const { MaskedOptimizer } = await import('../../ml/optimizers.js');
    const rng = new SeededRandom(4);
    const w0 = data(rng, 500);
    const keep = Float32Array.from({ length: 500 }, () => (rng.next() < 0.3 ? 0 : 1));
    const grads = Array.from({ length: 4 }, () => data(rng, 500));
    for (const cfg of [
      { momentum: 0.9, nesterov: false, weightDecay: 0 },
      { momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
      { momentum: 0, nesterov: false, weightDecay: 1e-3 },
    ]) {
      const run = async (backend: 'wasm' | 'blas') => {
        await initBackend(backend);
        const v = tf.variable(tf.tensor1d(w0), true, `w-${backend}`);
        const mask = tf.tensor1d(keep);
        const opt = new MaskedOptimizer({ optimizer: 'sgd', lr: 0.05, ...cfg }, new Map([['w', mask]]));
        for (const g of grads) tf.tidy(() => opt.step(new Map([['w', v]]), { w: tf.tensor1d(g) }, 0.05));
        const out = v.dataSync() as Float32Array;
        const slots = opt.exportState().slots.w?.[0];
        opt.dispose();
        v.dispose();
        mask.dispose();
        return { out: Array.from(out), slots: slots ? Array.from(slots) : [] };
      };
      const ops = await run('wasm');
      const fused = await run('blas');
      assert.ok(tf.getKernel('UnpruneSgdStep', 'wasm'), 'blas registers the fused kernel');
      assert.deepEqual(fused, ops, JSON.stringify(cfg));
      assert.ok(
        ops.out.every((x, i) => keep[i] === 1 || x === 0),
        'pruned weights stay exactly zero',
      );
    }
    await initBackend('wasm');
    assert.equal(tf.getKernel('UnpruneSgdStep', 'wasm'), undefined, 'switching back to wasm removes it');
  },
);

test(
  "the SGD kernel in place (the layer chain's update) writes the same bits as into new arrays",
  { skip },
  async () => {
    const { loadNativeBlas } = await import('../../ml/kernels/native-blas.js');
    const addon = loadNativeBlas()!;
    const rng = new SeededRandom(6);
    const n = 1003; // not a multiple of any vector width
    const keep = Float32Array.from({ length: n }, () => (rng.next() < 0.3 ? 0 : 1));
    for (const [momentum, nesterov, decay, masked] of [
      [0.9, false, 0, true],
      [0.9, false, 5e-4, false],
      [0.9, true, 1e-3, true],
      [0, false, 1e-3, true],
    ] as const) {
      const mask = masked ? keep : null;
      const w = data(rng, n);
      const grads = Array.from({ length: 3 }, () => data(rng, n));
      // Into new arrays each step (tfjs's kernel) …
      let a = w.slice();
      let buf: Float32Array | null = momentum ? new Float32Array(n) : null;
      // … and over the same two arrays.
      const b = w.slice();
      const bBuf = momentum ? new Float32Array(n) : null;
      grads.forEach((g, t) => {
        const outW = new Float32Array(n);
        const outBuf = momentum ? new Float32Array(n) : null;
        addon.sgdStep(a, g, t === 0 ? null : buf, mask, outW, outBuf, 0.05, momentum, t === 0, nesterov, decay);
        [a, buf] = [outW, outBuf];
        addon.sgdStep(b, g, bBuf, mask, b, bBuf, 0.05, momentum, t === 0, nesterov, decay);
      });
      const what = JSON.stringify({ momentum, nesterov, decay, masked });
      assert.deepEqual(Array.from(b), Array.from(a), what);
      if (momentum) assert.deepEqual(Array.from(bBuf!), Array.from(buf!), `${what}: momentum`);
    }
    // Outputs overlapping the inputs any other way are refused, not computed wrongly.
    const w = data(rng, n);
    const g = data(rng, n);
    const m = data(rng, n);
    assert.throws(() => addon.sgdStep(w, g, m, null, w, new Float32Array(n), 0.05, 0.9, false, false, 0), /in place/);
    assert.throws(() => addon.sgdStep(w, g, m, null, g, m, 0.05, 0.9, false, false, 0), /in place/);
  },
);

test('a LeNet-5 training step on blas: no tensor growth, deterministic, close to wasm', { skip }, async () => {
  const { buildArch } = await import('../../ml/models/architectures.js');
  const { initWeights } = await import('../../ml/models/init-weights.js');
  const { Network } = await import('../../ml/models/network.js');
  const { MaskedOptimizer } = await import('../../ml/optimizers.js');
  const { crossEntropy, trainStep } = await import('../../ml/train.js');
  const rng = new SeededRandom(5);
  const xs = data(rng, 16 * 28 * 28);
  const ys = Int32Array.from({ length: 16 }, (_, i) => i % 10);
  const train = async (backend: 'wasm' | 'blas') => {
    await initBackend(backend);
    const def = buildArch('lenet5', [28, 28, 1], 10);
    const net = new Network(def, initWeights(def, 0));
    const opt = new MaskedOptimizer({ optimizer: 'sgd', lr: 0.05, momentum: 0.9 });
    const x = tf.tensor4d(xs, [16, 28, 28, 1]);
    const y = tf.tensor1d(ys, 'int32');
    const losses: number[] = [];
    trainStep(net, opt, x, y, 0.05, crossEntropy).dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const l = trainStep(net, opt, x, y, 0.05, crossEntropy);
      losses.push(l.dataSync()[0]!);
      l.dispose();
    }
    assert.equal(tf.memory().numTensors, before, `${backend}: tensor count stable across steps`);
    const w = Array.from(net.variable('conv1.w').dataSync());
    opt.dispose();
    net.dispose();
    x.dispose();
    y.dispose();
    return { losses, w };
  };
  const a = await train('blas');
  const b = await train('blas');
  assert.deepEqual(a, b, 'seeded training on blas is deterministic');
  const wasm = await train('wasm');
  a.losses.forEach((l, i) => assert.ok(Math.abs(l - wasm.losses[i]!) < 1e-3, `loss ${l} vs wasm ${wasm.losses[i]}`));
});

test(
  'fused softmax cross-entropy: the loss and its gradient equal the op-by-op form (a label out of range too)',
  { skip },
  async () => {
    const { fusedCrossEntropy } = await import('../../ml/kernels/softmax-cross-entropy.js');
    const rng = new SeededRandom(11);
    for (const [b, c] of [
      [1, 10],
      [128, 10],
      [37, 3],
    ] as const) {
      const z = Float32Array.from({ length: b * c }, () => 4 * rng.normal());
      const y = Int32Array.from({ length: b }, () => rng.int(c));
      if (b > 1) y[1] = c + 2; // as NegGrad+ tags its forget examples: an all-zero one-hot row
      const opByOp = (logits: Tensor, labels: Tensor) =>
        tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels as Tensor1D, c), tf.logSoftmax(logits)), 1)));
      await tf.setBackend('cpu');
      const [refLoss, refGrad] = tf.tidy(() => {
        const labels = tf.tensor1d(y, 'int32');
        const g = tf.grad((l: Tensor) => tf.mul(opByOp(l, labels), 3))(tf.tensor2d(z, [b, c]));
        return [opByOp(tf.tensor2d(z, [b, c]), labels).dataSync(), g.dataSync()];
      });
      await initBackend('blas');
      const before = tf.memory().numTensors;
      const [loss, grad] = tf.tidy(() => {
        const labels = tf.tensor1d(y, 'int32');
        const f = (l: Tensor) => tf.mul(fusedCrossEntropy(l as Tensor2D, labels), 3);
        const g = tf.grad(f)(tf.tensor2d(z, [b, c]));
        return [fusedCrossEntropy(tf.tensor2d(z, [b, c]), labels).dataSync(), g.dataSync()];
      });
      assert.equal(tf.memory().numTensors, before, 'no tensors leak');
      assertClose(refLoss as Float32Array, loss as Float32Array, `${b}×${c}: loss`, 1e-5);
      assertClose(refGrad as Float32Array, grad as Float32Array, `${b}×${c}: gradient`, 1e-5);
    }
  },
);

test(
  "reluGrad equals tfjs's ReLU gradient bit for bit: zeros, −0, NaN, every vector tail, in place",
  { skip },
  async () => {
    const { loadNativeBlas } = await import('../../ml/kernels/native-blas.js');
    const addon = loadNativeBlas()!;
    const rng = new SeededRandom(12);
    await tf.setBackend('cpu');
    for (const len of [1, 7, 8, 9, 16, 37, 300]) {
      const x = data(rng, len);
      x[0] = 0;
      if (len > 2) x[2] = -0;
      if (len > 5) x[5] = NaN;
      const dy = data(rng, len);
      const [ref, y] = tf.tidy(() => {
        const g = tf.grad((t: Tensor) => tf.sum(tf.mul(tf.relu(t), tf.tensor1d(dy))))(tf.tensor1d(x));
        return [g.dataSync() as Float32Array, tf.relu(tf.tensor1d(x)).dataSync() as Float32Array];
      });
      const dx = new Float32Array(len);
      addon.reluGrad(dy, y, dx, Int32Array.of(len));
      assert.deepEqual(Array.from(dx), Array.from(ref), `length ${len}`);
      const inPlace = dy.slice();
      addon.reluGrad(inPlace, y, inPlace, Int32Array.of(len));
      assert.deepEqual(Array.from(inPlace), Array.from(ref), `length ${len}, in place`);
    }
  },
);
