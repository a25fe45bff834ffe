// `estimate` (θ̂_r, the retained-data dense weights; shared by every pruning method, algorithm and variant that
// uses the same estimator) and `unprune` (re-mask at the same budget toward m_r, then repair the weights).
import { viewOf, without } from '../ml/data/dataset.js';
import { estimateRetainedWeights, type EstimatorInputs } from '../ml/unprune/estimators.js';
import { unprune } from '../ml/unprune/unprune.js';
import { encodeWeights } from '../store/codec.js';
import type { StageNode } from '../sweep/plan.js';
import { modelBlobs, readIndices, readModel, readWeights, writeOutputs } from './stage-artifacts.js';
import type { StageContext } from './stage-context.js';
import { stageArch, stageDataset, trainView } from './stage-datasets.js';
import { trainConfig, unlearnParams } from './spec-to-ml.js';

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

export async function estimateStage(stage: StageNode<'estimate'>, ctx: StageContext): Promise<void> {
  const start = performance.now();
  const p = stage.params;
  const inputs = await estimatorInputs(stage, ctx);
  const theta = await estimateRetainedWeights(p.estimator, {
    ...inputs,
    epochs: p.epochs ?? undefined,
    unlearnMethod: p.unlearn?.method,
    unlearnParams: p.unlearn ? unlearnParams(p.unlearn) : undefined,
  });
  await writeOutputs(ctx, stage, { 'weights.bin': encodeWeights(theta) }, (performance.now() - start) / 1000);
}

export async function unpruneStage(stage: StageNode<'unprune'>, ctx: StageContext): Promise<void> {
  const start = performance.now();
  const p = stage.params;
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
  await writeOutputs(ctx, stage, modelBlobs(u.weights, u.mask, info), (performance.now() - start) / 1000, {
    unlearn_s: model.timing.unlearn_s,
    unprune_s: model.timing.unprune_s + u.seconds,
  });
}
