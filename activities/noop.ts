// A stage that computes nothing: it waits `sleepMs` and writes a manifest with no blobs. It exists to measure the
// engines' own cost per stage (scheduler, process pool, store checks; bench/scheduler.ts) with everything real
// except the science. It is not part of any sweep plan.
import type { StageContext } from './stage-context.js';

export interface NoopStage {
  key: string;
  kind: 'noop';
  params: { index: number; sleepMs: number };
  inputs: { after?: string };
}

export async function noopStage(stage: NoopStage, ctx: StageContext): Promise<void> {
  const start = performance.now();
  if (stage.params.sleepMs > 0) await new Promise((r) => setTimeout(r, stage.params.sleepMs));
  await ctx.store.writeStage(
    stage.kind,
    stage.key,
    {},
    {
      params: stage.params,
      inputs: stage.inputs as Record<string, string>,
      libraries: {},
      run: { seconds: +((performance.now() - start) / 1000).toFixed(3) },
    },
  );
}
