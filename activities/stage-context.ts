// What a stage function is given: the store, where to report what it measured and how far it got, a cancel
// signal, and the process's data-set folders. Built by each engine's edge (stage process, Temporal activity).
import type { DatasetName } from '../ml/catalog.js';
import { layerSecondsSince, type LayerSeconds } from '../ml/layer-seconds.js';
import { trainingExamplesSoFar } from '../ml/training-examples.js';
import type { TrainHooks } from '../ml/train.js';
import type { ArtifactStore } from '../store/artifact-store.js';
import type { StoreOp } from '../store/metered-blob-store.js';

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
  /**
   * A training stage stores a resume checkpoint after an epoch only once this many seconds have passed since its
   * start or its last one (default 0: after every epoch). Each costs a write of the weights and optimiser state.
   */
  checkpointSeconds?: number;
  /** Folders of data sets read from the file system, from the process settings (a spec's `dataset.dir` wins). */
  datasetDirs?: Partial<Record<DatasetName, string>>;
  /** The process's training-example count when the stage began (set by runStage): its cost is the growth. */
  examplesAtStart?: number;
  /** The process's time by layer when the stage began (set by runStage; ml/layer-seconds.ts). */
  layerTimeAtStart?: Map<string, Float64Array>;
}

/** Examples this stage has passed forward and backward so far (ml/training-examples.ts). */
export function stageExamples(ctx: StageContext): number {
  return ctx.examplesAtStart === undefined ? 0 : trainingExamplesSoFar() - ctx.examplesAtStart;
}

/** The native layer chain's time by layer and phase so far in this stage (none where it ran on tfjs's engine). */
export function stageLayerSeconds(ctx: StageContext): LayerSeconds {
  return ctx.layerTimeAtStart === undefined ? {} : layerSecondsSince(ctx.layerTimeAtStart);
}

/** Training hooks that report a stage's progress: examples and time to its stats, a line to its heartbeat. */
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
