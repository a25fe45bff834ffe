// The process settings: parsed once from the environment (blank = unset), validated, flags over variables; a bad
// value names the variable, the value and what it means; the CLI turns it into one line and exit status 2.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSettings, SettingsError, settingsTable } from '../../worker/settings.js';
import { unprune } from '../helpers/cli.js';

test('defaults, parsed values and blank variables', () => {
  const d = loadSettings({});
  assert.deepEqual(
    { backend: d.backend, native: d.native, blasThreads: d.blasThreads, flags: d.workerNodeFlags },
    { backend: 'auto', native: true, blasThreads: 1, flags: undefined },
  );
  const s = loadSettings({
    UNPRUNE_NATIVE: '0',
    UNPRUNE_BLAS_THREADS: '2',
    UNPRUNE_WORKER_NODE_FLAGS: ' --a  --b ',
    UNPRUNE_CIFAR10_DIR: '/data/c10',
    UNPRUNE_BACKEND: '  ',
  });
  assert.equal(s.native, false);
  assert.equal(s.blasThreads, 2);
  assert.deepEqual(s.workerNodeFlags, ['--a', '--b']);
  assert.equal(s.cifar10Dir, '/data/c10');
  assert.equal(s.backend, 'auto');
});

test('every bad value is reported at once, naming the variable and the value', () => {
  assert.throws(
    () => loadSettings({ UNPRUNE_BLAS_THREADS: 'x', UNPRUNE_BACKEND: 'tpu', UNPRUNE_NATIVE: 'yes' }),
    (err: unknown) => {
      assert.ok(err instanceof SettingsError);
      assert.equal(err.problems.length, 3);
      assert.match(err.message, /UNPRUNE_BLAS_THREADS: "x" is not valid/);
      assert.match(err.message, /UNPRUNE_BACKEND: "tpu"/);
      return true;
    },
  );
  assert.ok(settingsTable().some((s) => s.env === 'UNPRUNE_WORKER_NODE_FLAGS'));
});

test('the CLI: a bad setting or a bad number option is one line and exit status 2', () => {
  const bad = unprune(['backends'], { UNPRUNE_BLAS_THREADS: '0' });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /^unprune: UNPRUNE_BLAS_THREADS: "0" is not valid/);
  const retries = unprune(['run', 'examples/quickstart.yaml', '--retries', 'x']);
  assert.equal(retries.status, 2);
  assert.match(retries.stderr, /--retries must be a whole number from 0 to 100, got "x"/);
});
