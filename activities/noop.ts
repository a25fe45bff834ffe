// `noop`: computes nothing; it waits `sleepMs` and writes a manifest with no blobs. It exists to measure the
// engines' own cost per stage (scheduler, process pool, store checks; bench/scheduler.ts) with everything real
// except the science. No sweep plan contains it.
import type { StageNode } from '../sweep/stage-kinds.js';
import { writeOutputs } from './stage-artifacts.js';
import type { StageContext } from './stage-context.js';

export type NoopStage = StageNode<'noop'>;

export async function noopStage(stage: NoopStage, ctx: StageContext): Promise<void> {
  const start = performance.now();
  if (stage.params.sleepMs > 0) await new Promise((r) => setTimeout(r, stage.params.sleepMs));
  await writeOutputs(ctx, stage, {}, (performance.now() - start) / 1000);
}
