// Liveness on the local engine: a stage process stopped with SIGSTOP (stuck, not dead) is detected within its kind's
// limit, killed, and the stage retried; the sweep completes with the rows of an uninterrupted run.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { unpruneAsync } from '../helpers/cli.js';
import {
  baselineRun,
  content,
  injectingFaults,
  manifests,
  recordFigures,
  rowsOf,
  TINY,
  tmp,
} from '../helpers/sweep-runs.js';

test("a stage process stopped with SIGSTOP is killed after its kind's limit and the stage retried; rows equal", async () => {
  const baseline = baselineRun();
  injectingFaults('stage process stopped (SIGSTOP)', 1);
  const store = tmp('stall');
  // Limits scaled to 6 s (120 s × 0.05): every tiny stage reports in well within that.
  const child = unpruneAsync(['run', TINY, '--store', store, '--workers', '2'], { UNPRUNE_STALL_SCALE: '0.05' });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let stoppedAt = 0;
  const status = await new Promise<number | null>((resolve) => {
    const poll = setInterval(() => {
      if (stoppedAt || manifests(store).length < 15) return;
      const pids = execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' })
        .trim()
        .split('\n');
      process.kill(Number(pids[0]), 'SIGSTOP');
      stoppedAt = performance.now();
    }, 20);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve(code);
    });
  });
  assert.ok(stoppedAt > 0, 'a worker was stopped');
  const m = /(\w+) (\w+-\w+) made no progress for 6 s \(its kind's limit\): its worker process was killed/.exec(stderr);
  // The stopped process may have been between stages; then the next stage handed to it is the one that stalls.
  assert.ok(m, stderr.slice(-2000));
  assert.equal(status, 0, stderr.slice(-2000));
  assert.deepEqual(content(rowsOf(store)), baseline.rows);
  recordFigures('stage process stopped (SIGSTOP)', { faultsSurvived: 1, rowsLost: 0 });
});
