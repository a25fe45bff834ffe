// `train`: dense training from the seeded init on all of D, or on D_r (D minus a forget set, same batch order).
import { without } from '../ml/data/dataset.js';
import { initWeights } from '../ml/models/init-weights.js';
import { Network } from '../ml/models/network.js';
import { trainNetwork } from '../ml/train.js';
import { encodeWeights } from '../store/codec.js';
import type { StageNode } from '../sweep/plan.js';
import {
  readIndices,
  stageArch,
  stageDataset,
  trainConfig,
  trainHooks,
  trainView,
  writeOutputs,
  type StageContext,
} from './stage-context.js';

export async function trainStage(stage: StageNode<'train'>, ctx: StageContext): Promise<void> {
  const start = performance.now();
  const p = stage.params;
  const ds = stageDataset(p.dataset, stage.runtime);
  const def = stageArch(ds, p.arch);
  const init = initWeights(def, p.seed);
  let view = trainView(ds);
  if (p.sample === 'retain') view = without(view, await readIndices(ctx, stage.inputs.forget!));
  const net = new Network(def, init);
  try {
    await trainNetwork(net, view, trainConfig(p.train, p.seed), { hooks: trainHooks(ctx, `train ${p.sample}`) });
    const blobs = { 'weights.bin': encodeWeights(net.getWeights()), 'init.bin': encodeWeights(init) };
    await writeOutputs(ctx, stage, blobs, (performance.now() - start) / 1000);
  } finally {
    net.dispose();
  }
}
