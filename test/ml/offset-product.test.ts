// A dense first layer over inputs that mostly hold one value c (normalised MNIST's background): the addon's
// offsetEntries / offsetProduct (x = c + a sparse rest) against hand-listed entries and float64 products, the data
// set's dominant value, and a training run taking the path against tfjs's dense one. Skipped, saying why, where the
// addon cannot be built.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { SeededRandom } from '../../ml/data/seeded-random.js';

execFileSync(process.execPath, ['ml/kernels/native/build.mjs'], { stdio: 'inherit' });
const { availableBackends, initBackend } = await import('../../ml/backend.js');
const { loadNativeBlas, nativeBlasUnavailableReason, offsetProductsPay } =
  await import('../../ml/kernels/native-blas.js');
const { dominantValue, fullView } = await import('../../ml/data/dataset.js');
const { buildArch } = await import('../../ml/models/architectures.js');
const { initWeights } = await import('../../ml/models/init-weights.js');
const { Network } = await import('../../ml/models/network.js');
const { configureLayerChainTraining, trainNetwork } = await import('../../ml/train.js');

const available = (await availableBackends()).includes('blas');
const skip = available ? false : `native kernels unavailable: ${nativeBlasUnavailableReason()}`;
if (available) await initBackend('blas');
// Training takes the path where the addon's vectors are 256-bit or wider (offsetProductsPay); the kernels run anywhere.
const trainingSkip =
  skip ||
  (offsetProductsPay(loadNativeBlas()!) ? false : 'the offset products are taken only with 256-bit or wider vectors');

/** rows × k values, each c with probability 1 − share, else a draw from [−1, 2). */
function mostlyC(rows: number, k: number, c: number, share: number, seed: number): Float32Array {
  const rng = new SeededRandom(seed);
  return Float32Array.from({ length: rows * k }, () => (rng.next() < share ? rng.next() * 3 - 1 : c));
}

test('offsetEntries lists the entries that differ from c, by row and by column (hand-listed)', { skip }, () => {
  const addon = loadNativeBlas()!;
  const c = -0.5;
  // 2 rows × 19 columns (a 16-wide piece and a tail of 3 with AVX-512, two 8-wide pieces with AVX2); NaN differs from c
  // too.
  const x = new Float32Array(2 * 19).fill(c);
  x[3] = 1;
  x[17] = NaN;
  x[18] = 0;
  x[19 + 0] = 2;
  x[19 + 3] = -1;
  const entries = new Int32Array(19 + 1 + 2 * 19);
  const vals = new Float32Array(2 * 19);
  assert.equal(addon.offsetEntries(x, entries, vals, Int32Array.of(2, 19, 0), c), 5);
  assert.deepEqual(Array.from(entries.subarray(0, 3 + 5)), [0, 3, 5, /* columns */ 3, 17, 18, 0, 3]);
  assert.deepEqual(Array.from(vals.subarray(0, 5)), [1.5, NaN, 0.5, 2.5, -0.5]);
  // By column: 19 + 1 starts, then each entry's row (rows ascending within a column).
  assert.equal(addon.offsetEntries(x, entries, vals, Int32Array.of(2, 19, 1), c), 5);
  const starts = Array.from({ length: 20 }, (_, j) => (j === 0 ? 0 : j <= 3 ? 1 : j <= 17 ? 3 : j === 18 ? 4 : 5));
  assert.deepEqual(Array.from(entries.subarray(0, 20)), starts);
  assert.deepEqual(Array.from(entries.subarray(20, 25)), [1, 0, 1, 0, 0]);
  assert.deepEqual(Array.from(vals.subarray(0, 5)), [2.5, 1.5, -0.5, NaN, 0.5]);
  // The row listing transposed (the training step's weight gradient) is the same column listing.
  const byRow = new Int32Array(entries.length);
  const rowVals = new Float32Array(vals.length);
  addon.offsetEntries(x, byRow, rowVals, Int32Array.of(2, 19, 0), c);
  const columns = new Int32Array(entries.length);
  const columnVals = new Float32Array(vals.length);
  addon.offsetTranspose(byRow, rowVals, columns, columnVals, Int32Array.of(2, 19));
  assert.deepEqual(Array.from(columns.subarray(0, 25)), Array.from(entries.subarray(0, 25)));
  assert.deepEqual(Array.from(columnVals.subarray(0, 5)), Array.from(vals.subarray(0, 5)));
  assert.throws(
    () => addon.offsetTranspose(Int32Array.of(0, 1, 1, 19), rowVals, columns, columnVals, Int32Array.of(2, 19)),
    /outside/,
  );
  // Every mix of kept lanes in a register's width (AVX2's compress goes through a table of all 256): 7 rows of 45 (8-
  // and 16-wide pieces plus tails), about half of each row differing, against a listing spelled out here.
  const big = mostlyC(7, 45, c, 0.5, 11);
  const want: { at: number[]; v: number[] } = { at: [0], v: [] };
  const cols: number[] = [];
  for (let i = 0; i < 7; i++) {
    for (let j = 0; j < 45; j++) {
      if (big[i * 45 + j] === c) continue;
      cols.push(j);
      want.v.push(Math.fround(big[i * 45 + j]! - c));
    }
    want.at.push(cols.length);
  }
  const e = new Int32Array(7 + 1 + 7 * 45);
  const v = new Float32Array(7 * 45);
  assert.equal(addon.offsetEntries(big, e, v, Int32Array.of(7, 45, 0), c), cols.length);
  assert.deepEqual(Array.from(e.subarray(0, 8 + cols.length)), [...want.at, ...cols]);
  assert.deepEqual(Array.from(v.subarray(0, cols.length)), want.v);
});

test('offsetProduct gives x·w and xᵀ·dy as float64 products do, for every column tail', { skip }, () => {
  const addon = loadNativeBlas()!;
  const c = -0.4242129;
  for (const [b, k, n] of [
    [128, 784, 300], // the MLP's input layer: 18 vectors and a tail of 12 (8 + 4)
    [7, 50, 37], // 2 vectors and a tail of 5 (4 + 1)
    [33, 20, 10], // no full vector: 8 + 2
    [5, 16, 16],
  ] as const) {
    const x = mostlyC(b, k, c, 0.2, b + k + n);
    const rng = new SeededRandom(n);
    const w = Float32Array.from({ length: k * n }, () => rng.next() - 0.5);
    const dy = Float32Array.from({ length: b * n }, () => rng.next() - 0.5);
    const entries = new Int32Array(Math.max(b, k) + 1 + b * k);
    const vals = new Float32Array(b * k);
    const y = new Float32Array(b * n);
    addon.offsetEntries(x, entries, vals, Int32Array.of(b, k, 0), c);
    addon.offsetProduct(entries, vals, w, y, Int32Array.of(b, n, k), c);
    const dw = new Float32Array(k * n);
    addon.offsetEntries(x, entries, vals, Int32Array.of(b, k, 1), c);
    addon.offsetProduct(entries, vals, dy, dw, Int32Array.of(k, n, b), c);
    const close = (got: Float32Array, ref: (i: number, j: number) => number, what: string) => {
      let err = 0;
      let scale = 0;
      for (let i = 0; i < got.length / n; i++)
        for (let j = 0; j < n; j++) {
          const r = ref(i, j);
          err = Math.max(err, Math.abs(got[i * n + j]! - r));
          scale = Math.max(scale, Math.abs(r));
        }
      assert.ok(err / scale < 2e-6, `${what} ${b}×${k}×${n}: relative error ${err / scale}`);
    };
    close(
      y,
      (i, j) => Array.from({ length: k }, (_, q) => x[i * k + q]! * w[q * n + j]!).reduce((s, v) => s + v),
      'x·w',
    );
    close(
      dw,
      (r, j) => Array.from({ length: b }, (_, q) => x[q * k + r]! * dy[q * n + j]!).reduce((s, v) => s + v),
      'xᵀ·dy',
    );
  }
  // Entries out of order or pointing outside m are refused before anything is read.
  const bad = Int32Array.of(0, 2, 1, 0, 5);
  assert.throws(
    () =>
      addon.offsetProduct(
        bad,
        new Float32Array(2),
        new Float32Array(4),
        new Float32Array(4),
        Int32Array.of(2, 2, 2),
        0,
      ),
    /order/,
  );
  const outside = Int32Array.of(0, 1, 1, 9);
  assert.throws(
    () =>
      addon.offsetProduct(
        outside,
        new Float32Array(1),
        new Float32Array(4),
        new Float32Array(4),
        Int32Array.of(2, 2, 2),
        0,
      ),
    /outside/,
  );
});

test("dominantValue: the value half a split's pixels hold, else null", () => {
  const c = -0.4242129;
  const split = (x: Float32Array, n: number) => ({ x, y: new Int32Array(n), n });
  assert.equal(dominantValue(split(mostlyC(10, 30, c, 0.3, 1), 10), 30), Math.fround(c));
  // Most pixels other than one value: none dominates.
  const rng = new SeededRandom(2);
  assert.equal(
    dominantValue(
      split(
        Float32Array.from({ length: 300 }, () => rng.next()),
        10,
      ),
      30,
    ),
    null,
  );
  // The first example's commonest value must hold for half of all of them (here only the first has it).
  const first = new Float32Array(300).fill(1);
  first.fill(c, 0, 30);
  assert.equal(dominantValue(split(first, 10), 30), null);
});

test(
  'training a dense MLP over mostly-c inputs takes the offset products and ends where tfjs’s path does',
  { skip: trainingSkip },
  async () => {
    const c = -0.4242129;
    const n = 300;
    const rng = new SeededRandom(9);
    const x = mostlyC(n, 64, Math.fround(c), 0.2, 3);
    const y = Int32Array.from(
      { length: n },
      (_, i) => (x[i * 64 + 5]! !== Math.fround(c) ? 1 : 0) + 2 * Math.floor(rng.next() * 2),
    );
    const ds = {
      name: 'mnist' as const,
      inputShape: [8, 8, 1] as [number, number, number],
      numClasses: 4,
      train: { x, y, n },
      test: { x: x.subarray(0, 640), y: y.subarray(0, 10), n: 10 },
    };
    const def = buildArch('mlp', ds.inputShape, ds.numClasses);
    const init = initWeights(def, 4);
    const cfg = {
      epochs: 2,
      batchSize: 64,
      optimizer: 'sgd',
      lr: 0.05,
      momentum: 0.9,
      weightDecay: 5e-4,
      seed: 1,
    } as const;
    const addon = loadNativeBlas()!;
    const original = addon.offsetProduct;
    let calls = 0;
    addon.offsetProduct = (...args) => (calls++, original.apply(addon, args));
    const run = async (native: boolean) => {
      configureLayerChainTraining(native);
      const net = new Network(def, init);
      try {
        await trainNetwork(net, fullView(ds, 'train'), cfg);
        return net.getWeights();
      } finally {
        net.dispose();
        configureLayerChainTraining(true);
      }
    };
    try {
      const dense = await run(false);
      assert.equal(calls, 0, "tfjs's path multiplies densely");
      const offset = await run(true);
      // Both products of the first layer, every step: 5 batches × 2 epochs.
      assert.equal(calls, 2 * 5 * 2);
      for (const name of Object.keys(dense)) {
        let err = 0;
        let scale = 0;
        for (let i = 0; i < dense[name]!.length; i++) {
          err = Math.max(err, Math.abs(dense[name]![i]! - offset[name]![i]!));
          scale = Math.max(scale, Math.abs(dense[name]![i]!));
        }
        assert.ok(err / scale < 1e-4, `${name}: relative difference ${err / scale}`);
      }
    } finally {
      addon.offsetProduct = original;
    }
  },
);
