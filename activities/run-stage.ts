// The one entry point engines call: skip a stage whose artifacts exist and verify, else run its activity.
import type { StageOutcome } from '../sweep/runner.js';
import type { AnyStage } from '../sweep/plan.js';
import { evaluateStage } from './evaluate.js';
import { forgetStage } from './forget.js';
import { noopStage, type NoopStage } from './noop.js';
import { pruneStage } from './prune.js';
import type { StageContext } from './stage-context.js';
import { trainStage } from './train.js';
import { unlearnStage } from './unlearn.js';
import { estimateStage, unpruneStage } from './unprune.js';

export async function runStage(stage: AnyStage | NoopStage, ctx: StageContext): Promise<StageOutcome> {
  if (await ctx.store.isDone(stage.kind, stage.key)) return 'cached';
  switch (stage.kind) {
    case 'train':
      await trainStage(stage, ctx);
      break;
    case 'forget':
      await forgetStage(stage, ctx);
      break;
    case 'prune':
    case 'gold':
      await pruneStage(stage, ctx);
      break;
    case 'estimate':
      await estimateStage(stage, ctx);
      break;
    case 'unlearn':
      await unlearnStage(stage, ctx);
      break;
    case 'unprune':
      await unpruneStage(stage, ctx);
      break;
    case 'evaluate':
      await evaluateStage(stage, ctx);
      break;
    case 'noop':
      await noopStage(stage, ctx);
      break;
  }
  return 'done';
}
