// The progress reporter without a terminal: summary lines at most every N seconds (and at the end), never one per
// stage; failures and retries at once, naming the cell.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, progressReporter } from '../../cli/progress.js';
import type { RunProgress } from '../../sweep/runner.js';
import type { EngineEvent } from '../../worker/local-engine.js';

function fakeStream() {
  const lines: string[] = [];
  return {
    lines,
    stream: { isTTY: false, write: (s: string) => (lines.push(s), true) } as unknown as NodeJS.WriteStream,
  };
}
const progress = (done: number, failed = 0): RunProgress => ({
  total: 100,
  done,
  cached: 0,
  running: 2,
  failed,
  skipped: 0,
  remaining: 100 - done - failed,
});
const stage = { kind: 'train', key: 'train-abc' } as never;

test('without a terminal: one summary line per period and one at the end; failures named by cell at once', () => {
  const { lines, stream } = fakeStream();
  let clock = 0;
  const p = progressReporter({
    total: 100,
    stream,
    labels: new Map([['train-abc', 'mnist/mlp/seed0']]),
    everySeconds: 10,
    now: () => clock,
  });
  for (let i = 1; i <= 50; i++) {
    clock = i; // one stage a second
    p.onEvent({ type: 'finished', stage, outcome: 'done', progress: progress(i) } as EngineEvent);
  }
  p.onEvent({ type: 'failed', stage, error: new Error('boom'), skipped: [], progress: progress(50, 1) } as EngineEvent);
  p.stop();
  const summaries = lines.filter((l) => l.startsWith('['));
  // At 1 s, 11 s, 21 s, 31 s, 41 s, then the final state at stop: not 50 lines.
  assert.equal(summaries.length, 6, lines.join(''));
  assert.match(summaries[0]!, /^\[ {2}1\/100\] 1% · run 1, cached 0, failed 0, running 2 · 1s elapsed · ETA 1m39s\n$/);
  assert.ok(lines.includes('failed: train (mnist/mlp/seed0) train-abc: boom\n'), lines.join(''));
  assert.match(summaries.at(-1)!, /^\[ 51\/100\] 51% · run 50, cached 0, failed 1/);
});

test('durations read as a person writes them', () => {
  assert.equal(formatDuration(7.4), '7s');
  assert.equal(formatDuration(245), '4m05s');
  assert.equal(formatDuration(3720), '1h02m');
  assert.equal(formatDuration(Number.NaN), '–');
});
