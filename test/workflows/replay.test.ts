// Replay of workflow histories recorded from a real Temporal server (1.19.1, temporalite, on loopback) by
// test/fixtures/histories/record.ts: the real workflows and activities on a small sweep, with a few failures
// injected. They hold a sweep that completes (a head shard, deletion shards that find the head's stages done, a
// stage retried after a failure, a lost input recomputed), one that fails (a stage failing for good: the shard and
// the sweep end failed, the rows written first), and a cancel that reaches running activities and every shard.
// Recorded once, never regenerated: a workflow change that breaks them goes behind patched().
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';

const HISTORIES = [
  'sweep-completed.json',
  'shard-head.json',
  'shard-retry-lost-input.json',
  'sweep-failed.json',
  'shard-failed.json',
  'sweep-cancelled.json',
  'shard-cancelled.json',
];
const load = (f: string) =>
  historyFromJSON(JSON.parse(readFileSync(new URL(`../fixtures/histories/${f}`, import.meta.url), 'utf8')));
const logger = new DefaultLogger('ERROR');
try {
  Runtime.install({ logger });
} catch {
  // installed already
}

let current: WorkflowBundle;
let altered: WorkflowBundle;
before(async () => {
  current = await bundleWorkflowCode({
    workflowsPath: new URL('../../workflows/index.ts', import.meta.url).pathname,
    logger,
  });
  altered = await bundleWorkflowCode({
    workflowsPath: new URL('../fixtures/workflows/altered-workflows.ts', import.meta.url).pathname,
    logger,
  });
});

async function replay(bundle: WorkflowBundle) {
  const results: { file: string; error?: Error }[] = [];
  const histories = HISTORIES.map((file) => ({ workflowId: file, history: load(file) }));
  for await (const r of Worker.runReplayHistories({ workflowBundle: bundle, replayName: 'replay-test' }, histories))
    results.push({ file: r.workflowId, error: r.error });
  return results;
}

test('the committed histories replay against the current workflow code', async () => {
  const results = await replay(current);
  assert.equal(results.length, HISTORIES.length);
  for (const r of results) assert.equal(r.error, undefined, `${r.file}: ${r.error?.message}`);
  const events = HISTORIES.map((f) => load(f).events!.length);
  console.log(`# replayed ${HISTORIES.join(', ')}: ${events.join(', ')} events`);
});

test('replay breaks when the command sequence changes (a timer before the first activity)', async () => {
  const results = await replay(altered);
  for (const r of results) {
    assert.ok(r.error, `${r.file} should not replay on the altered workflow`);
    assert.match(`${r.error.name} ${r.error.message}`, /Determinism|nondetermin/i);
  }
});
