// The Temporal commands without a server (none can run here): they fail within seconds, exit 2, and say how to
// point unprune at a server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { unprune } from '../helpers/cli.js';
import type { SweepProgress } from '../../workflows/sweep-types.js';

const TINY = new URL('../fixtures/specs/tiny.yaml', import.meta.url).pathname;
const HOW = /TEMPORAL_ADDRESS.*temporal server start-dev.*infra\/docker-compose\.yml/;

test('run --engine temporal with no server configured: a dev server cannot be downloaded here; fails fast with directions', () => {
  const t = performance.now();
  const r = unprune(['run', TINY, '--engine', 'temporal', '--store', '/tmp/unprune-never'], { TEMPORAL_ADDRESS: '' });
  const seconds = (performance.now() - t) / 1000;
  console.log(`# failed after ${seconds.toFixed(1)} s: ${r.stderr.trim().slice(0, 160)}…`);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, HOW);
  assert.ok(seconds < 30);
});

test('submit / status / cancel against an address where nothing listens: exit 2 with directions', () => {
  for (const args of [
    ['submit', TINY, '--store', 's3://b/p'],
    ['status', 'tiny-1'],
    ['cancel', 'tiny-1'],
  ]) {
    const r = unprune([...args, '--address', '127.0.0.1:9']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /cannot reach Temporal at 127\.0\.0\.1:9/);
    assert.match(r.stderr, HOW);
  }
  assert.equal(unprune(['worker', '--queue', 'tpu']).status, 2);
  const both = unprune(['worker', '--slots', '2', '--concurrency', '1']);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /'--slots <n>' cannot be used with option '--concurrency <n>'/);
  assert.match(unprune(['worker', '--help']).stdout, /--queue <queue>.*gpu.*cpu.*all/s);
});

test('watching a sweep returns as soon as it ends, not at its next 10-second poll', async () => {
  // A stand-in for a workflow handle (no server runs here): running until its result arrives after 0.3 s.
  const { watch } = await import('../../cli/temporal-commands.js');
  const progress: SweepProgress = {
    total: 1,
    done: 0,
    cached: 0,
    running: 1,
    failed: 0,
    skipped: 0,
    remaining: 1,
    byKind: {},
    shards: { total: 1, finished: 0, failed: 0 },
    failures: [],
    etaSeconds: null,
    status: 'running',
  };
  const final: SweepProgress = { ...progress, done: 1, running: 0, remaining: 0, status: 'completed' };
  let closed = false;
  const result = new Promise((resolve) => setTimeout(() => ((closed = true), resolve(final)), 300));
  const handle = {
    describe: async () => ({ status: { name: closed ? 'COMPLETED' : 'RUNNING' }, memo: {}, startTime: new Date() }),
    query: async () => progress,
    result: () => result,
    client: { getHandle: () => ({ query: async () => undefined }) },
  } as unknown as WorkflowHandle;
  const t = performance.now();
  const outcome = await watch(handle);
  const seconds = (performance.now() - t) / 1000;
  assert.equal(outcome.status, 'COMPLETED');
  assert.equal(outcome.progress?.done, 1);
  assert.ok(seconds < 3, `returned after ${seconds.toFixed(1)} s`);
});
