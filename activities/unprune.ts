// `estimate` (θ̂_r, the retained-data dense weights; shared by every pruning method, algorithm and variant that
// uses the same estimator) and `unprune` (re-mask at the same budget toward m_r, then repair the weights).
import { viewOf, without } from '../ml/data/dataset.js';
import { estimateRetainedWeights, type EstimatorInputs } from '../ml/unprune/estimators.js';
import { regrow } from '../ml/unprune/regrow.js';
import { unprune } from '../ml/unprune/unprune.js';
import { unlearn } from '../ml/unlearn/unlearn.js';
import { restrictPruning } from '../ml/prune/mask-ops.js';
import { encodeWeights } from '../store/codec.js';
import type { StageNode } from '../sweep/plan.js';
import {
  MissingInputError,
  modelBlobs,
  readIndices,
  readModel,
  readWeights,
  writeOutputs,
  type StageCost,
} from './stage-artifacts.js';
import { readCheckpointSlot, REWIND_KIND, rewindKey } from './train.js';
import { rewindStartEpoch } from '../ml/catalog.js';
import { stageExamples, trainHooks, type StageContext } from './stage-context.js';
import { stageArch, stageDataset, trainView } from './stage-datasets.js';
import { pruneRequest, trainConfig, unlearnParams } from './spec-to-ml.js';

async function estimatorInputs(
  stage: StageNode<'estimate'> | StageNode<'unprune'>,
  ctx: StageContext,
): Promise<EstimatorInputs> {
  const p = stage.params;
  const ds = stageDataset(p.dataset, stage.runtime, ctx);
  const [dense, init, forgetIdx] = await Promise.all([
    readWeights(ctx, stage.inputs.train),
    readWeights(ctx, stage.inputs.train, 'init.bin'),
    readIndices(ctx, stage.inputs.forget),
  ]);
  return {
    def: stageArch(ds, p.arch),
    init,
    dense,
    retain: without(trainView(ds), forgetIdx),
    forget: viewOf(ds, forgetIdx),
    train: trainConfig(p.train, p.seed),
  };
}

/** The original training's checkpoint `rewind` replays from (none from the init); a missing one loses the train. */
async function rewindPoint(stage: StageNode<'estimate'>, ctx: StageContext) {
  const epoch = rewindStartEpoch(stage.params.train.epochs, stage.params.epochs);
  if (epoch === 0) return undefined;
  const found = await readCheckpointSlot(ctx, REWIND_KIND, rewindKey(stage.inputs.train, epoch));
  if (!found) throw new MissingInputError(stage.inputs.train);
  return found;
}

export async function estimateStage(stage: StageNode<'estimate'>, ctx: StageContext): Promise<void> {
  const start = performance.now();
  const p = stage.params;
  const inputs = await estimatorInputs(stage, ctx);
  const theta = await estimateRetainedWeights(p.estimator, {
    ...inputs,
    rewind: p.estimator === 'rewind' ? await rewindPoint(stage, ctx) : undefined,
    epochs: p.epochs ?? undefined,
    unlearnMethod: p.unlearn?.method,
    unlearnParams: p.unlearn ? unlearnParams(p.unlearn) : undefined,
    hooks: trainHooks(ctx, `estimate ${p.estimator}`),
  });
  await writeOutputs(ctx, stage, { 'weights.bin': encodeWeights(theta) }, (performance.now() - start) / 1000);
}

export async function unpruneStage(stage: StageNode<'unprune'>, ctx: StageContext): Promise<void> {
  const start = performance.now();
  const p = stage.params;
  if (p.variant === 'regrow') return regrowStage(stage, ctx, start);
  if (!stage.inputs.estimate || !p.estimator) throw new Error(`reprune stage ${stage.key} has no estimate`);
  const [inputs, model, estimate] = await Promise.all([
    estimatorInputs(stage, ctx),
    readModel(ctx, stage.inputs.model),
    readWeights(ctx, stage.inputs.estimate),
  ]);
  const u = await unprune(
    p.variant,
    p.estimator,
    p.prune,
    model.mask,
    model.weights,
    { ...inputs, epochs: p.epochs ?? undefined },
    estimate,
  );
  const info = {
    ...model.info,
    estimator_shift: u.estimatorShift,
    near_threshold_at_estimator_shift: u.nearThresholdAtShift,
  };
  // The full cost: this stage and the estimate it used (counted fully in every cell that shares it).
  const seconds = (performance.now() - start) / 1000;
  const est = ((await ctx.store.readManifest('estimate', stage.inputs.estimate))?.run ?? {}) as StageCost;
  await writeOutputs(ctx, stage, modelBlobs(u.weights, u.mask, info), seconds, {
    ...model.timing,
    unprune_s: model.timing.unprune_s + u.seconds,
    unprune_cost_s: model.timing.unprune_cost_s + seconds + (est.seconds ?? 0),
    unprune_examples: model.timing.unprune_examples + stageExamples(ctx) + (est.examples ?? 0),
  });
}

/** The paper's rounds (ml/unprune/regrow.ts), the cell's unlearning algorithm inside each. */
async function regrowStage(stage: StageNode<'unprune'>, ctx: StageContext, start: number): Promise<void> {
  const p = stage.params;
  if (!p.regrow || !p.unlearn) throw new Error(`regrow stage ${stage.key} lacks its settings`);
  const [inputs, model] = await Promise.all([estimatorInputs(stage, ctx), readModel(ctx, stage.inputs.model)]);
  const method = p.unlearn.method;
  const params = unlearnParams(p.unlearn);
  const hooks = trainHooks(ctx, `regrow: unlearn ${method}`);
  const r = await regrow(
    {
      def: restrictPruning(inputs.def, p.prune.layers),
      prune: pruneRequest(p.prune, p.seed),
      mask: model.mask,
      weights: model.weights,
      dense: inputs.dense,
      init: inputs.init,
      seed: p.seed,
      unlearn: async (weights, mask) => (await unlearn(method, { ...inputs, weights, mask, hooks }, params)).weights,
    },
    p.regrow,
  );
  const seconds = (performance.now() - start) / 1000;
  await writeOutputs(ctx, stage, modelBlobs(r.weights, r.mask, model.info), seconds, {
    // Its unlearning is the cell's unlearning (RTE); the whole stage, unlearning rounds included, is its cost.
    unlearn_s: model.timing.unlearn_s + r.unlearnSeconds,
    unprune_s: model.timing.unprune_s + seconds - r.unlearnSeconds,
    unprune_cost_s: model.timing.unprune_cost_s + seconds,
    unprune_examples: model.timing.unprune_examples + stageExamples(ctx),
  });
}
