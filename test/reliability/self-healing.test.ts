// Self-healing inputs: a finished stage's files deleted or corrupted mid-sweep, after the scheduler counted the stage
// done. The dependent that reads it recomputes it (and anything it needs that is gone too) and goes on; the sweep
// completes with the rows of an uninterrupted run, and the log says what was recomputed.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { planSweep } from '../../sweep/plan.js';
import { parseSweep } from '../../sweep/spec.js';
import { runSweepLocally, type EngineEvent } from '../../worker/local-engine.js';
import { baselineRun, content, injectingFaults, recordFigures, TINY, tmp } from '../helpers/sweep-runs.js';

const baseline = baselineRun();

for (const [what, damage] of [
  ['deleted', (dir: string) => rmSync(dir, { recursive: true })],
  ['corrupted', (dir: string) => writeFileSync(join(dir, 'weights.bin'), Buffer.from('not the weights'))],
] as const) {
  test(`a finished train stage ${what} mid-sweep is recomputed by the stage that needs it; rows equal an uninterrupted run`, async () => {
    injectingFaults(`a finished stage ${what} mid-sweep`, 1);
    const plan = planSweep(parseSweep(readFileSync(TINY, 'utf8')));
    const store = tmp('heal');
    let damaged: string | undefined;
    const recomputed: string[] = [];
    const r = await runSweepLocally(plan, {
      store,
      workers: 2,
      onEvent: (e: EngineEvent) => {
        if (e.type === 'finished' && e.stage.kind === 'train' && !damaged) {
          damaged = e.stage.key;
          damage(join(store, 'stages', 'train', e.stage.key));
        }
        if (e.type === 'recompute') recomputed.push(e.stage.key);
      },
    });
    assert.ok(damaged, 'a train stage finished and was damaged');
    assert.deepEqual([...new Set(recomputed)], [damaged], 'the damaged stage, and nothing else, was recomputed');
    assert.equal(r.summary.progress.failed, 0, r.summary.failures.map((f) => f.error.message).join('; '));
    const rows = JSON.parse(JSON.stringify(r.rows)) as typeof r.rows; // as stored (no undefined members)
    assert.deepEqual(content(rows), baseline.rows, 'the rows of an uninterrupted run');
    recordFigures(`a finished stage ${what} mid-sweep`, { faultsSurvived: 1, rowsLost: 0 });
  });
}
