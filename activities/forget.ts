// `forget`: the indices of D_f. Random sets for one seed are nested across sizes (prefixes of one permutation).
import { forgetSet } from '../ml/data/forget-set.js';
import { encodeIndices } from '../store/codec.js';
import type { StageNode } from '../sweep/plan.js';
import { writeOutputs } from './stage-artifacts.js';
import type { StageContext } from './stage-context.js';
import { stageDataset } from './stage-datasets.js';

export async function forgetStage(stage: StageNode<'forget'>, ctx: StageContext): Promise<void> {
  const start = performance.now();
  const { dataset, deletion, seed } = stage.params;
  const ds = stageDataset(dataset, stage.runtime, ctx);
  const indices =
    deletion.kind === 'random'
      ? forgetSet(ds.train.y, ds.numClasses, { kind: 'random', size: deletion.size, seed })
      : forgetSet(ds.train.y, ds.numClasses, {
          kind: 'class',
          classes: deletion.classes ?? [],
          size: deletion.size === 1 ? undefined : deletion.size,
          seed,
        });
  await writeOutputs(ctx, stage, { 'indices.bin': encodeIndices(indices) }, (performance.now() - start) / 1000);
}
