// Replay of committed workflow histories. Provenance: no Temporal server can run on these machines, so the
// histories in test/fixtures/histories/ were BUILT, not recorded: test/helpers/history-builder.ts replays the real
// workflow code, captures the commands of each new workflow task with a recording interceptor, and appends the
// events a server records for them plus scripted outcomes (regenerate: npx tsx test/fixtures/histories/generate.ts).
// They cover a fan-out of concurrent activities, stages found cached, a stage that failed once and was retried
// (attempt 2), a stage failing for good, a cancel that reaches running activities, and the parent sweep workflow
// running its head and deletion shards as child workflows, then the rows activity.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';

const HISTORIES = ['shard-fanout-cached-retry.json', 'shard-cancel.json', 'sweep-shards.json'];
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
