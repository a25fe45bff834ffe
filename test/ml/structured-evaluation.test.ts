// Structured cells report mask IoU at filter granularity beside the element-level figure (the stored masks
// compared directly); other methods report null there.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readJson, readMask } from '../../activities/stage-artifacts.js';
import { filterIoU } from '../../ml/metrics/masks.js';
import type { Measurements } from '../../sweep/results/result-metrics.js';
import { useBackend } from '../helpers/ml.js';
import { runSweepInProcess } from '../helpers/stages.js';

await useBackend();

test('filter IoU to the gold mask for structured cells, null for OMP', async () => {
  const run = await runSweepInProcess({
    dataset: { name: 'synthetic', train: 192, test: 32 },
    model: { arch: 'mlp' },
    train: { epochs: 2, batch: 32, lr: 0.05 },
    seeds: [0],
    prune: [
      { method: 'structured', sparsity: [0.5], softEpochs: 0 },
      { method: 'omp', sparsity: [0.5] },
    ],
    deletion: [{ kind: 'random', sizes: [0.2] }],
    unlearn: [{ method: 'ft', epochs: 1 }],
    unprune: ['none', 'reprune'],
    evaluate: { miaShadow: 16 },
  });
  for (const cell of run.plan.cells) {
    const m = await readJson<Measurements>(run.ctx, cell.evaluate, 'metrics.json');
    if (cell.axes.prune !== 'structured') {
      assert.equal(m.iou_gold_filters, null);
      continue;
    }
    const stage = run.stage(cell.evaluate);
    if (stage.kind !== 'evaluate') throw new Error('not an evaluate stage');
    const [final, original, gold] = await Promise.all([
      run.model(stage.inputs.model).then((x) => x.mask),
      readMask(run.ctx, stage.inputs.prune),
      readMask(run.ctx, stage.inputs.gold),
    ]);
    assert.equal(m.iou_gold_filters, filterIoU(final, gold));
    assert.equal(m.iou_gold_base_filters, filterIoU(original, gold));
  }
});
