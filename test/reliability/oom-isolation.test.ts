// Failure isolation: a stage that exhausts its worker's memory (a real wasm out-of-memory abort: a ResNet-20 batch of
// 32,768; 8,192 fits since batch normalisation stopped composing moments) fails once, with a message naming the
// stage, what it trained and what to change; its worker process is replaced, so the MLP cell beside it completes
// (before, the aborted process failed every later stage).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unprune } from '../helpers/cli.js';
import { injectingFaults, recordFigures, rowsOf, tmp } from '../helpers/sweep-runs.js';

const OOM = new URL('../fixtures/specs/oom.yaml', import.meta.url).pathname;

test(
  'an out-of-memory ResNet cell fails once with a clear message; the MLP cell beside it completes',
  { timeout: 600_000 },
  () => {
    injectingFaults('out-of-memory stage beside healthy ones', 1);
    const store = tmp('oom');
    const r = unprune(['run', OOM, '--store', store, '--workers', '2']);
    assert.equal(r.status, 1, 'a failed stage: exit status 1');
    assert.doesNotMatch(r.stderr, /^retry /m, 'out of memory is not retried');
    assert.match(r.stderr, /train train-\w+ \(resnet20, batch 32768\) ran out of memory in its worker process/);
    assert.match(r.stderr, /lower train\.batch or run fewer --workers/);
    const rows = rowsOf(store);
    assert.deepEqual(
      rows.map((x) => x.arch),
      ['mlp'],
      'the MLP cell has its row',
    );
    assert.match(r.stderr, /1 cells have no row/);
    recordFigures('out-of-memory stage beside healthy ones', { faultsSurvived: 1, rowsLost: 0 });
  },
);
