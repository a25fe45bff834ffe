// History-size arithmetic for the Temporal engine, computed from real plans: every workflow run (the sweep and
// each shard, continue-as-new included) stays below Temporal's limits — 51,200 events and 50 MB per run, 2 MB per
// payload, 2,000 pending activities or children.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { planSweep } from '../../sweep/plan.js';
import { HISTORY, historyBudget } from '../../sweep/shards.js';
import { cellCount, parseSweep } from '../../sweep/spec.js';

const LIMITS = { events: 51200, bytes: 50 * 1024 * 1024, payload: 2 * 1024 * 1024, pending: 2000 };

function check(name: string, text: string) {
  const sweep = parseSweep(text, { maxCells: 1e6 });
  const plan = planSweep(sweep);
  const b = historyBudget(plan, { concurrency: 32, maxChildren: 16, store: 's3://unprune-results/some/long/prefix' });
  console.log(`# ${name}: ${cellCount(sweep)} cells, ${plan.stages.length} stages, ${JSON.stringify(b)}`);
  assert.ok(b.maxShardRunEvents < LIMITS.events / 2, `shard events ${b.maxShardRunEvents}`);
  assert.ok(b.parentEvents < LIMITS.events / 2, `parent events ${b.parentEvents}`);
  assert.ok(b.maxShardRunBytes < LIMITS.bytes / 2, `shard bytes ${b.maxShardRunBytes}`);
  assert.ok(b.parentBytes < LIMITS.bytes / 2, `parent bytes ${b.parentBytes}`);
  assert.ok(b.maxPayloadBytes < LIMITS.payload / 2, `payload ${b.maxPayloadBytes}`);
  assert.ok(b.maxPendingActivities < LIMITS.pending && b.maxPendingChildren < LIMITS.pending);
  return b;
}

test('paper grid: every history far below the limits; the parent history under 10 MB', () => {
  const b = check('paper grid', readFileSync(new URL('../../examples/paper-grid.yaml', import.meta.url), 'utf8'));
  assert.ok(b.parentBytes < 10 * 1024 * 1024, `parent bytes ${b.parentBytes}`);
});

test('a 10,000-cell sweep in a single lineage: still below, with continue-as-new bounding each shard run', () => {
  const b = check(
    '10k cells, one lineage',
    `
name: ten-thousand
dataset: { name: mnist }
model: { arch: resnet20 }
train: { epochs: 30, batch: 128, lr: 0.1 }
seeds: [0]
prune:
  - { method: omp, sparsity: [0.5, 0.6, 0.7, 0.8, 0.9] }
  - { method: imp, sparsity: [0.5, 0.6, 0.7, 0.8, 0.9] }
deletion: { kind: random, sizes: [${Array.from({ length: 20 }, (_, i) => (i + 1) / 200).join(', ')}] }
unlearn: [{ method: retrain }, { method: ft }, { method: ga }, { method: neggrad+ }, { method: rl }, { method: l1-sparse }, { method: salun }, { method: scrub }, { method: ff }, { method: iu }]
unprune:
  - none
  - { variant: reprune, name: rp }
  - { variant: reprune, name: rp-e10, epochs: 10 }
  - { variant: regrow, name: rg }
  - { variant: reprune, name: rp-inf, estimator: influence }
`,
  );
  assert.ok(b.maxShardRunEvents <= 3 + 6 + HISTORY.maxStagesPerRun * HISTORY.eventsPerStage + 1000);
});
