import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fullView, without } from '../../ml/data/dataset.js';
import { forgetSet } from '../../ml/data/forget-set.js';
import { makeSynthetic } from '../../ml/data/synthetic.js';
import { countKept, keptCount, type Mask } from '../../ml/mask.js';
import { maskIoU } from '../../ml/metrics/masks.js';
import { buildArch } from '../../ml/models/architectures.js';
import { initWeights } from '../../ml/models/init-weights.js';
import { pruneNetwork } from '../../ml/prune/prune-network.js';
import { criterionScores, nearThresholdCount, repairedWeights, repruneMask } from '../../ml/unprune/reprune.js';
import { goldModel, trainedWeights, useBackend } from '../helpers/ml.js';

await useBackend();

/** A seeded synthetic problem, its MLP trained densely, and D_r after a 25% random deletion. */
async function trainedSynthetic() {
  const ds = makeSynthetic({ train: 240, test: 40, inputShape: [6, 6, 1], numClasses: 3, noise: 2, seed: 8 });
  const def = buildArch('mlp', ds.inputShape, 3);
  const init = initWeights(def, 2);
  const train = { epochs: 2, batchSize: 32, optimizer: 'sgd' as const, lr: 0.05, momentum: 0.9, seed: 0 };
  const dense = await trainedWeights(def, init, fullView(ds, 'train'), train);
  const retain = without(fullView(ds, 'train'), forgetSet(ds.train.y, 3, { kind: 'random', size: 0.25, seed: 0 }));
  return { ds, def, init, train, dense, retain };
}

test('re-pruning with the exact estimate (θ̂_r := θ_r) returns m_r exactly, for OMP and structured masks', async () => {
  const { ds, def, init, train, dense, retain } = await trainedSynthetic();
  for (const method of ['omp', 'structured'] as const) {
    const req = { method, sparsity: 0.5, seed: 0, softEpochs: 0 };
    const m = (await pruneNetwork({ def, init, dense, view: fullView(ds, 'train'), train }, req)).mask;
    const gold = await goldModel(def, init, retain, train, req);
    assert.ok(maskIoU(m, gold.mask) < 1, `${method}: the deleted data changed the mask`);
    const mu = repruneMask(def, req, gold.dense, m);
    assert.deepEqual(mu, gold.mask, `${method}: m_u = m_r`);
    assert.equal(countKept(mu), countKept(m), 'same budget');
    const near = nearThresholdCount(criterionScores(def, method, gold.dense), mu, 0);
    assert.ok(near >= 1, 'ε = 0 counts only the threshold weights themselves');
  }
  assert.equal(
    repruneMask(def, { method: 'synflow', sparsity: 0.5 }, dense, { layers: [] } as Mask).layers.length,
    0,
    'SynFlow masks pass unchanged',
  );
});

test('IMP re-pruning replays the rounds: with θ̂_r := θ_r and full rounds it returns m_r exactly; one-shot top-k is refused', async () => {
  const { iterativeRepruneMask } = await import('../../ml/unprune/reprune.js');
  const { unprune } = await import('../../ml/unprune/unprune.js');
  const { viewOf } = await import('../../ml/data/dataset.js');
  const ds = makeSynthetic({ train: 240, test: 40, inputShape: [6, 6, 1], numClasses: 3, noise: 2, seed: 8 });
  const def = buildArch('mlp', ds.inputShape, 3);
  const init = initWeights(def, 2);
  const train = { epochs: 2, batchSize: 32, optimizer: 'sgd' as const, lr: 0.05, momentum: 0.9, seed: 0 };
  const dense = await trainedWeights(def, init, fullView(ds, 'train'), train);
  const df = forgetSet(ds.train.y, 3, { kind: 'random', size: 0.25, seed: 0 });
  const retain = without(fullView(ds, 'train'), df);
  const req = { method: 'imp' as const, sparsity: 0.7, rounds: 3, seed: 0 };
  const pruned = await pruneNetwork({ def, init, dense, view: fullView(ds, 'train'), train }, req);
  const gold = await goldModel(def, init, retain, train, req);
  assert.ok(maskIoU(pruned.mask, gold.mask) < 1, 'the deleted data changed the IMP mask');
  const exact = await iterativeRepruneMask({ def, init, retain, train, roundEpochs: train.epochs }, req, gold.dense);
  assert.deepEqual(exact.mask, gold.mask, 'm_u = m_r');
  assert.throws(() => repruneMask(def, req, gold.dense, pruned.mask), /replaying the rounds/);
  // Through unprune: the retrain estimator's epochs set each replayed round's; the budget is m's.
  const inputs = { def, init, dense, retain, forget: viewOf(ds, df), train, epochs: train.epochs };
  const u = await unprune('reprune', 'retrain', req, pruned.mask, pruned.weights, inputs, gold.dense);
  assert.deepEqual(u.mask, gold.mask, 'unprune replays full rounds when the retrain estimator has all epochs');
  assert.equal(countKept(u.mask), countKept(pruned.mask), 'same budget');
  const short = await unprune(
    'reprune',
    'retrain',
    req,
    pruned.mask,
    pruned.weights,
    { ...inputs, epochs: 1 },
    gold.dense,
  );
  assert.equal(countKept(short.mask), countKept(pruned.mask), 'same budget with truncated rounds');
  assert.notDeepEqual(short.mask, gold.mask, 'truncated rounds are an estimate, not the gold run');
});

test('repaired weights: unlearned where m_u and m agree, θ̂_r where regrown, zero where pruned', () => {
  const m: Mask = { layers: [{ name: 'w', shape: [4], keep: Uint8Array.from([1, 1, 0, 0]) }] };
  const mu: Mask = { layers: [{ name: 'w', shape: [4], keep: Uint8Array.from([1, 0, 1, 0]) }] };
  const w = repairedWeights(
    { w: Float32Array.from([1, 2, 0, 0]), b: Float32Array.from([9]) },
    { w: Float32Array.from([5, 6, 7, 8]) },
    m,
    mu,
  );
  assert.deepEqual(Array.from(w.w!), [1, 0, 7, 0]);
  assert.deepEqual(Array.from(w.b!), [9]);
});

test('the unprune and unlearn stages, every estimator, both orders, and regrow: budget kept, m_u enforced, none is the baseline', async () => {
  const { runSweepInProcess } = await import('../helpers/stages.js');
  const { ESTIMATORS, UNPRUNE_ORDERS } = await import('../../ml/catalog.js');
  const unprune = [
    'none',
    ...UNPRUNE_ORDERS.flatMap((order) =>
      ESTIMATORS.map((estimator) => ({ variant: 'reprune', estimator, order, name: `${order}/reprune/${estimator}` })),
    ),
    { variant: 'regrow', name: 'regrow/original' },
    { variant: 'regrow', init: 'random', fraction: 0.5, rounds: 3, name: 'regrow/random' },
  ];
  const run = await runSweepInProcess({
    dataset: { name: 'synthetic', train: 200, test: 40 },
    model: { arch: 'mlp' },
    train: { epochs: 1, batch: 32, lr: 0.05 },
    seeds: [3],
    prune: [{ method: 'omp', sparsity: 0.6 }],
    deletion: { kind: 'random', sizes: [0.2] },
    unlearn: [{ method: 'ft', epochs: 1 }],
    unprune,
    evaluate: { miaShadow: 20 },
  });
  for (const cell of run.plan.cells) {
    const what = cell.axes.unprune;
    const pruned = await run.model(cell.chain.prune!);
    const final = await run.model((run.stage(cell.evaluate).inputs as { model: string }).model);
    if (what === 'none') {
      assert.equal(maskIoU(final.mask, pruned.mask), 1, 'none keeps m');
      continue;
    }
    assert.ok(cell.chain.unprune, `${what}: un-pruned`);
    assert.equal(countKept(final.mask), countKept(pruned.mask), `${what}: budget`);
    for (const l of final.mask.layers) {
      const w = final.weights[l.name]!;
      for (let i = 0; i < w.length; i++) if (!l.keep[i]) assert.ok(w[i] === 0, `${what}: ${l.name}[${i}]`);
    }
    const diagnostic = final.info.near_threshold_at_estimator_shift;
    if (what.includes('/reprune/')) assert.ok(diagnostic !== null && diagnostic >= 0, `${what}: diagnostic`);
    else assert.equal(diagnostic, null, `${what}: regrow has no criterion-space diagnostic`);
    if (what.startsWith('regrow')) assert.equal(cell.chain.unlearn, undefined, 'regrow runs the unlearning inside');
  }
});

test('regrow, where the premise is known: OMP, p = 100 %, original init, retrain inside → m_u = m_r exactly', async () => {
  const { runSweepInProcess } = await import('../helpers/stages.js');
  const run = await runSweepInProcess({
    dataset: { name: 'synthetic', train: 200, test: 40 },
    model: { arch: 'mlp' },
    train: { epochs: 2, batch: 32, lr: 0.05 },
    seeds: [5],
    prune: [{ method: 'omp', sparsity: [0.5, 0.8] }],
    deletion: { kind: 'random', sizes: [0.2] },
    unlearn: [{ method: 'retrain' }],
    unprune: ['none', { variant: 'regrow', fraction: 1, rounds: 1, init: 'original' }],
    evaluate: { miaShadow: 20 },
  });
  for (const cell of run.plan.cells) {
    const final = await run.model((run.stage(cell.evaluate).inputs as { model: string }).model);
    const gold = await run.model(cell.chain.gold!);
    const iou = maskIoU(final.mask, gold.mask);
    if (cell.axes.unprune === 'none') assert.ok(iou < 1, `the deletion moved the mask (IoU ${iou})`);
    else assert.deepEqual(final.mask, gold.mask, `regrow at ${cell.axes.sparsity}: m_u = m_r (IoU ${iou})`);
  }
});

test("regrow runs inside every unlearning algorithm and keeps each layer's budget exactly", async () => {
  const { runSweepInProcess } = await import('../helpers/stages.js');
  const { UNLEARN_METHODS } = await import('../../ml/catalog.js');
  const run = await runSweepInProcess({
    dataset: { name: 'synthetic', train: 160, test: 40 },
    model: { arch: 'mlp' },
    train: { epochs: 1, batch: 32, lr: 0.05 },
    seeds: [1],
    prune: [{ method: 'omp', sparsity: 0.7 }],
    deletion: { kind: 'random', sizes: [0.1] },
    unlearn: UNLEARN_METHODS.map((method) => ({ method, epochs: 1 })),
    unprune: [{ variant: 'regrow', rounds: 2 }],
    evaluate: { miaShadow: 20 },
  });
  for (const cell of run.plan.cells) {
    const final = await run.model((run.stage(cell.evaluate).inputs as { model: string }).model);
    const pruned = await run.model(cell.chain.prune!);
    final.mask.layers.forEach((l, i) =>
      assert.equal(keptCount(l.keep), keptCount(pruned.mask.layers[i]!.keep), `${cell.axes.unlearn}: ${l.name}`),
    );
  }
});

test('global scope: re-pruning the exact estimate at the same global budget gives m_r, though the layers shares moved', async () => {
  const { ds, def, init, train, dense, retain } = await trainedSynthetic();
  const req = { method: 'omp' as const, sparsity: 0.7, seed: 0, scope: 'global' as const };
  const m = (await pruneNetwork({ def, init, dense, view: fullView(ds, 'train'), train }, req)).mask;
  const gold = await goldModel(def, init, retain, train, req);
  const perLayer = (mask: Mask) => mask.layers.map((l) => l.keep.reduce((a, b) => a + b, 0));
  assert.notDeepEqual(perLayer(gold.mask), perLayer(m), 'the deletion moved the per-layer allocation');
  const mu = repruneMask(def, req, gold.dense, m);
  assert.deepEqual(mu, gold.mask, 'm_u = m_r');
  assert.equal(countKept(mu), countKept(m), 'same global budget');
});

test('through the stages, default settings and a cosine schedule: the exact estimate re-prunes to m_r for OMP (layer and global), IMP (from the init and rewound to epoch 1) and structured (with its soft epoch)', async () => {
  const { runSweepInProcess } = await import('../helpers/stages.js');
  const { readJson } = await import('../../activities/stage-artifacts.js');
  const epochs = 2;
  const run = await runSweepInProcess({
    dataset: { name: 'synthetic', train: 192, test: 32 },
    model: { arch: 'mlp' },
    train: { epochs, batch: 32, lr: 0.05, schedule: 'cosine' },
    seeds: [1],
    prune: [
      { method: 'omp', sparsity: [0.6] },
      { method: 'omp', sparsity: [0.6], scope: 'global' },
      { method: 'imp', sparsity: [0.6], rounds: 2 },
      { method: 'imp', sparsity: [0.6], rounds: 2, rewindEpoch: 1 },
      { method: 'structured', sparsity: [0.5] },
    ],
    deletion: [{ kind: 'random', sizes: [0.25] }],
    unlearn: [{ method: 'ft', epochs: 1 }],
    // The retrain estimator with every epoch is θ_r itself (same init, seed and batch order on D_r).
    unprune: ['none', { variant: 'reprune', estimator: 'retrain', epochs }],
    evaluate: { miaShadow: 16 },
  });
  for (const cell of run.plan.cells) {
    const m = await readJson<{ iou_gold: number; iou_gold_base: number }>(run.ctx, cell.evaluate, 'metrics.json');
    const what = `${cell.axes.prune}/${cell.axes.unprune}`;
    if (cell.axes.unprune === 'none') assert.ok(m.iou_gold < 1, `${what}: the deletion moved the mask`);
    else assert.equal(m.iou_gold, 1, `${what}: m_u = m_r`);
  }
});

test('structured regrow: whole filters regrown and re-pruned, each layer keeping as many filters as m', async () => {
  const { runSweepInProcess } = await import('../helpers/stages.js');
  const { filterMask } = await import('../../ml/metrics/masks.js');
  const run = await runSweepInProcess({
    dataset: { name: 'synthetic', train: 160, test: 40 },
    model: { arch: 'mlp' },
    train: { epochs: 1, batch: 32, lr: 0.05 },
    seeds: [2],
    prune: [{ method: 'structured', sparsity: 0.5 }],
    deletion: { kind: 'random', sizes: [0.1] },
    unlearn: [
      { method: 'ft', epochs: 1 },
      { method: 'ga', epochs: 1 },
    ],
    unprune: [
      { variant: 'regrow', rounds: 2, fraction: 0.5 },
      { variant: 'regrow', init: 'random', name: 'regrow/random' },
    ],
    evaluate: { miaShadow: 20 },
  });
  let moved = 0;
  for (const cell of run.plan.cells) {
    const what = `${cell.axes.unlearn}/${cell.axes.unprune}`;
    const final = await run.model((run.stage(cell.evaluate).inputs as { model: string }).model);
    const pruned = await run.model(cell.chain.prune!);
    const units = filterMask(final.mask);
    final.mask.layers.forEach((l, i) => {
      const perUnit = units.layers[i]!.keep;
      const n = perUnit.length;
      // A filter is kept whole or pruned whole: every weight of unit u follows the unit.
      for (let j = 0; j < l.keep.length; j++) assert.equal(l.keep[j], perUnit[j % n], `${what}: ${l.name}[${j}]`);
      const before = filterMask(pruned.mask).layers[i]!.keep;
      assert.equal(keptCount(perUnit), keptCount(before), `${what}: ${l.name} keeps as many filters as m`);
      moved += perUnit.reduce((s, k, u) => s + (k !== before[u] ? 1 : 0), 0);
    });
  }
  assert.ok(moved > 0, 'regrow moved some filters (it is not a no-op)');
});

test('the init floor: the gold pipeline from another init in the gold run own batch order; IoU(m_r, m_r″) measured, m_r″ ≠ m_r', async () => {
  const { runSweepInProcess } = await import('../helpers/stages.js');
  const { readRows } = await import('../../activities/sweep-rows.js');
  const { readWeights } = await import('../../activities/stage-artifacts.js');
  const { maskIoU } = await import('../../ml/metrics/masks.js');
  const run = await runSweepInProcess({
    dataset: { name: 'synthetic', train: 160, test: 40 },
    model: { arch: 'mlp' },
    train: { epochs: 1, batch: 32, lr: 0.05 },
    seeds: [3],
    prune: [
      { method: 'omp', sparsity: 0.7 },
      { method: 'synflow', sparsity: 0.7 },
    ],
    deletion: { kind: 'random', sizes: [0.1] },
    unlearn: [{ method: 'ft', epochs: 1 }],
    evaluate: { miaShadow: 20, floor: false, floorInit: true },
  });
  const omp = run.plan.cells.find((c) => c.axes.prune === 'omp')!;
  const floorInit = omp.chain.floorInit!;
  assert.ok(floorInit, 'planned for a data-dependent mask');
  assert.equal(run.plan.cells.find((c) => c.axes.prune === 'synflow')!.chain.floorInit, undefined, 'not for SynFlow');
  const trainRInit = (run.stage(floorInit).inputs as { train: string }).train;
  const trainR = omp.chain.trainR!;
  const params = (key: string) => run.stage(key).params as { reinit?: number; reshuffle?: number };
  assert.deepEqual(
    [params(trainRInit).reinit, params(trainRInit).reshuffle],
    [1, undefined],
    'another init, same order',
  );
  const [initR, initAlt] = await Promise.all([
    readWeights(run.ctx, trainR, 'init.bin'),
    readWeights(run.ctx, trainRInit, 'init.bin'),
  ]);
  assert.notDeepEqual(initAlt, initR, 'the init differs');
  const gold = await run.model(omp.chain.gold!);
  const alt = await run.model(floorInit);
  const { rows } = await readRows(run.ctx.store, run.plan);
  const row = rows.find((r) => r.prune === 'omp')!;
  assert.equal(row.iou_floor_init, maskIoU(gold.mask, alt.mask), 'IoU(m_r, m_r″) by definition');
  assert.ok(row.iou_floor_init! < 1, `m_r″ differs from m_r (IoU ${row.iou_floor_init})`);
  assert.equal(row.iou_floor, null, 'the batch-order floor was not asked for');
  assert.equal(rows.find((r) => r.prune === 'synflow')!.iou_floor_init, null);
});

test('rewind, where the premise is known: from the init it is the gold retrain (m_u = m_r for OMP); from epoch E − 1 it replays one epoch, its cost one epoch of D_r', async () => {
  const { runSweepInProcess } = await import('../helpers/stages.js');
  const { readJson } = await import('../../activities/stage-artifacts.js');
  const { REWIND_KIND, rewindKey } = await import('../../activities/train.js');
  const epochs = 3;
  const run = await runSweepInProcess({
    dataset: { name: 'synthetic', train: 192, test: 32 },
    model: { arch: 'mlp' },
    train: { epochs, batch: 32, lr: 0.05 },
    seeds: [2],
    prune: [{ method: 'omp', sparsity: [0.7] }],
    deletion: [{ kind: 'random', sizes: [0.25] }],
    unlearn: [{ method: 'ft', epochs: 1 }],
    unprune: [
      'none',
      { variant: 'reprune', estimator: 'rewind', epochs, name: 'rewind-all' },
      { variant: 'reprune', estimator: 'rewind', epochs: 1, name: 'rewind-1' },
    ],
    evaluate: { miaShadow: 16 },
  });
  const trainD = run.plan.stages.find((s) => s.kind === 'train' && (s.params as { sample: string }).sample === 'all')!;
  assert.deepEqual((trainD.params as { keep?: number[] }).keep, [epochs - 1], 'the original training keeps epoch 2');
  assert.ok(await run.ctx.store.readStage(REWIND_KIND, rewindKey(trainD.key, epochs - 1)), 'its checkpoint is stored');
  const retained = 192 - 48;
  for (const cell of run.plan.cells) {
    const m = await readJson<{ iou_gold: number }>(run.ctx, cell.evaluate, 'metrics.json');
    if (cell.axes.unprune === 'rewind-all')
      assert.equal(m.iou_gold, 1, 'from the init, rewind is the retrain: m_u = m_r');
    if (cell.axes.unprune === 'rewind-1') {
      const estimate = (await run.ctx.store.readManifest('estimate', cell.chain.estimate!))!;
      assert.equal(estimate.run?.examples, retained, 'one epoch of D_r replayed, nothing more');
    }
  }
  // The replay is the original trajectory's: from the kept checkpoint on all of D it gives θ_D bit for bit.
  const { readCheckpointSlot } = await import('../../activities/train.js');
  const { stageDataset, stageArch, trainView } = await import('../../activities/stage-datasets.js');
  const { trainConfig } = await import('../../activities/spec-to-ml.js');
  const { trainedCopy } = await import('../../ml/train.js');
  const p = trainD.params as import('../../sweep/stage-kinds.js').StageParams<'train'>;
  const ds = stageDataset(p.dataset, undefined, run.ctx);
  const def = stageArch(ds, p.arch);
  const point = (await readCheckpointSlot(run.ctx, REWIND_KIND, rewindKey(trainD.key, epochs - 1)))!;
  const replayed = await trainedCopy(def, point.weights, trainView(ds), trainConfig(p.train, p.seed), {
    resume: point,
  });
  const { readWeights } = await import('../../activities/stage-artifacts.js');
  const original = await readWeights(run.ctx, trainD.key);
  for (const [name, w] of Object.entries(original)) assert.deepEqual(replayed[name], w, name);
});
