// Evaluation's forward pass on the addon's kernels (ml/kernels/layer-chain-forward.ts) against the network's own
// tfjs forward pass: the same logits bit for bit for the MLP and LeNet-5, dense, pruned through patterns and pruned
// without them, and no tensors left behind. Skipped, saying why, where the addon cannot be built.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

execFileSync(process.execPath, ['ml/kernels/native/build.mjs'], { stdio: 'inherit' });
const { availableBackends, initBackend, tf } = await import('../../ml/backend.js');
const { nativeBlasUnavailableReason } = await import('../../ml/kernels/native-blas.js');
const { configureSparseProducts } = await import('../../ml/kernels/sparse-matmul.js');
configureSparseProducts(true);
const { chainForward } = await import('../../ml/kernels/layer-chain-forward.js');
const { makeSynthetic } = await import('../../ml/data/synthetic.js');
const { buildArch } = await import('../../ml/models/architectures.js');
const { initWeights } = await import('../../ml/models/init-weights.js');
const { Network } = await import('../../ml/models/network.js');
const { magnitudeMask } = await import('../../ml/prune/magnitude.js');
const { applyMask } = await import('../../ml/prune/mask-ops.js');

const available = (await availableBackends()).includes('blas');
const skip = available ? false : `native kernels unavailable: ${nativeBlasUnavailableReason()}`;
if (available) await initBackend('blas');

for (const arch of ['mlp', 'lenet5'] as const)
  for (const sparsity of [0, 0.5, 0.85])
    test(`the chain forward pass gives tfjs's logits bit for bit: ${arch}, ${sparsity * 100}% pruned`, { skip }, () => {
      const ds = makeSynthetic({ train: 70, test: 1, inputShape: [16, 16, 1], numClasses: 4, seed: 3 });
      const def = buildArch(arch, ds.inputShape, ds.numClasses);
      const init = initWeights(def, 1);
      const mask = sparsity > 0 ? magnitudeMask(def, init, sparsity, 'layer') : undefined;
      const net = new Network(def, mask ? applyMask(init, mask) : init);
      try {
        // 85%: the dense layers multiply through their patterns; 50%: densely, their pruned weights zero.
        net.usePatterns(mask);
        assert.equal(
          def.params.some((p) => net.patternOf(p.name)),
          sparsity > 0.5,
          'patterns in use',
        );
        const forward = chainForward(net);
        assert.ok(forward, 'the chain runs on the addon');
        for (const rows of [70, 33]) {
          const x = ds.train.x.subarray(0, rows * 256);
          const ref = tf.tidy(() => net.apply(tf.tensor4d(x, [rows, 16, 16, 1]), false).dataSync()) as Float32Array;
          const tensors = tf.memory().numTensors;
          const got = forward(x, rows);
          assert.equal(tf.memory().numTensors, tensors, 'no tensors');
          assert.deepEqual(
            new Uint32Array(got.buffer, got.byteOffset, got.length),
            new Uint32Array(ref.buffer, ref.byteOffset, ref.length),
            `${rows} rows`,
          );
        }
      } finally {
        net.dispose();
      }
    });

test('chains with batch normalisation stay on tfjs', { skip }, () => {
  const def = buildArch('vgg-small', [32, 32, 3], 10);
  const net = new Network(def, initWeights(def, 0));
  try {
    assert.equal(chainForward(net), null);
  } finally {
    net.dispose();
  }
});
