// `prune` (the dense model of D) and `gold` (the dense model of D_r, pruned the same way on D_r: θ_r, m_r).
import { without } from '../ml/data/dataset.js';
import { pruneNetwork } from '../ml/prune/prune-network.js';
import type { StageNode } from '../sweep/plan.js';
import { modelBlobs, NO_UNLEARNING, readIndices, readMask, readWeights, writeOutputs } from './stage-artifacts.js';
import { trainHooks, type StageContext } from './stage-context.js';
import { stageArch, stageDataset, trainView } from './stage-datasets.js';
import { pruneRequest, trainConfig } from './spec-to-ml.js';

export async function pruneStage(stage: StageNode<'prune'> | StageNode<'gold'>, ctx: StageContext): Promise<void> {
  const start = performance.now();
  const p = stage.params;
  const ds = stageDataset(p.dataset, stage.runtime, ctx);
  const def = stageArch(ds, p.arch);
  const trainKey = stage.inputs.train;
  const [dense, init] = await Promise.all([readWeights(ctx, trainKey), readWeights(ctx, trainKey, 'init.bin')]);
  let view = trainView(ds);
  if (stage.kind === 'gold') view = without(view, await readIndices(ctx, stage.inputs.forget));
  // A data-free method's gold takes the original's mask (identical by construction) instead of recomputing it.
  const mask = stage.kind === 'gold' && stage.inputs.mask ? await readMask(ctx, stage.inputs.mask) : undefined;
  const train = trainConfig(p.train, p.seed, p.reshuffle);
  const r = await pruneNetwork(
    {
      def,
      init,
      dense,
      view,
      train,
      hooks: trainHooks(ctx, stage.kind),
      dataFreeMask: mask,
      maskOnly: stage.kind === 'gold' && stage.params.maskOnly,
    },
    // The noise floor's gold reruns every seeded step of pruning in its other order too.
    pruneRequest(p.prune, p.reshuffle ? trainConfig(p.train, p.seed, p.reshuffle).seed : p.seed),
  );
  const blobs = modelBlobs(r.weights, r.mask, { ...NO_UNLEARNING, sparsity: r.sparsity });
  await writeOutputs(ctx, stage, blobs, (performance.now() - start) / 1000);
}
