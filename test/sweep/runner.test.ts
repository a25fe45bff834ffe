import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runStages, StageScheduler } from '../../sweep/runner.js';

// a → b → d, a → c → d, e (independent), f ← c
const stages = [
  { key: 'a', kind: 'x', inputs: {} },
  { key: 'b', kind: 'x', inputs: { i: 'a' } },
  { key: 'c', kind: 'x', inputs: { i: 'a' } },
  { key: 'd', kind: 'x', inputs: { i: 'b', j: 'c' } },
  { key: 'e', kind: 'x', inputs: {} },
  { key: 'f', kind: 'x', inputs: { i: 'c' } },
];

test('runs in dependency order, never above the concurrency limit, in plan order among ready stages', async () => {
  const order: string[] = [];
  let running = 0;
  let peak = 0;
  const s = await runStages(stages, {
    concurrency: 2,
    execute: async (st) => {
      running++;
      peak = Math.max(peak, running);
      order.push(st.key);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return st.key === 'e' ? 'cached' : 'done';
    },
  });
  assert.equal(peak, 2);
  assert.ok(order.indexOf('a') < order.indexOf('b') && order.indexOf('c') < order.indexOf('d'));
  assert.deepEqual(order.slice(0, 2), ['a', 'e']);
  assert.deepEqual(s.progress, { total: 6, done: 5, cached: 1, running: 0, failed: 0, skipped: 0, remaining: 0 });
  assert.equal(s.cancelled, false);
});

test('a failure skips only its dependents; independent stages go on', async () => {
  const events: string[] = [];
  const s = await runStages(stages, {
    concurrency: 1,
    execute: async (st) => {
      if (st.key === 'c') throw new Error('boom');
      return 'done';
    },
    onEvent: (e) => events.push(`${e.type}:${e.stage.key}`),
  });
  assert.deepEqual(
    s.failures.map((f) => [f.stage.key, f.error.message]),
    [['c', 'boom']],
  );
  assert.equal(s.states.get('d'), 'skipped');
  assert.equal(s.states.get('f'), 'skipped');
  assert.equal(s.states.get('b'), 'done');
  assert.equal(s.states.get('e'), 'done');
  assert.deepEqual(s.progress, { total: 6, done: 3, cached: 0, running: 0, failed: 1, skipped: 2, remaining: 0 });
  // Serial execution is fully deterministic: the same event sequence every time.
  assert.deepEqual(events, [
    'started:a',
    'finished:a',
    'started:b',
    'finished:b',
    'started:c',
    'failed:c',
    'started:e',
    'finished:e',
  ]);
});

test('cancel stops starting stages; running ones finish; the rest stay unfinished', async () => {
  let stop = false;
  const s = await runStages(stages, {
    concurrency: 1,
    shouldStop: () => stop,
    execute: async (st) => {
      if (st.key === 'b') stop = true;
      return 'done';
    },
  });
  assert.equal(s.cancelled, true);
  assert.equal(s.progress.done, 2);
  assert.equal(s.progress.remaining, 4);
});

test('bad graphs are refused: unknown input, input after its stage, duplicate key', () => {
  assert.throws(
    () => new StageScheduler([{ key: 'a', kind: 'x', inputs: { i: 'zz' } }]),
    /needs zz, which is not in the plan/,
  );
  assert.throws(
    () =>
      new StageScheduler([
        { key: 'a', kind: 'x', inputs: { i: 'b' } },
        { key: 'b', kind: 'x', inputs: {} },
      ]),
    /comes before its input b/,
  );
  assert.throws(
    () =>
      new StageScheduler([
        { key: 'a', kind: 'x', inputs: {} },
        { key: 'a', kind: 'x', inputs: {} },
      ]),
    /twice/,
  );
});

test('scales to a paper-sized graph (50,000 stages) quickly', async () => {
  const n = 50000;
  const big = Array.from({ length: n }, (_, i) => ({
    key: `s${i}`,
    kind: 'x',
    inputs: i ? { p: `s${Math.floor((i - 1) / 3)}` } : {},
  }));
  const t = performance.now();
  const s = await runStages(big, { concurrency: 16, execute: async () => 'done' });
  assert.equal(s.progress.done, n);
  assert.ok(performance.now() - t < 20000);
});
