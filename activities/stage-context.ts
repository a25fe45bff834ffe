// What every stage activity shares: the store, per-process caches of data sets, reading input artifacts by key,
// and writing outputs with a manifest. Activities take a stage node (kind, params, input keys) and return keys.
import { currentBackend, tf } from '../ml/backend.js';
import { fullView, type Dataset, type DataView } from '../ml/data/dataset.js';
import { loadDataset } from '../ml/data/load-dataset.js';
import type { Mask } from '../ml/mask.js';
import type { ArchName, DatasetName } from '../ml/catalog.js';
import { buildArch } from '../ml/models/architectures.js';
import type { ArchDefinition, Weights } from '../ml/models/network.js';
import type { TrainConfig, TrainHooks } from '../ml/train.js';
import type { ArtifactStore, StageManifest } from '../store/artifact-store.js';
import type { StoreOp } from '../store/metered-blob-store.js';
import {
  decodeIndices,
  decodeJson,
  decodeMask,
  decodeWeights,
  encodeJson,
  encodeMask,
  encodeWeights,
} from '../store/codec.js';
import type { AnyStage, DatasetRef, StageNode } from '../sweep/plan.js';
import { kindOfKey, STAGE_KIND } from '../sweep/stage-kinds.js';
import type { TrainSpec } from '../sweep/spec.js';

/** What one stage run measured, for metrics (a worker process sends it to the engine with the result). */
export interface StageStats {
  examples: number;
  trainSeconds: number;
  store: { op: StoreOp; seconds: number; bytes: number }[];
  /** Artifacts that failed their check while this stage read them. */
  corrupt?: { path: string; reason: string }[];
}

export function emptyStats(): StageStats {
  return { examples: 0, trainSeconds: 0, store: [] };
}

export interface StageContext {
  store: ArtifactStore;
  /** Filled in as the stage runs (training examples and time). */
  stats?: StageStats;
  /** Aborts long training loops (worker shutdown, Temporal cancellation). */
  signal?: AbortSignal;
  /** Called during training with a short progress line (Temporal heartbeats, local progress). */
  heartbeat?: (detail: string) => void;
  /** Folders of data sets read from the file system, from the process settings (a spec's `dataset.dir` wins). */
  datasetDirs?: Partial<Record<DatasetName, string>>;
}

/** A missing or corrupt input: the stage cannot run until the input stage is (re)computed. */
export class MissingInputError extends Error {
  constructor(key: string) {
    super(`input ${key} is missing from the store or fails its checksum`);
    this.name = 'MissingInputError';
  }
}

const datasets = new Map<string, Dataset>();

/** Loads (once per process) the data set a stage names. */
export function stageDataset(ref: DatasetRef, runtime?: StageNode['runtime'], ctx?: StageContext): Dataset {
  const id = JSON.stringify(ref);
  let ds = datasets.get(id);
  if (!ds) {
    ds = loadDataset({
      name: ref.name,
      train: ref.train ?? undefined,
      test: ref.test ?? undefined,
      subsetSeed: ref.subsetSeed,
      dir: runtime?.datasetDir ?? ctx?.datasetDirs?.[ref.name],
    });
    datasets.set(id, ds);
  }
  return ds;
}

export function stageArch(ds: Dataset, arch: string): ArchDefinition {
  return buildArch(arch as ArchName, ds.inputShape, ds.numClasses);
}

export function trainConfig(spec: TrainSpec, seed: number): TrainConfig {
  return {
    optimizer: spec.optimizer,
    lr: spec.lr,
    momentum: spec.momentum,
    nesterov: spec.nesterov,
    weightDecay: spec.weightDecay,
    epochs: spec.epochs,
    batchSize: spec.batch,
    schedule: { kind: spec.schedule },
    seed,
  };
}

export function trainHooks(ctx: StageContext, what: string): TrainHooks {
  // p.examples counts from the start of each training call; a stage may train several times (IMP rounds).
  let last = 0;
  return {
    signal: ctx.signal,
    progressEvery: 20,
    onProgress: (p) => {
      if (ctx.stats) {
        const delta = p.examples >= last ? p.examples - last : p.examples;
        last = p.examples;
        ctx.stats.examples += delta;
        ctx.stats.trainSeconds += p.examplesPerSecond > 0 ? delta / p.examplesPerSecond : 0;
      }
      ctx.heartbeat?.(`${what}: epoch ${p.epoch}/${p.epochs} batch ${p.batch}/${p.batchesPerEpoch}`);
    },
  };
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
  /** Un-pruning's error bound: ε and the number of weights within 2ε of the threshold (0 without un-pruning). */
  epsilon: number;
  near_threshold: number;
  sparsity?: number;
}
export const NO_UNLEARNING: ModelInfo = { epsilon: 0, near_threshold: 0 };

/** Wall times along a model's chain, kept in its manifest's `run` (not in blobs: they differ run to run). */
export interface ModelTiming {
  /** Unlearning wall time (RTE), seconds. */
  unlearn_s: number;
  unprune_s: number;
}

export async function readModel(
  ctx: StageContext,
  key: string,
): Promise<{ weights: Weights; mask: Mask; info: ModelInfo; timing: ModelTiming }> {
  const [weights, mask, info, manifest] = await Promise.all([
    readWeights(ctx, key),
    readMask(ctx, key),
    readJson<ModelInfo>(ctx, key, 'info.json'),
    ctx.store.readManifest(kindOfKey(key), key),
  ]);
  const run = (manifest?.run ?? {}) as Partial<ModelTiming>;
  return { weights, mask, info, timing: { unlearn_s: run.unlearn_s ?? 0, unprune_s: run.unprune_s ?? 0 } };
}

export function modelBlobs(weights: Weights, mask: Mask, info: ModelInfo): Record<string, Uint8Array> {
  return { 'weights.bin': encodeWeights(weights), 'mask.bin': encodeMask(mask), 'info.json': encodeJson(info) };
}

export function trainView(ds: Dataset): DataView {
  return fullView(ds, 'train');
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
    run: { seconds: +seconds.toFixed(3), ...run },
  });
}
