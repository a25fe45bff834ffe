// `evaluate`: one model's row of metrics — UA/RA/TA, MIA-efficacy, and its mask against the gold mask m_r and the
// original mask m. Used for each cell's final model, for the gold model and for the pruned model before unlearning.
import { fullView, viewOf, without } from '../ml/data/dataset.js';
import { compareToGold } from '../ml/metrics/gold-comparison.js';
import { maskIoU } from '../ml/metrics/masks.js';
import { headOutputs, miaEfficacy } from '../ml/metrics/mia.js';
import { modelOutputs, relativeWeightChange } from '../ml/metrics/unlearning-metrics.js';
import { Network } from '../ml/models/network.js';
import { encodeJson } from '../store/codec.js';
import type { StageNode } from '../sweep/plan.js';
import type { Measurements } from '../sweep/results/result-metrics.js';
import { readIndices, readMask, readModel, readWeights, writeOutputs, type StageCost } from './stage-artifacts.js';
import type { StageContext } from './stage-context.js';
import { stageArch, stageDataset, trainView } from './stage-datasets.js';

export async function evaluateStage(stage: StageNode<'evaluate'>, ctx: StageContext): Promise<void> {
  const start = performance.now();
  const p = stage.params;
  const ds = stageDataset(p.dataset, stage.runtime, ctx);
  const def = stageArch(ds, p.arch);
  const [model, original, before, gold, forgetIdx, floor, floorInit] = await Promise.all([
    readModel(ctx, stage.inputs.model),
    readMask(ctx, stage.inputs.prune),
    readWeights(ctx, stage.inputs.prune),
    readMask(ctx, stage.inputs.gold),
    readIndices(ctx, stage.inputs.forget),
    stage.inputs.floor ? readMask(ctx, stage.inputs.floor) : undefined,
    stage.inputs.floorInit ? readMask(ctx, stage.inputs.floorInit) : undefined,
  ]);
  // Class-wise deletion (as Unlearn-Sparse's dataset.py): the forgotten classes leave the test set, so TA and the
  // MIA's non-members cover the classes still learned; TA on the forgotten classes is its own measurement.
  const forgotten = new Set(p.forgottenClasses ?? []);
  const testIdx = Array.from({ length: ds.test.n }, (_, i) => i);
  const test = forgotten.size
    ? viewOf(
        ds,
        testIdx.filter((i) => !forgotten.has(ds.test.y[i]!)),
        'test',
      )
    : fullView(ds, 'test');
  const forgottenTest = forgotten.size
    ? viewOf(
        ds,
        testIdx.filter((i) => forgotten.has(ds.test.y[i]!)),
        'test',
      )
    : undefined;
  const net = new Network(def, model.weights);
  // Its pruned weights are zero: the forward passes may skip them.
  net.usePatterns(model.mask);
  ctx.heartbeat?.('evaluate: forward passes');
  const forwardStart = performance.now();
  let outs;
  try {
    outs = modelOutputs(
      net,
      { retain: without(trainView(ds), forgetIdx), forget: viewOf(ds, forgetIdx), test, forgottenTest },
      // Enough D_r outputs for the largest shadow member/non-member ratio asked for.
      Math.ceil(p.evaluate.miaShadow * Math.max(1, ...(p.evaluate.miaShadowRatio ?? []))),
    );
  } finally {
    net.dispose();
  }
  // Where evaluation's time goes (forward passes, the attack's SVCs): recorded in the manifest for bench/profile.ts.
  const forwardSeconds = (performance.now() - forwardStart) / 1000;
  ctx.heartbeat?.('evaluate: membership inference attack');
  const miaStart = performance.now();
  const features = p.evaluate.miaFeatures;
  const nonMembers = headOutputs(outs.test, p.evaluate.miaShadow);
  const mia = await miaEfficacy(outs.retain, nonMembers, outs.forget, features);
  const byRatio: Record<string, number> = {};
  for (const r of p.evaluate.miaShadowRatio ?? []) {
    const m = await miaEfficacy(
      outs.retain,
      nonMembers,
      outs.forget,
      [features[0]!],
      Math.round(r * nonMembers.labels.length),
    );
    byRatio[String(r)] = 100 * m[features[0]!];
  }
  const miaSeconds = (performance.now() - miaStart) / 1000;
  const masks = compareToGold(model.mask, original, gold, p.filterLevel);
  const metrics: Measurements = {
    ...outs.metrics,
    mia_efficacy: 100 * mia[features[0]!],
    forget_size: forgetIdx.length,
    mia: Object.fromEntries(features.map((f) => [f, 100 * mia[f]])),
    mia_by_ratio: byRatio,
    iou_gold: masks.iouGold,
    iou_gold_base: masks.iouGoldBase,
    iou_gold_filters: masks.iouGoldFilters,
    iou_gold_base_filters: masks.iouGoldBaseFilters,
    iou_floor: floor ? maskIoU(gold, floor) : null,
    iou_floor_init: floorInit ? maskIoU(gold, floorInit) : null,
    recovery: masks.recovery,
    hamming_gold: masks.hammingGold,
    per_layer_iou_gold: masks.perLayerIouGold,
    final_sparsity: masks.sparsity,
    estimator_shift: model.info.estimator_shift,
    near_threshold_at_estimator_shift: model.info.near_threshold_at_estimator_shift,
    weight_change: relativeWeightChange(model.weights, before),
  };
  // Wall times go to the manifest (rows read them from there): the metrics blob stays byte-identical across runs.
  // The gold standard's cost: retraining on D_r and pruning the result (both counted fully, though shared).
  const goldManifest = await ctx.store.readManifest('gold', stage.inputs.gold);
  const trainR = goldManifest?.inputs.train;
  const goldRun = (goldManifest?.run ?? {}) as StageCost;
  const trainRun = ((trainR && (await ctx.store.readManifest('train', trainR))?.run) ?? {}) as StageCost;
  await writeOutputs(ctx, stage, { 'metrics.json': encodeJson(metrics) }, (performance.now() - start) / 1000, {
    rte_s: model.timing.unlearn_s,
    unprune_s: model.timing.unprune_s,
    unprune_cost_s: model.timing.unprune_cost_s,
    unprune_examples: model.timing.unprune_examples,
    gold_cost_s: (goldRun.seconds ?? 0) + (trainRun.seconds ?? 0),
    gold_examples: (goldRun.examples ?? 0) + (trainRun.examples ?? 0),
    forward_s: +forwardSeconds.toFixed(4),
    mia_s: +miaSeconds.toFixed(4),
  });
}
