import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['bin/unprune.js', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

test('unprune backends lists what is installed and what auto selects', () => {
  const r = run(['backends']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /installed: .*wasm, cpu/);
  assert.match(r.stdout, /selected: {2}\S+/);
});

test('an unavailable or unknown backend exits 2 with a message naming what is installed', () => {
  const missing = run(['backends'], { UNPRUNE_BACKEND: 'node-gpu' });
  if (missing.status !== 0) {
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /backend "node-gpu" is not available .*installed: /);
  }
  const unknown = run(['--backend', 'tpu', 'backends']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /argument 'tpu' is invalid. Allowed choices are auto, node-gpu, node, blas, wasm, cpu/);
});
