// The MIA shadow-ratio measurements (evaluate.miaShadowRatio): at ratio 1 the attack is the reference's 1:1 one, so
// its figure equals mia_efficacy exactly; other ratios train the same attack on more or fewer members.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readRows } from '../../activities/sweep-rows.js';
import { runSweepInProcess } from '../helpers/stages.js';
import { useBackend } from '../helpers/ml.js';

await useBackend();

test('mia_ratio_<r> columns: ratio 1 reproduces mia_efficacy; ratio 3 is a proportion of D_f', async () => {
  const run = await runSweepInProcess({
    dataset: { name: 'synthetic', train: 240, test: 40 },
    model: { arch: 'mlp' },
    train: { epochs: 1, batch: 32, lr: 0.05 },
    seeds: [0],
    prune: [{ method: 'omp', sparsity: 0.5 }],
    deletion: { kind: 'random', sizes: [0.1] },
    unlearn: [{ method: 'ft', epochs: 1 }],
    evaluate: { miaShadow: 20, miaShadowRatio: [1, 3] },
  });
  const { rows } = await readRows(run.ctx.store, run.plan);
  assert.ok(rows.length > 0);
  for (const r of rows) {
    assert.equal(r['mia_ratio_1'], r.mia_efficacy);
    const three = r['mia_ratio_3'];
    assert.ok(typeof three === 'number' && three >= 0 && three <= 100, String(three));
  }
});
