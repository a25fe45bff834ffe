// The Temporal commands without a server (none can run here): they fail within seconds, exit 2, and say how to
// point unprune at a server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unprune } from '../helpers/cli.js';

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
