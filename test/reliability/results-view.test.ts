// A sweep's results are a derived view of the store: `results` rebuilds them from the stored evaluations (never from
// a rows file a killed run may have left short), says which cells are missing and exits 3 unless --partial, and
// never writes — it works on a read-only store and cannot overwrite the rows a running engine writes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { unprune } from '../helpers/cli.js';
import { content, injectingFaults, recordFigures, rowsOf, TINY, tmp } from '../helpers/sweep-runs.js';
import { rowsFromJsonl } from '../../sweep/results/result-rows.js';

test('a short rows file and missing evaluations: results says which cells are missing and exits 3; --partial accepts; a rerun completes it', () => {
  injectingFaults('results after a partial run', 2);
  const store = tmp('results-view');
  assert.equal(unprune(['run', TINY, '--store', store, '--workers', '2']).status, 0);
  const id = readdirSync(join(store, 'sweeps'))[0]!;
  const full = content(rowsOf(store));
  // A kill after every stage was stored but before the rows were rewritten: the rows file is short.
  const rowsFile = join(store, 'sweeps', id, 'rows.jsonl');
  writeFileSync(rowsFile, readFileSync(rowsFile, 'utf8').split('\n').slice(0, 12).join('\n') + '\n');
  const byId = unprune(['results', id, '--store', store, '--format', 'json']);
  assert.equal(byId.status, 0, byId.stderr);
  assert.deepEqual(content(JSON.parse(byId.stdout).rows), full, 'rebuilt from the store, not the short file');
  // Evaluations lost (a kill before they were stored): the table is partial and says so.
  const evals = join(store, 'stages', 'evaluate');
  for (const key of readdirSync(evals).slice(0, 3)) rmSync(join(evals, key, 'manifest.json'));
  for (const what of [id, TINY]) {
    const r = unprune(['results', what, '--store', store, '--format', 'csv']);
    assert.equal(r.status, 3, `${what}: incomplete is not success`);
    assert.match(r.stderr, /incomplete: \d+ of 48 cells of tiny-\w+ have no row/);
    assert.match(r.stderr, /e\.g\. synthetic\/mlp seed \d/, 'cells named by their axes');
    const shown = r.stdout.trim().split('\n').length - 1;
    assert.ok(shown < 48 && shown > 0);
    assert.equal(unprune(['results', what, '--store', store, '--partial', '--format', 'csv']).status, 0);
  }
  assert.equal(unprune(['run', TINY, '--store', store, '--workers', '2']).status, 0);
  const done = unprune(['results', id, '--store', store, '--format', 'json']);
  assert.equal(done.status, 0, done.stderr);
  assert.deepEqual(content(JSON.parse(done.stdout).rows), full, 'the rerun completed it');
  recordFigures('results after a partial run', { faultsSurvived: 2, rowsLost: 0 });
});

test('results on a read-only store: it reads, writes nothing, and prints the table', () => {
  injectingFaults('results on a read-only store', 1);
  const store = tmp('results-ro');
  assert.equal(unprune(['run', TINY, '--store', store, '--workers', '2']).status, 0);
  const id = readdirSync(join(store, 'sweeps'))[0]!;
  const ro = tmp('results-ro-mount');
  mkdirSync(ro, { recursive: true });
  execFileSync('mount', ['--bind', store, ro]);
  try {
    execFileSync('mount', ['-o', 'remount,ro,bind', ro]);
    for (const what of [id, TINY]) {
      const r = unprune(['results', what, '--store', ro, '--format', 'csv']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(rowsFromJsonl(readFileSync(join(ro, 'sweeps', id, 'rows.jsonl'), 'utf8')).length, 48);
      assert.equal(r.stdout.trim().split('\n').length, 49);
    }
  } finally {
    execFileSync('umount', [ro]);
  }
  recordFigures('results on a read-only store', { faultsSurvived: 1 });
});
