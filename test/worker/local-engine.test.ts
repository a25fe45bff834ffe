// The local engine end to end through the CLI, on a seconds-long synthetic sweep: a killed run (SIGKILL) resumes,
// runs only the missing stages and yields the same rows as an uninterrupted run; a rerun is all cached.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../store/artifact-store.js';
import { unprune, unpruneAsync } from '../helpers/cli.js';
import { content, manifests, rowsOf as rows, summary, TINY, tmp as tmpRun } from '../helpers/sweep-runs.js';

const SPEC = TINY;
const tmp = () => tmpRun('engine');

test('SIGKILL mid-run, then rerun: only the missing stages run, rows equal an uninterrupted run; a third run is all cached', async () => {
  const clean = tmp();
  const a = unprune(['run', SPEC, '--store', clean, '--workers', '2']);
  assert.equal(a.status, 0, a.stderr);
  const full = summary(a.stderr);
  assert.equal(full.run, full.total);

  const killed = tmp();
  const child = unpruneAsync(['run', SPEC, '--store', killed, '--workers', '2']);
  const target = Math.floor(full.total / 3);
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (manifests(killed).length >= target) {
        clearInterval(poll);
        child.kill('SIGKILL');
        resolve();
      }
    }, 20);
    child.on('exit', () => {
      clearInterval(poll);
      reject(new Error('the run finished before it could be killed'));
    });
  });
  await new Promise((r) => setTimeout(r, 1500)); // its workers exit on IPC disconnect
  const present = manifests(killed);
  assert.ok(present.length < full.total, `${present.length} of ${full.total} done when killed`);
  // Whatever the kill left behind either verifies completely or has no manifest.
  const store = openStore(killed);
  for (const s of present) assert.ok(await store.readStage(s.kind, s.key), `${s.kind}/${s.key} verifies`);

  const b = unprune(['run', SPEC, '--store', killed, '--workers', '2']);
  assert.equal(b.status, 0, b.stderr);
  const resumed = summary(b.stderr);
  console.log(
    `# killed with ${present.length}/${full.total} stages done; rerun ran ${resumed.run}, cached ${resumed.cached}`,
  );
  assert.equal(resumed.cached, present.length);
  assert.equal(resumed.run, full.total - present.length);
  assert.deepEqual(content(rows(killed)), content(rows(clean)));

  const c = unprune(['run', SPEC, '--store', killed, '--workers', '2']);
  assert.equal(c.status, 0, c.stderr);
  assert.deepEqual(summary(c.stderr), { total: full.total, run: 0, cached: full.total, failed: 0 });
  assert.equal(c.stdout, b.stdout, 'the same table again');
  assert.ok(b.stdout.includes('mean ± 95% CI half-width over seeds'));
});

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const)
  test(`${signal} stops the run cleanly with status ${code} (128 + the signal); the rerun resumes and completes`, async () => {
    const store = tmp();
    const child = unpruneAsync(['run', SPEC, '--store', store, '--workers', '2']);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const status = await new Promise<number | null>((resolve) => {
      const poll = setInterval(() => {
        if (manifests(store).length >= 20) {
          clearInterval(poll);
          child.kill(signal);
        }
      }, 20);
      child.on('exit', (code) => {
        clearInterval(poll);
        resolve(code);
      });
    });
    assert.equal(status, code, stderr);
    assert.match(stderr, /cancelled with \d+ stages to go; rerun the same command to resume/);
    const done = manifests(store).length;
    const again = unprune(['run', SPEC, '--store', store, '--workers', '2']);
    assert.equal(again.status, 0, again.stderr);
    const s = summary(again.stderr);
    assert.equal(s.cached, done);
    assert.equal(s.run + s.cached, s.total);
  });

test('a failing stage is reported with its error while independent stages finish; exit status 1', () => {
  const store = tmp();
  // Files that are present (so the spec is accepted) but not IDX data: loading them fails in the stage.
  const corrupt = join(store, 'corrupt-fashion');
  mkdirSync(corrupt);
  for (const f of [
    'train-images-idx3-ubyte',
    'train-labels-idx1-ubyte',
    't10k-images-idx3-ubyte',
    't10k-labels-idx1-ubyte',
  ])
    writeFileSync(join(corrupt, f), 'not idx data');
  const spec = join(store, 'two-datasets.yaml');
  const withData = (dir: string) =>
    readFileSync(SPEC, 'utf8')
      .replace(
        'dataset: { name: synthetic, train: 256, test: 128 }',
        `dataset:\n  - { name: synthetic, train: 256, test: 128 }\n  - { name: fashion-mnist, train: 256, test: 128, dir: ${dir} }`,
      )
      .replace('seeds: [0, 1]', 'seeds: [0]');
  // A data set whose files are missing is refused before anything runs, with validate's message.
  writeFileSync(spec, withData(join(store, 'no-such-folder')));
  const refused = unprune(['run', spec, '--store', join(store, 'refused')]);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /dataset\[1\] \(fashion-mnist\): missing data file .*dataset-fashion-mnist/);
  assert.equal(unprune(['validate', spec]).stderr, refused.stderr);
  assert.ok(!existsSync(join(store, 'refused')), 'nothing written');
  writeFileSync(spec, withData(corrupt));
  const r = unprune(['run', spec, '--store', join(store, 's'), '--workers', '2']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /failed: (train|forget) \(fashion-mnist\/mlp\/seed0[^)]*\) \S+: .*not an IDX file/);
  const s = summary(r.stderr);
  assert.ok(s.failed >= 1 && s.run > 0);
  const got = rows(join(store, 's'));
  assert.ok(got.length > 0 && got.every((row) => row.dataset === 'synthetic'));
  assert.match(r.stderr, /cells have no row/);
});
