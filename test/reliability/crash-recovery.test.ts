// Crashes: the local engine SIGKILLed at several points of one sweep, and a single stage process SIGKILLed. After
// the reruns every cell has exactly one row, equal to an uninterrupted run's; completed stages never run again.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { before, test } from 'node:test';
import { unprune, unpruneAsync } from '../helpers/cli.js';
import {
  baselineRun,
  content,
  injectingFaults,
  manifests,
  recordFigures,
  rowsOf,
  summary,
  TINY,
  tmp,
} from '../helpers/sweep-runs.js';

let baseline: ReturnType<typeof content>;
let total = 0;
before(() => {
  ({ total, rows: baseline } = baselineRun());
});

/** Starts a run and SIGKILLs it once `threshold` stages are stored; resolves with the stages present then. */
async function killAt(store: string, threshold: number): Promise<number> {
  const child = unpruneAsync(['run', TINY, '--store', store, '--workers', '2']);
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (manifests(store).length >= threshold) {
        clearInterval(poll);
        child.kill('SIGKILL');
        resolve();
      }
    }, 10);
    child.on('exit', () => (clearInterval(poll), reject(new Error('finished before the kill'))));
  });
  await new Promise((r) => setTimeout(r, 1000)); // its workers exit on IPC disconnect
  return manifests(store).length;
}

test('the engine SIGKILLed at 20%, 50% and 80% of a sweep: the final rerun completes it; rows equal an uninterrupted run', async () => {
  const store = tmp('kills');
  const points = [0.2, 0.5, 0.8];
  injectingFaults('engine SIGKILL ×3', points.length);
  const present: number[] = [];
  for (const p of points) present.push(await killAt(store, Math.ceil(p * total)));
  const r = unprune(['run', TINY, '--store', store, '--workers', '2']);
  assert.equal(r.status, 0, r.stderr);
  const s = summary(r.stderr);
  // Completed stages are never executed again: the rerun runs exactly the stages without a manifest.
  assert.equal(s.cached, present.at(-1));
  assert.equal(s.run, total - present.at(-1)!);
  const rows = rowsOf(store);
  const ids = rows.map((x) => x.evaluate_key + JSON.stringify([x.unlearn, x.unprune]));
  assert.equal(new Set(ids).size, rows.length, 'every cell exactly once');
  assert.deepEqual(content(rows), baseline);
  recordFigures('engine SIGKILL ×3', {
    faultsSurvived: points.length,
    rowsLost: baseline.length - rows.length,
    stagesRunTwice: 0,
  });
  console.log(`# stages stored when killed: ${present.join(', ')} of ${total}`);
});

test('one stage process SIGKILLed mid-sweep: the engine retries that stage and completes; rows equal', async () => {
  injectingFaults('stage process SIGKILL', 1);
  const store = tmp('stage-kill');
  const child = unpruneAsync(['run', TINY, '--store', store, '--workers', '2']);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  let killed = 0;
  while (!killed) {
    await new Promise((r) => setTimeout(r, 20));
    if (manifests(store).length < total / 3) continue;
    const pids = execFileSync('pgrep', ['-P', String(child.pid), '-f', 'stage-process'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    if (pids.length) {
      process.kill(Number(pids[0]), 'SIGKILL');
      killed = Number(pids[0]);
    }
  }
  assert.equal(await exited, 0, stderr);
  const retries = stderr.split('\n').filter((l) => /^retry \d+\/\d+ in .*worker process died \(SIGKILL\)/.test(l));
  assert.ok(retries.length <= 1, stderr);
  assert.deepEqual(content(rowsOf(store)), baseline);
  recordFigures('stage process SIGKILL', {
    faultsSurvived: 1,
    rowsLost: 0,
    stagesRunTwice: retries.length,
  });
});
