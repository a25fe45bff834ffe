// `train`: dense training from the seeded init on all of D, or on D_r (D minus a forget set, same batch order).
// After an epoch it stores a checkpoint (weights + optimiser state, verified like any artifact) once
// UNPRUNE_CHECKPOINT_SECONDS have passed since its start or its last one; a retried or rerun stage resumes from the
// last one and produces the same bytes as an uninterrupted run.
import { without } from '../ml/data/dataset.js';
import { deriveSeed } from '../ml/data/seeded-random.js';
import { initWeights } from '../ml/models/init-weights.js';
import { Network } from '../ml/models/network.js';
import { trainNetwork, type TrainingCheckpoint } from '../ml/train.js';
import { decodeJson, decodeWeights, encodeJson, encodeWeights } from '../store/codec.js';
import type { StageNode } from '../sweep/plan.js';
import { readIndices, writeOutputs } from './stage-artifacts.js';
import { stageExamples, trainHooks, type StageContext } from './stage-context.js';
import { stageArch, stageDataset, trainView } from './stage-datasets.js';
import { trainConfig } from './spec-to-ml.js';

/** Checkpoints live beside the stages as their own verified records, removed once the stage is stored. */
export const CHECKPOINT_KIND = 'train-checkpoint';

/**
 * The checkpoints an original training keeps for the `rewind` estimator (params.keep): verified records like the
 * resume checkpoints, kept for good. A stage that finds one missing reports its train input lost (it is rerun).
 */
export const REWIND_KIND = 'train-rewind';
export const rewindKey = (trainKey: string, epoch: number) => `${trainKey}.e${epoch}`;

/**
 * A stage's two checkpoint slots, written by turns (even epochs, odd epochs): a process killed while writing one
 * (a cancel kills the stage process at once) leaves the other whole, so a retry always finds the last complete one.
 */
export const checkpointKeys = (key: string) => [`${key}.even`, `${key}.odd`] as const;

export async function writeCheckpoint(
  ctx: StageContext,
  key: string,
  c: TrainingCheckpoint,
  at: { kind: string; key: string } = { kind: CHECKPOINT_KIND, key: checkpointKeys(key)[c.epoch % 2]! },
): Promise<void> {
  const slots: Record<string, Float32Array> = {};
  const counts: Record<string, number> = {};
  for (const [name, list] of Object.entries(c.optimizer.slots)) {
    counts[name] = list.length;
    list.forEach((a, i) => (slots[`${name}/${i}`] = a));
  }
  await ctx.store.writeStage(
    at.kind,
    at.key,
    {
      'weights.bin': encodeWeights(c.weights),
      'slots.bin': encodeWeights(slots),
      'state.json': encodeJson({ epoch: c.epoch, t: c.optimizer.t, counts }),
    },
    { params: { epoch: c.epoch }, inputs: {}, libraries: {} },
  );
}

/** The latest whole checkpoint of a stage (the later epoch of the two slots that verify), if any. */
export async function readCheckpoint(ctx: StageContext, key: string): Promise<TrainingCheckpoint | undefined> {
  const found = await Promise.all(checkpointKeys(key).map((k) => readCheckpointSlot(ctx, CHECKPOINT_KIND, k)));
  return found.reduce<TrainingCheckpoint | undefined>((a, b) => (!a || (b && b.epoch > a.epoch) ? b : a), undefined);
}

export async function readCheckpointSlot(
  ctx: StageContext,
  kind: string,
  slot: string,
): Promise<TrainingCheckpoint | undefined> {
  const rec = await ctx.store.readStage(kind, slot);
  if (!rec) return undefined;
  const state = decodeJson<{ epoch: number; t: number; counts: Record<string, number> }>(rec.blobs['state.json']!);
  const flat = decodeWeights(rec.blobs['slots.bin']!);
  const slots = Object.fromEntries(
    Object.entries(state.counts).map(([name, n]) => [name, Array.from({ length: n }, (_, i) => flat[`${name}/${i}`]!)]),
  );
  return { epoch: state.epoch, weights: decodeWeights(rec.blobs['weights.bin']!), optimizer: { t: state.t, slots } };
}

export async function trainStage(stage: StageNode<'train'>, ctx: StageContext): Promise<void> {
  const start = performance.now();
  const p = stage.params;
  const ds = stageDataset(p.dataset, stage.runtime, ctx);
  const def = stageArch(ds, p.arch);
  // The init floor's gold pipeline starts from another init (the k-th derived seed); every other train stage from
  // the lineage's own.
  const init = initWeights(def, p.reinit ? deriveSeed(p.seed, `reinit:${p.reinit}`) : p.seed);
  let view = trainView(ds);
  if (p.sample === 'retain') view = without(view, await readIndices(ctx, stage.inputs.forget!));
  const cfg = trainConfig(p.train, p.seed, p.reshuffle);
  const resume = await readCheckpoint(ctx, stage.key);
  if (resume) ctx.heartbeat?.(`resuming train ${p.sample} after epoch ${resume.epoch}/${cfg.epochs}`);
  const net = new Network(def, init);
  // A resume checkpoint once enough training would be lost without one: a quickstart's trainings take ~0.2 s, and
  // writing one after every epoch but the last (28 in all) was 0.37 s of its 22 s inside stages.
  const everyMs = (ctx.checkpointSeconds ?? 0) * 1000;
  let lastCheckpoint = performance.now();
  try {
    await trainNetwork(net, view, cfg, {
      hooks: trainHooks(ctx, `train ${p.sample}`),
      resume,
      onEpochEnd: async (epoch, checkpoint) => {
        if (p.keep?.includes(epoch))
          await writeCheckpoint(ctx, stage.key, checkpoint(), { kind: REWIND_KIND, key: rewindKey(stage.key, epoch) });
        if (epoch < cfg.epochs && performance.now() - lastCheckpoint >= everyMs) {
          await writeCheckpoint(ctx, stage.key, checkpoint());
          lastCheckpoint = performance.now();
        }
      },
    });
    const blobs = { 'weights.bin': encodeWeights(net.getWeights()), 'init.bin': encodeWeights(init) };
    // The stage's cost is the whole training's, however it ran: epochs done before a resume (here, by an earlier
    // attempt, or by another sweep training the same stage at the same time) count too.
    const examples = stageExamples(ctx) + (resume ? resume.epoch * view.indices.length : 0);
    await writeOutputs(ctx, stage, blobs, (performance.now() - start) / 1000, { examples });
  } finally {
    net.dispose();
  }
  for (const slot of checkpointKeys(stage.key)) await ctx.store.removeStage(CHECKPOINT_KIND, slot);
}
