// Pruned dense layers multiplying through their mask's pattern (ml/kernels/sparse-matmul.ts, the addon's sparse
// kernels) against tfjs's cpu backend multiplying the masked weights densely: the product, both gradients, a whole
// masked training run and an evaluation forward pass. Skipped, saying why, where the addon cannot be built.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { SeededRandom } from '../../ml/data/seeded-random.js';
import type { Mask } from '../../ml/mask.js';

execFileSync(process.execPath, ['ml/kernels/native/build.mjs'], { stdio: 'inherit' });
const { availableBackends, initBackend, tf } = await import('../../ml/backend.js');
const { nativeBlasUnavailableReason } = await import('../../ml/kernels/native-blas.js');
const { configureSparseProducts, maskPattern, sparseMatMul, SPARSE_MAX_DENSITY } =
  await import('../../ml/kernels/sparse-matmul.js');
// On: these tests check the sparse path itself, also on builds where the dense product is the default (128-bit vectors).
configureSparseProducts(true);
const { Network } = await import('../../ml/models/network.js');
const { buildArch } = await import('../../ml/models/architectures.js');
const { initWeights } = await import('../../ml/models/init-weights.js');
const { magnitudeMask } = await import('../../ml/prune/magnitude.js');
const { applyMask } = await import('../../ml/prune/mask-ops.js');
const { trainedCopy } = await import('../../ml/train.js');
const { makeSynthetic } = await import('../../ml/data/synthetic.js');
const { fullView } = await import('../../ml/data/dataset.js');

const available = (await availableBackends()).includes('blas');
const skip = available ? false : `native kernels unavailable: ${nativeBlasUnavailableReason()}`;

function assertClose(ref: ArrayLike<number>, got: ArrayLike<number>, what: string, tol = 1e-5): void {
  assert.equal(got.length, ref.length, `${what}: length`);
  let scale = 1e-6;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]!));
  let maxErr = 0;
  for (let i = 0; i < ref.length; i++) maxErr = Math.max(maxErr, Math.abs(ref[i]! - got[i]!));
  assert.ok(maxErr / scale < tol, `${what}: relative error ${maxErr / scale}`);
}

test('maskPattern lists the kept entries by column and by row (hand-computed)', () => {
  // keep = [[1, 0], [0, 1], [1, 1]]: k = 3 rows, n = 2 columns, 4 kept.
  const p = maskPattern(Uint8Array.from([1, 0, 0, 1, 1, 1]), 3, 2);
  assert.deepEqual(
    Array.from(p),
    [3, 2, 4, /* colptr */ 0, 2, 4, /* colrows */ 0, 2, 1, 2, /* rowptr */ 0, 1, 2, 4, /* rowcols */ 0, 1, 0, 1],
  );
});

test("maskPattern reuses a recent mask's pattern only for the same entries, not the same shape and count", () => {
  // Two masks of one shape with equal kept counts (the case a shape-and-count key would confuse), then the first again,
  // and a copy of it in another array: each pattern lists its own mask's entries.
  const rows = (p: Int32Array) => {
    const [k, n, nnz] = [p[0]!, p[1]!, p[2]!];
    const rowptr = 3 + n + 1 + nnz;
    const kept: number[] = [];
    for (let r = 0; r < k; r++)
      for (let e = p[rowptr + r]!; e < p[rowptr + r + 1]!; e++) kept.push(r * n + p[rowptr + k + 1 + e]!);
    return kept;
  };
  const listed = (keep: Uint8Array) => Array.from(keep.keys()).filter((i) => keep[i]);
  const a = Uint8Array.from({ length: 12 * 9 }, (_, i) => (i % 5 === 0 ? 1 : 0));
  const b = a.slice().reverse();
  assert.equal(
    a.reduce((x, y) => x + y),
    b.reduce((x, y) => x + y),
  );
  const [pa, pb, again, copy] = [a, b, a, a.slice()].map((keep) => maskPattern(keep, 12, 9));
  assert.deepEqual(rows(pa!), listed(a));
  assert.deepEqual(rows(pb!), listed(b));
  assert.deepEqual(rows(again!), listed(a));
  assert.equal(again, pa, 'the same mask again: the pattern built for it');
  assert.equal(copy, pa, 'equal entries in another array: the same pattern');
  // The same count, differing only at the mask's end (its last kept weight moved): no reuse.
  const last = a.slice();
  [last[105], last[107]] = [0, 1];
  assert.deepEqual(rows(maskPattern(last, 12, 9)), listed(last));
});

test('the sparse product and its gradients equal the dense ones on the masked weights', { skip }, async () => {
  const rng = new SeededRandom(7);
  // Batches that are not multiples of the kernels' example blocks (a register's width, 8 or 16, and two registers');
  // shapes from tiny to the MLP's first layer; the weight gradient's tiles (16 KB of vectors / blocks rows and
  // columns, 4 from 64 AVX-512 or 128 AVX2 blocks on: b = 1030) cut mid-row and mid-column.
  for (const [b, k, n, density] of [
    [1, 5, 3, 0.5],
    [200, 40, 70, 0.3],
    [1030, 20, 9, 0.6],
    [17, 33, 9, 0.3],
    [128, 784, 300, 0.2],
    [45, 300, 100, 0.1],
    [3, 7, 4, 0],
  ] as const) {
    const keep = Uint8Array.from({ length: k * n }, () => (rng.next() < density ? 1 : 0));
    const w = Float32Array.from(keep, (m) => (m ? rng.normal() : 0));
    const x = Float32Array.from({ length: b * k }, () => rng.normal());
    const r = Float32Array.from({ length: b * n }, () => rng.normal());
    const what = `${b}×${k}·${k}×${n} at ${density}`;
    // Reference: the cpu backend, dense product; the loss Σ r ⊙ (x·w) makes dy = r.
    await tf.setBackend('cpu');
    const [refY, refDx, refDw] = tf.tidy(() => {
      const f = (xs: Tensor, ws: Tensor) =>
        tf.sum(tf.mul(tf.matMul(xs as Tensor2D, ws as Tensor2D), tf.tensor2d(r, [b, n])));
      const [dx, dw] = tf.grads(f)([tf.tensor2d(x, [b, k]), tf.tensor2d(w, [k, n])]);
      return [tf.matMul(tf.tensor2d(x, [b, k]), tf.tensor2d(w, [k, n])).dataSync(), dx!.dataSync(), dw!.dataSync()];
    });
    await initBackend('blas');
    const before = tf.memory().numTensors;
    const [y, dx, dw] = tf.tidy(() => {
      const pattern = tf.tensor1d(maskPattern(keep, k, n), 'int32');
      const f = (xs: Tensor, ws: Tensor) =>
        tf.sum(tf.mul(sparseMatMul(xs as Tensor2D, ws as Tensor2D, pattern), tf.tensor2d(r, [b, n])));
      const [gx, gw] = tf.grads(f)([tf.tensor2d(x, [b, k]), tf.tensor2d(w, [k, n])]);
      const out = sparseMatMul(tf.tensor2d(x, [b, k]), tf.tensor2d(w, [k, n]), pattern);
      return [out.dataSync(), gx!.dataSync(), gw!.dataSync()];
    });
    assert.equal(tf.memory().numTensors, before, `${what}: no tensors leak`);
    assertClose(refY, y, `${what}: product`);
    assertClose(refDx, dx, `${what}: input gradient`);
    // The weight gradient at the kept entries; exactly zero at the pruned ones.
    assertClose(
      Float32Array.from(refDw, (g, i) => (keep[i] ? g : 0)),
      dw,
      `${what}: weight gradient`,
    );
    for (let i = 0; i < keep.length; i++) if (!keep[i]) assert.equal(dw[i], 0, `${what}: pruned gradient ${i}`);
  }
});

test(
  'rows of the input that hold one value in the whole batch: their weight gradient, computed once per column, has the same bits',
  { skip },
  async () => {
    const { loadNativeBlas } = await import('../../ml/kernels/native-blas.js');
    const addon = loadNativeBlas()!;
    const rng = new SeededRandom(11);
    // 130 examples: the last block of examples is partial. Rows `flat` hold the background value in every example.
    const [b, k, n] = [130, 60, 37];
    const flat = [3, 10, 11, 40, 59];
    const c = -0.4242;
    const keep = Uint8Array.from({ length: k * n }, () => (rng.next() < 0.4 ? 1 : 0));
    const pattern = maskPattern(keep, k, n);
    const dy = Float32Array.from({ length: b * n }, () => rng.normal());
    const base = Float32Array.from({ length: b * k }, () => rng.normal());
    for (const r of flat) for (let i = 0; i < b; i++) base[i * k + r] = c;
    // The kernel copies one such row's sums to the rows equal to the first one-valued row it meets. With row 0
    // one-valued too (another value) that is row 0, and the background rows take the ordinary path; without, they
    // take the copy.
    const ordinaryX = base.slice();
    for (let i = 0; i < b; i++) ordinaryX[i * k] = 5;
    const copiedX = base.slice();
    for (const [dims, size] of [
      [Int32Array.of(b), k * n],
      [Int32Array.of(b, 1), pattern[2]!],
    ] as const) {
      const ordinary = new Float32Array(size);
      const copied = new Float32Array(size);
      addon.sparseMatMulGradW(ordinaryX, dy, pattern, ordinary, dims);
      addon.sparseMatMulGradW(copiedX, dy, pattern, copied, dims);
      const compact = dims.length > 1;
      let q = 0;
      for (let r = 0; r < k; r++)
        for (let j = 0; j < n; j++) {
          if (!keep[r * n + j]) continue;
          const at = compact ? q : r * n + j;
          q++;
          if (r === 0) continue; // its input differs between the two
          assert.ok(Object.is(copied[at], ordinary[at]), `row ${r}, column ${j} (compact ${compact}): the same bits`);
          if (!flat.includes(r)) continue;
          let sum = 0;
          for (let i = 0; i < b; i++) sum += Math.fround(c) * dy[i * n + j]!;
          assert.ok(Math.abs(copied[at]! - sum) <= 1e-5 * Math.max(1, Math.abs(sum)), `row ${r}, column ${j}: ${sum}`);
        }
    }
  },
);

type Tensor = import('@tensorflow/tfjs-core').Tensor;
type Tensor2D = import('@tensorflow/tfjs-core').Tensor2D;

const def = buildArch('mlp', [28, 28, 1], 10);
const outputsOf = (net: InstanceType<typeof Network>, x: Float32Array, n: number) =>
  tf.tidy(() => net.apply(tf.tensor4d(x, [n, 28, 28, 1]), false).dataSync());

test(
  'Network.usePatterns: only sparse-enough layers whose pruned weights are zero; the forward pass unchanged',
  { skip },
  async () => {
    await initBackend('blas');
    const init = initWeights(def, 3);
    const mask = magnitudeMask(def, init, 0.8);
    const x = Float32Array.from({ length: 40 * 784 }, (_, i) => Math.sin(i));
    const dense = new Network(def, applyMask(init, mask));
    const sparse = new Network(def, applyMask(init, mask));
    const before = tf.memory().numTensors;
    sparse.usePatterns(mask);
    assert.equal(tf.memory().numTensors, before + 3, 'one pattern per dense layer at 80% sparsity');
    assertClose(outputsOf(dense, x, 40), outputsOf(sparse, x, 40), 'logits');
    // A layer with a nonzero pruned weight, or denser than the threshold, keeps the dense product.
    const w = applyMask(init, mask);
    w['fc1.w']![mask.layers[0]!.keep.indexOf(0)] = 1;
    const dirty = new Network(def, w);
    const denser: Mask = magnitudeMask(def, init, 1 - SPARSE_MAX_DENSITY - 0.1);
    const half = new Network(def, applyMask(init, denser));
    const created = tf.memory().numTensors;
    dirty.usePatterns(mask);
    half.usePatterns(denser);
    assert.equal(
      tf.memory().numTensors,
      created + 2,
      'fc1 of the dirty net and every layer of the denser one stay dense',
    );
    for (const net of [dense, sparse, dirty, half]) net.dispose();
    assert.equal(tf.memory().numTensors, before - 2 * def.params.length, 'patterns are disposed with their network');
  },
);

test('masked training through the patterns ends where dense masked training does', { skip }, async () => {
  await initBackend('blas');
  const ds = makeSynthetic({ train: 300, test: 10, seed: 2 });
  const mlp = buildArch('mlp', ds.inputShape, ds.numClasses);
  const init = initWeights(mlp, 4);
  const mask = magnitudeMask(mlp, init, 0.9);
  const cfg = { optimizer: 'sgd' as const, lr: 0.05, epochs: 2, batchSize: 32, seed: 5, weightDecay: 5e-4 };
  const before = tf.memory().numTensors;
  const viaPatterns = await trainedCopy(mlp, applyMask(init, mask), fullView(ds, 'train'), cfg, { mask });
  assert.equal(tf.memory().numTensors, before, 'no tensors leak');
  // The same run with the patterns unavailable (a gradient multiplier of ones turns them off) multiplies densely.
  const ones: Mask = { layers: mask.layers.map((l) => ({ ...l, keep: new Uint8Array(l.keep.length).fill(1) })) };
  const viaDense = await trainedCopy(mlp, applyMask(init, mask), fullView(ds, 'train'), cfg, { mask, gradMask: ones });
  for (const p of mlp.params) {
    assertClose(viaDense[p.name]!, viaPatterns[p.name]!, `${p.name} after training`, 1e-4);
    if (p.prunable) {
      const keep = mask.layers.find((l) => l.name === p.name)!.keep;
      viaPatterns[p.name]!.forEach((v, i) => assert.ok(keep[i] || v === 0, `${p.name}[${i}] stays pruned`));
    }
  }
});
