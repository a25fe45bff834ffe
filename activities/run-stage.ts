// The one entry point engines call, and the one place a stage kind is bound to the code that runs it: skip a
// stage whose artifacts exist and verify, else run its kind's function. The mapped type makes the compiler
// reject a kind declared in sweep/stage-kinds.ts without a run function here.
import type { AnyStage, StageKind, StageNode } from '../sweep/stage-kinds.js';
import type { StageOutcome } from '../sweep/runner.js';
import { evaluateStage } from './evaluate.js';
import { forgetStage } from './forget.js';
import { noopStage } from './noop.js';
import { pruneStage } from './prune.js';
import type { StageContext } from './stage-context.js';
import { layerTimeSoFar } from '../ml/layer-seconds.js';
import { trainingExamplesSoFar } from '../ml/training-examples.js';
import { trainStage } from './train.js';
import { unlearnStage } from './unlearn.js';
import { estimateStage, unpruneStage } from './unprune.js';

export type StageRun<K extends StageKind> = (stage: StageNode<K>, ctx: StageContext) => Promise<void>;

export const STAGE_RUNS: { [K in StageKind]: StageRun<K> } = {
  train: trainStage,
  forget: forgetStage,
  prune: pruneStage,
  gold: pruneStage,
  estimate: estimateStage,
  unlearn: unlearnStage,
  unprune: unpruneStage,
  evaluate: evaluateStage,
  noop: noopStage,
};

export async function runStage(stage: AnyStage, ctx: StageContext): Promise<StageOutcome> {
  if (await ctx.store.isDone(stage.kind, stage.key)) return 'cached';
  await (STAGE_RUNS[stage.kind] as StageRun<StageKind>)(stage, {
    ...ctx,
    examplesAtStart: trainingExamplesSoFar(),
    layerTimeAtStart: layerTimeSoFar(),
  });
  return 'done';
}
