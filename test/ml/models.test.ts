import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../../ml/backend.js';
import { ARCH_NAMES } from '../../ml/catalog.js';
import { buildArch } from '../../ml/models/architectures.js';
import { initWeights } from '../../ml/models/init-weights.js';
import { Network } from '../../ml/models/network.js';
import { useBackend } from '../helpers/ml.js';

await useBackend();

test('every architecture builds, runs forward in both modes and names its prunable layers stably', () => {
  for (const arch of ARCH_NAMES) {
    for (const shape of [
      [28, 28, 1],
      [32, 32, 3],
    ] as [number, number, number][]) {
      const def = buildArch(arch, shape, 10);
      const names = def.params.map((p) => p.name);
      assert.equal(new Set(names).size, names.length, `${arch}: duplicate parameter names`);
      assert.deepEqual(
        buildArch(arch, shape, 10).params.map((p) => p.name),
        names,
        'names are stable',
      );
      assert.ok(
        def.params.some((p) => p.prunable && p.output),
        `${arch}: has a classifier layer`,
      );
      const net = new Network(def, initWeights(def, 1));
      const logits = tf.tidy(() => net.apply(tf.randomNormal([2, ...shape]), false));
      assert.deepEqual(logits.shape, [2, 10]);
      logits.dispose();
      tf.tidy(() => net.apply(tf.randomNormal([4, ...shape]), true)); // BN batch statistics
      net.dispose();
    }
  }
  assert.deepEqual(
    buildArch('mlp', [28, 28, 1], 10)
      .params.filter((p) => p.prunable)
      .map((p) => `${p.name}:${p.shape.join('x')}`),
    ['fc1.w:784x300', 'fc2.w:300x100', 'fc3.w:100x10'],
  );
});

test('seeded initialisation: same seed same weights, different seed different weights', () => {
  const def = buildArch('lenet5', [28, 28, 1], 10);
  const a = initWeights(def, 3);
  const b = initWeights(def, 3);
  const c = initWeights(def, 4);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a['conv1.w'], c['conv1.w']);
  // Kaiming-normal: std ≈ sqrt(2 / fan_in) for fc1 of LeNet (fan_in 256).
  const w = a['fc1.w']!;
  const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  assert.ok(Math.abs(std - Math.sqrt(2 / 256)) < 0.01 * Math.sqrt(2 / 256) * 10);
});

test('BN running statistics update in training mode only', () => {
  const def = buildArch('vgg-small', [16, 16, 3], 4);
  const net = new Network(def, initWeights(def, 0));
  const before = net.variable('bn1.mean').dataSync().slice();
  tf.tidy(() => net.apply(tf.add(tf.randomNormal([8, 16, 16, 3]), 1), false));
  assert.deepEqual(net.variable('bn1.mean').dataSync(), before);
  tf.tidy(() => net.apply(tf.add(tf.randomNormal([8, 16, 16, 3]), 1), true));
  assert.notDeepEqual(net.variable('bn1.mean').dataSync(), before);
  net.dispose();
});
