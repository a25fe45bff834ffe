// Stage artifacts in the store: reading a stage's inputs by key (verified; a missing or corrupt one is a
// MissingInputError), the model artifact's format, and writing a stage's outputs with its manifest last.
import { currentBackend, tf } from '../ml/backend.js';
import type { Mask } from '../ml/mask.js';
import type { Weights } from '../ml/models/network.js';
import type { LayerSeconds } from '../ml/layer-seconds.js';
import type { StageManifest } from '../store/artifact-store.js';
import {
  decodeIndices,
  decodeJson,
  decodeMask,
  decodeWeights,
  encodeJson,
  encodeMask,
  encodeWeights,
} from '../store/codec.js';
import { kindOfKey, STAGE_KIND, type AnyStage } from '../sweep/stage-kinds.js';
import { stageExamples, stageLayerSeconds, type StageContext } from './stage-context.js';

/** A missing or corrupt input: the stage cannot run until the input stage is (re)computed. */
export class MissingInputError extends Error {
  constructor(readonly inputKey: string) {
    super(`input ${inputKey} is missing from the store or fails its checksum`);
    this.name = 'MissingInputError';
  }
}

async function blob(ctx: StageContext, key: string, name: string): Promise<Uint8Array> {
  const b = await ctx.store.readBlob(kindOfKey(key), key, name);
  if (!b) throw new MissingInputError(key);
  return b;
}

export const readWeights = async (ctx: StageContext, key: string, name = 'weights.bin'): Promise<Weights> =>
  decodeWeights(await blob(ctx, key, name));
export const readMask = async (ctx: StageContext, key: string): Promise<Mask> =>
  decodeMask(await blob(ctx, key, 'mask.bin'));
export const readIndices = async (ctx: StageContext, key: string): Promise<Int32Array> =>
  decodeIndices(await blob(ctx, key, 'indices.bin'));
export const readJson = async <T>(ctx: StageContext, key: string, name: string): Promise<T> =>
  decodeJson<T>(await blob(ctx, key, name));

/**
 * A model artifact (prune, gold, unlearn, unprune): weights, the mask in force, and facts about how it came to be.
 * Blobs hold only deterministic content, so two processes computing the same stage write the same bytes.
 */
export interface ModelInfo {
  /** One-shot re-pruning's diagnostic (ml/unprune/unprune.ts): null without it. */
  estimator_shift: number | null;
  near_threshold_at_estimator_shift: number | null;
  sparsity?: number;
}
export const NO_UNLEARNING: ModelInfo = { estimator_shift: null, near_threshold_at_estimator_shift: null };

/** What every manifest's `run` records of a stage's cost (older manifests may lack `examples`). */
export interface StageCost {
  seconds?: number;
  examples?: number;
}

/** Wall times along a model's chain, kept in its manifest's `run` (not in blobs: they differ run to run). */
export interface ModelTiming {
  /** Unlearning wall time (RTE), seconds. */
  unlearn_s: number;
  unprune_s: number;
  /** All un-pruning work on the chain: re-masking plus its estimate (counted fully, though shared), or regrow's rounds. */
  unprune_cost_s: number;
  unprune_examples: number;
}

export async function readModel(
  ctx: StageContext,
  key: string,
): Promise<{ weights: Weights; mask: Mask; info: ModelInfo; timing: ModelTiming }> {
  // The whole stage at once: its manifest read once (each blob read on its own reads it again).
  const rec = await ctx.store.readStage(kindOfKey(key), key);
  const blobs = rec?.blobs ?? {};
  if (!rec || !blobs['weights.bin'] || !blobs['mask.bin'] || !blobs['info.json']) throw new MissingInputError(key);
  const weights = decodeWeights(blobs['weights.bin']);
  const mask = decodeMask(blobs['mask.bin']);
  const info = decodeJson<ModelInfo>(blobs['info.json']);
  const run = (rec.manifest.run ?? {}) as Partial<ModelTiming>;
  const timing: ModelTiming = {
    unlearn_s: run.unlearn_s ?? 0,
    unprune_s: run.unprune_s ?? 0,
    unprune_cost_s: run.unprune_cost_s ?? 0,
    unprune_examples: run.unprune_examples ?? 0,
  };
  return { weights, mask, info, timing };
}

export function modelBlobs(weights: Weights, mask: Mask, info: ModelInfo): Record<string, Uint8Array> {
  return { 'weights.bin': encodeWeights(weights), 'mask.bin': encodeMask(mask), 'info.json': encodeJson(info) };
}

/** The manifest's `layers` entry: the stage's time by layer, where the native layer chain ran. */
function layersOf(ctx: StageContext): { layers?: LayerSeconds } {
  const layers = stageLayerSeconds(ctx);
  return Object.keys(layers).length ? { layers } : {};
}

/** Writes a stage's outputs; the manifest (last) records params, inputs, library versions and wall time. */
export async function writeOutputs(
  ctx: StageContext,
  stage: AnyStage,
  blobs: Record<string, Uint8Array>,
  seconds: number,
  run: Record<string, number> = {},
): Promise<StageManifest> {
  const declared = STAGE_KIND[stage.kind].outputs;
  const names = Object.keys(blobs);
  if (names.length !== declared.length || names.some((n) => !declared.includes(n)))
    throw new Error(
      `${stage.kind} wrote ${names.join(', ') || 'no blobs'}; its declaration says ${declared.join(', ') || 'none'}`,
    );
  const backend = currentBackend();
  return ctx.store.writeStage(stage.kind, stage.key, blobs, {
    params: stage.params,
    inputs: stage.inputs as Record<string, string>,
    libraries: { '@tensorflow/tfjs-core': tf.version_core, backend: backend.name },
    // Wall time and examples passed forward and backward: the stage's cost in seconds and in machine-free units;
    // where the native layer chain ran, its time by layer (bench:profile sums them).
    run: { seconds: +seconds.toFixed(3), examples: stageExamples(ctx), ...run, ...layersOf(ctx) },
  });
}
