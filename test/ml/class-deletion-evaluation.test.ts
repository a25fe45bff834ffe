// Class-wise deletion is evaluated as Unlearn-Sparse's dataset.py does: the forgotten classes leave the test set
// (TA and the MIA's non-members), and the test accuracy on them is reported apart. Checked against the stored
// models evaluated directly on the two halves of the test set.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readJson } from '../../activities/stage-artifacts.js';
import { stageDataset } from '../../activities/stage-datasets.js';
import { viewOf } from '../../ml/data/dataset.js';
import { evaluate } from '../../ml/metrics/accuracy.js';
import { buildArch } from '../../ml/models/architectures.js';
import { Network } from '../../ml/models/network.js';
import type { Measurements } from '../../sweep/results/result-metrics.js';
import { useBackend } from '../helpers/ml.js';
import { runSweepInProcess } from '../helpers/stages.js';

await useBackend();

test('class-wise deletion: TA excludes the forgotten class, ta_forgotten is measured on it; random deletion keeps all', async () => {
  const run = await runSweepInProcess({
    dataset: { name: 'synthetic', train: 256, test: 96 },
    model: { arch: 'mlp' },
    train: { epochs: 2, batch: 32, lr: 0.05 },
    seeds: [0],
    prune: [{ method: 'omp', sparsity: [0.5] }],
    deletion: [
      { kind: 'class', classes: [2] },
      { kind: 'random', sizes: [0.1] },
    ],
    unlearn: [{ method: 'ft', epochs: 1 }],
    unprune: ['none'],
    evaluate: { miaShadow: 32 },
  });
  for (const cell of run.plan.cells) {
    const stage = run.stage(cell.evaluate);
    if (stage.kind !== 'evaluate') throw new Error('not an evaluate stage');
    const m = await readJson<Measurements>(run.ctx, cell.evaluate, 'metrics.json');
    const ds = stageDataset(stage.params.dataset);
    const model = await run.model(stage.inputs.model);
    const net = new Network(buildArch('mlp', ds.inputShape, ds.numClasses), model.weights);
    const idx = Array.from({ length: ds.test.n }, (_, i) => i);
    const acc = (keep: (y: number) => boolean) =>
      evaluate(
        net,
        viewOf(
          ds,
          idx.filter((i) => keep(ds.test.y[i]!)),
          'test',
        ),
      ).accuracy;
    if (cell.axes.deletion === 'class:2') {
      assert.deepEqual(stage.params.forgottenClasses, [2]);
      assert.equal(
        m.ta,
        acc((y) => y !== 2),
        'TA over the classes still learned',
      );
      assert.equal(
        m.ta_forgotten,
        acc((y) => y === 2),
        'TA on the forgotten class',
      );
    } else {
      assert.equal(stage.params.forgottenClasses, null);
      assert.equal(
        m.ta,
        acc(() => true),
        'TA over the whole test set',
      );
      assert.equal(m.ta_forgotten, null);
    }
    net.dispose();
  }
});
