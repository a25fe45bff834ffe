// The project's wasm kernels (Conv2DBackpropFilter, Conv2DBackpropInput, MaxPoolGrad, Tile, Identity and Cast) against
// tfjs's cpu backend, and the Sum and Mean gradients against tfjs's own formula.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { availableBackends, initBackend, tf } from '../../ml/backend.js';
import { SeededRandom } from '../../ml/data/seeded-random.js';

function runKernel(
  xs: Float32Array,
  xShape: number[],
  dys: Float32Array,
  dyShape: number[],
  attrs: object,
): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor(xs, xShape);
    const dy = tf.tensor(dys, dyShape);
    return (
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as never) as tf.Tensor
    ).dataSync() as Float32Array;
  });
}

test('wasm Conv2DBackpropFilter matches the cpu backend (max relative error < 1e-4)', async () => {
  await initBackend('wasm');
  const rng = new SeededRandom(42);
  const pads = ['same', 'valid', 0, 1, 2] as const;
  let cases = 0;
  for (let t = 0; t < 30; t++) {
    const n = 1 + rng.int(3);
    const h = 5 + rng.int(12);
    const w = 5 + rng.int(12);
    const c = 1 + rng.int(5);
    const fh = 1 + rng.int(5);
    const fw = 1 + rng.int(5);
    const co = 1 + rng.int(6);
    const stride = 1 + rng.int(3);
    const pad = pads[rng.int(pads.length)]!;
    if (pad === 'valid' && (fh > h || fw > w)) continue;
    const filterShape = [fh, fw, c, co] as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo([n, h, w, c], filterShape, stride, 1, pad);
    if (info.outHeight < 1 || info.outWidth < 1) continue;
    const xs = Float32Array.from({ length: n * h * w * c }, () => rng.normal());
    const dyShape = [n, info.outHeight, info.outWidth, co];
    const dys = Float32Array.from({ length: dyShape.reduce((a, b) => a * b) }, () => rng.normal());
    const attrs = { strides: stride, pad, dataFormat: 'NHWC', filterShape };
    await tf.setBackend('cpu');
    const ref = runKernel(xs, [n, h, w, c], dys, dyShape, attrs);
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const got = runKernel(xs, [n, h, w, c], dys, dyShape, attrs);
    assert.equal(tf.memory().numTensors, before, 'kernel leaks no tensors');
    const scale = Math.max(1e-6, ...Array.from(ref, Math.abs));
    let maxErr = 0;
    for (let i = 0; i < ref.length; i++) maxErr = Math.max(maxErr, Math.abs(ref[i]! - got[i]!));
    assert.ok(
      maxErr / scale < 1e-4,
      `case ${JSON.stringify({ n, h, w, c, fh, fw, co, stride, pad })}: rel err ${maxErr / scale}`,
    );
    cases++;
  }
  assert.ok(cases >= 20, `ran ${cases} cases`);
});

test('conv2d gradients on wasm equal cpu through tf.grad (the path training uses)', async () => {
  const rng = new SeededRandom(7);
  const xs = Float32Array.from({ length: 2 * 12 * 12 * 3 }, () => rng.normal());
  const fs = Float32Array.from({ length: 3 * 3 * 3 * 4 }, () => rng.normal());
  const gradOn = async (backend: string) => {
    await tf.setBackend(backend);
    return tf.tidy(() => {
      const x = tf.tensor4d(xs, [2, 12, 12, 3]);
      const f = tf.tensor4d(fs, [3, 3, 3, 4]);
      return tf
        .grad((ff: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, ff as tf.Tensor4D, 2, 'same'))))(f)
        .dataSync() as Float32Array;
    });
  };
  const ref = await gradOn('cpu');
  const got = await gradOn('wasm');
  const scale = Math.max(...Array.from(ref, Math.abs));
  ref.forEach((r, i) => assert.ok(Math.abs(r - got[i]!) / scale < 1e-4));
});

test('wasm Conv2DBackpropInput (matmul + col2im) matches the cpu backend on random shapes', async () => {
  const rng = new SeededRandom(43);
  const pads = ['same', 'valid', 0, 1, 2] as const;
  let cases = 0;
  for (let t = 0; t < 30; t++) {
    const [n, h, w, c] = [1 + rng.int(3), 5 + rng.int(12), 5 + rng.int(12), 1 + rng.int(5)];
    const [fh, fw, co, stride] = [1 + rng.int(5), 1 + rng.int(5), 1 + rng.int(6), 1 + rng.int(3)];
    const pad = pads[rng.int(pads.length)]!;
    const filterShape = [fh, fw, c, co] as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo([n, h, w, c], filterShape, stride, 1, pad);
    if (info.outHeight < 1 || info.outWidth < 1) continue;
    const fs = Float32Array.from({ length: fh * fw * c * co }, () => rng.normal());
    const dyShape = [n, info.outHeight, info.outWidth, co];
    const dys = Float32Array.from({ length: dyShape.reduce((a, b) => a * b) }, () => rng.normal());
    const attrs = { strides: stride, pad, dataFormat: 'NHWC', inputShape: [n, h, w, c] };
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const dy = tf.tensor(dys, dyShape);
        const filter = tf.tensor(fs, filterShape);
        const r = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, attrs as never) as tf.Tensor;
        return r.dataSync() as Float32Array;
      });
    };
    const ref = await run('cpu');
    const got = await run('wasm');
    const scale = Math.max(1e-6, ...Array.from(ref, Math.abs));
    ref.forEach((r, i) => assert.ok(Math.abs(r - got[i]!) / scale < 1e-4, `case ${t} index ${i}`));
    cases++;
  }
  assert.ok(cases >= 20);
});

test('wasm MaxPoolGrad matches the cpu backend, ties included (ReLU zeros)', async () => {
  const rng = new SeededRandom(44);
  for (let t = 0; t < 20; t++) {
    const [n, h, w, c] = [1 + rng.int(3), 4 + rng.int(10), 4 + rng.int(10), 1 + rng.int(4)];
    const size = 2 + rng.int(2);
    const stride = 1 + rng.int(2);
    const pad = rng.int(2) ? 'same' : 'valid';
    // Half the inputs are exactly zero, as after a ReLU, so windows have ties.
    const xs = Float32Array.from({ length: n * h * w * c }, () => Math.max(0, rng.normal()));
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor4d(xs, [n, h, w, c]);
        return tf
          .grad((xx: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(xx as tf.Tensor4D, size, stride, pad), 1.5)))(x)
          .dataSync() as Float32Array;
      });
    };
    const ref = await run('cpu');
    const got = await run('wasm');
    assert.deepEqual(Array.from(got), Array.from(ref), `case ${t}`);
  }
});

test('wasm Identity and same-dtype Cast share their input without copying; conversions and strings still work', async () => {
  await initBackend('wasm');
  const x = tf.tensor2d([1.5, -2, 0, 3], [2, 2]);
  const copy = tf.clone(x);
  const same = tf.cast(x, 'float32');
  assert.equal(copy.dataId, x.dataId, 'Identity shares the data');
  assert.equal(same.dataId, x.dataId, 'a same-dtype Cast shares the data');
  x.dispose();
  assert.deepEqual(Array.from(copy.dataSync()), [1.5, -2, 0, 3], 'a clone outlives the tensor it shares with');
  assert.deepEqual(Array.from(same.dataSync()), [1.5, -2, 0, 3]);
  copy.dispose();
  assert.deepEqual(Array.from(same.dataSync()), [1.5, -2, 0, 3]);
  const ints = tf.cast(same, 'int32');
  assert.equal(ints.dtype, 'int32');
  assert.deepEqual(Array.from(ints.dataSync()), [1, -2, 0, 3], 'a real conversion still converts');
  const back = tf.cast(ints, 'float32');
  assert.notEqual(back.dataId, ints.dataId);
  assert.equal(back.dtype, 'float32');
  assert.deepEqual(Array.from(back.dataSync()), [1, -2, 0, 3]);
  const words = tf.tensor1d(['a', 'b'], 'string');
  assert.deepEqual(tf.clone(words).dataSync(), ['a', 'b']);
  // A variable's clone keeps the old value after the variable is reassigned.
  const v = tf.variable(tf.tensor1d([1, 2]));
  const snapshot = tf.clone(v);
  v.assign(tf.tensor1d([5, 6]));
  assert.deepEqual(Array.from(snapshot.dataSync()), [1, 2]);
  assert.deepEqual(Array.from(v.dataSync()), [5, 6]);
  tf.dispose([same, ints, back, words, v, snapshot]);
});

test('wasm Tile equals the cpu backend on random shapes and repeats (float32, int32, bool, scalars, empties)', async () => {
  const rng = new SeededRandom(45);
  const shapes: number[][] = [[], [1, 1, 1, 5], [3, 0, 2]];
  for (let t = 0; t < 40; t++) shapes.push(Array.from({ length: 1 + rng.int(5) }, () => 1 + rng.int(4)));
  for (const [t, shape] of shapes.entries()) {
    const reps = shape.map(() => (rng.int(4) === 0 ? 1 : 1 + rng.int(4)));
    const size = shape.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: size }, () => rng.int(7) - 3);
    for (const dtype of ['float32', 'int32', 'bool'] as const) {
      const run = async (backend: string) => {
        await tf.setBackend(backend);
        const before = tf.memory().numTensors;
        const out = tf.tidy(() => Array.from(tf.tile(tf.tensor(values, shape, dtype), reps).dataSync()));
        assert.equal(tf.memory().numTensors, before, 'no tensors leak');
        return out;
      };
      const ref = await run('cpu');
      assert.deepEqual(await run('wasm'), ref, `case ${t}: ${JSON.stringify({ shape, reps, dtype })}`);
    }
  }
  // BatchNorm's gradient through tf.grad, the path that made Tile matter (a [1, 1, 1, C] scale over [N, H, W, C]).
  const xs = Float32Array.from({ length: 2 * 3 * 3 * 4 }, () => rng.normal());
  const bnGrad = async (backend: string) => {
    await tf.setBackend(backend);
    return tf.tidy(() => {
      const x = tf.tensor4d(xs, [2, 3, 3, 4]);
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const f = (xx: tf.Tensor) =>
        tf.sum(tf.square(tf.batchNorm(xx as tf.Tensor4D, mean, variance, tf.fill([4], 0.5), tf.fill([4], 1.5), 1e-5)));
      return Array.from(tf.grad(f)(x).dataSync());
    });
  };
  const ref = await bnGrad('cpu');
  const got = await bnGrad('wasm');
  for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(ref[i]! - got[i]!) < 1e-4, `batchNorm gradient ${i}`);
});

test("Sum and Mean gradients equal tfjs-core's dy · ones (/ N) bit for bit, on cpu, wasm and blas", async () => {
  const rng = new SeededRandom(9);
  const backends = (await availableBackends()).filter((b) => ['cpu', 'wasm', 'blas'].includes(b));
  for (const backend of backends) {
    await initBackend(backend);
    for (const [shape, axis] of [
      [
        [4, 3, 5, 6],
        [0, 1, 2],
      ],
      [[7, 5], 0],
      [[7, 5], -1],
      [
        [2, 3, 4],
        [0, 2],
      ],
      [
        [3, 4],
        [0, 1],
      ],
      [[6], 0],
    ] as [number[], number | number[]][]) {
      const xs = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const x = tf.tensor(xs, shape);
        const axes = tf.util.parseAxisParam(axis, shape);
        const w = tf.randomNormal(tf.sum(x, axis).shape, 0, 1, 'float32', 3);
        const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const count = axes.reduce((a, i) => a * shape[i]!, 1);
        for (const op of ['sum', 'mean'] as const) {
          const f = (t: tf.Tensor) => tf.sum(tf.mul(op === 'sum' ? tf.sum(t, axis) : tf.mean(t, axis), w));
          const got = tf.grad(f)(x).dataSync();
          // tfjs-core's own gradient (gradients/Sum_grad.js, Mean_grad.js): dy · ones(x.shape), then / N for the mean.
          const viaOnes = tf.mul(tf.reshape(w, kept), tf.ones(shape, 'float32'));
          const want = (op === 'sum' ? viaOnes : tf.div(viaOnes, count)).dataSync();
          assert.deepEqual(got, want, `${backend} ${op} ${JSON.stringify({ shape, axis })}`);
        }
      });
      assert.equal(tf.memory().numTensors, before, 'no tensors leak');
    }
  }
});
