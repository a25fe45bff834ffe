import assert from 'node:assert/strict';
import { test } from 'node:test';
import { availableBackends, BackendUnavailableError, initBackend, tf } from '../../ml/backend.js';

test('auto picks the best installed backend (blas, else wasm, when tfjs-node is absent)', async () => {
  const available = await availableBackends();
  const info = await initBackend('auto');
  assert.equal(info.name, available[0]);
  assert.equal(tf.getBackend(), info.tfName);
  assert.ok(available.includes('wasm') && available.includes('cpu'));
});

test('UNPRUNE_BACKEND (through the settings) selects the backend; --backend wins', async () => {
  const { loadSettings } = await import('../../worker/settings.js');
  assert.equal((await initBackend(loadSettings({ UNPRUNE_BACKEND: 'cpu' }).backend)).name, 'cpu');
  assert.equal(loadSettings({ UNPRUNE_BACKEND: 'cpu' }, { backend: 'wasm' }).backend, 'wasm');
  assert.equal(loadSettings({}).backend, 'auto');
});

test('an explicit backend that is not installed fails naming what is installed', async () => {
  const available = await availableBackends();
  for (const missing of (['node-gpu', 'node'] as const).filter((b) => !available.includes(b))) {
    await assert.rejects(initBackend(missing), (err: unknown) => {
      assert.ok(err instanceof BackendUnavailableError);
      assert.match(err.message, new RegExp(`backend "${missing}" is not available`));
      assert.match(err.message, /installed: .*wasm, cpu/);
      return true;
    });
  }
  await assert.rejects(
    initBackend('tpu'),
    /backend "tpu" is not available \(unknown backend name\); installed: .*Choose one of auto, node-gpu, node, blas, wasm, cpu/,
  );
});

test('the wasm backend has the project Conv2DBackpropFilter kernel registered', async () => {
  await initBackend('wasm');
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'));
});

test('UNPRUNE_NATIVE=0 hides the blas backend and says why', async () => {
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(process.execPath, ['bin/unprune.js', 'backends'], {
    env: { ...process.env, UNPRUNE_NATIVE: '0' },
    encoding: 'utf8',
  });
  assert.match(out, /^installed: wasm, cpu$/m);
  assert.match(out, /blas: +not available: disabled by UNPRUNE_NATIVE=0/);
});

test("the union package's gradients and chained ops are in; the packages it only re-exports load in full when asked for", async () => {
  // ml/backend.ts loads @tensorflow/tfjs with layers, converter, data and WebGL standing in empty (start-up time).
  assert.ok(tf.getGradient('Relu') && tf.getGradient('BatchMatMul') && tf.getGradient('Conv2D'));
  // Chained ops are the union's (tfjs-core's types do not declare them).
  type Chained = { square(): Chained & tf.Tensor; sum(): tf.Tensor };
  const x = tf.tensor1d([1, -2, 3]);
  assert.equal(typeof (x as unknown as Chained).square, 'function');
  const g = tf.grad((v: tf.Tensor) => (v as unknown as Chained).square().sum())(x);
  assert.deepEqual(Array.from(await g.data()), [2, -4, 6]);
  tf.dispose([x, g]);
  const { createRequire } = await import('node:module');
  const fromUnion = createRequire(createRequire(import.meta.url).resolve('@tensorflow/tfjs'));
  const layers = fromUnion('@tensorflow/tfjs-layers') as { sequential?: unknown; version_layers?: string };
  assert.equal(typeof layers.sequential, 'function');
  assert.match(String(layers.version_layers), /^\d+\.\d+/);
});
