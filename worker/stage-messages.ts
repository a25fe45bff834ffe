// The local engine's protocol with its worker processes.
import type { NoopStage } from '../activities/noop.js';
import type { AnyStage } from '../sweep/plan.js';
import type { StageOutcome } from '../sweep/runner.js';
import type { StageStats } from '../activities/stage-context.js';

/** What a worker process runs: a plan's stage, or a no-op stage (engine overhead benchmarks). */
export type EngineStage = AnyStage | NoopStage;

export type ParentMessage = { type: 'run'; stage: EngineStage };
export type WorkerMessage =
  | { type: 'ready'; backend: string }
  | { type: 'result'; key: string; outcome: StageOutcome; seconds: number; stats: StageStats }
  | { type: 'error'; key: string; name: string; message: string; stats: StageStats };

/** Errors that fail the same way on every attempt: retrying them only delays the report. */
export const PERMANENT_ERRORS = [
  'DatasetMissingError',
  'BackendUnavailableError',
  'ForgetSetError',
  'DataFileError',
  // Same seed, same data, same NaN: a diverging configuration does not heal by retrying.
  'NonFiniteLossError',
];
