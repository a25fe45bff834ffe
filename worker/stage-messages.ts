// The local engine's protocol with its worker processes.
import type { AnyStage } from '../sweep/stage-kinds.js';
import type { StageOutcome } from '../sweep/runner.js';
import type { StageStats } from '../activities/stage-context.js';

/** What a worker process runs: any declared stage kind (no-op stages too, for engine overhead benchmarks). */
export type EngineStage = AnyStage;

export type ParentMessage = { type: 'run'; stage: EngineStage };
export type WorkerMessage =
  | { type: 'ready'; backend: string }
  /** Every second while a stage runs (between batches): the engine's liveness check. */
  | { type: 'alive'; key: string; detail?: string }
  | { type: 'result'; key: string; outcome: StageOutcome; seconds: number; stats: StageStats }
  | {
      type: 'error';
      key: string;
      name: string;
      message: string;
      permanent: boolean;
      /** The process cannot run another stage (its wasm module aborted, out of memory): it exits after this. */
      fatal?: boolean;
      /** A MissingInputError's input: the engine recomputes it, then retries the stage. */
      inputKey?: string;
      stats: StageStats;
    };
