// `unlearn`: one unlearning algorithm on a sparse model (the pruned one, or the un-pruned one when un-pruning runs
// first), with the model's mask enforced throughout.
import { viewOf, without } from '../ml/data/dataset.js';
import { unlearn } from '../ml/unlearn/unlearn.js';
import type { StageNode } from '../sweep/plan.js';
import { modelBlobs, readIndices, readModel, readWeights, writeOutputs } from './stage-artifacts.js';
import { trainHooks, type StageContext } from './stage-context.js';
import { stageArch, stageDataset, trainView } from './stage-datasets.js';
import { trainConfig, unlearnParams } from './spec-to-ml.js';

export async function unlearnStage(stage: StageNode<'unlearn'>, ctx: StageContext): Promise<void> {
  const start = performance.now();
  const p = stage.params;
  const ds = stageDataset(p.dataset, stage.runtime, ctx);
  const def = stageArch(ds, p.arch);
  const [model, init, forgetIdx] = await Promise.all([
    readModel(ctx, stage.inputs.model),
    readWeights(ctx, stage.inputs.train, 'init.bin'),
    readIndices(ctx, stage.inputs.forget),
  ]);
  const r = await unlearn(
    p.unlearn.method,
    {
      def,
      weights: model.weights,
      mask: model.mask,
      init,
      retain: without(trainView(ds), forgetIdx),
      forget: viewOf(ds, forgetIdx),
      train: trainConfig(p.train, p.seed),
      hooks: trainHooks(ctx, `unlearn ${p.unlearn.method}`),
    },
    unlearnParams(p.unlearn),
  );
  await writeOutputs(ctx, stage, modelBlobs(r.weights, model.mask, model.info), (performance.now() - start) / 1000, {
    ...model.timing,
    unlearn_s: model.timing.unlearn_s + r.seconds,
  });
}
