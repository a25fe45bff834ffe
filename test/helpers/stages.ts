// Runs a sweep's stages in this process through the production stage functions (activities/run-stage.ts) against
// a temporary filesystem store, so ml/ tests exercise what the engines run, not a copy of it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModel } from '../../activities/stage-artifacts.js';
import type { StageContext } from '../../activities/stage-context.js';
import { runStage } from '../../activities/run-stage.js';
import { openStore } from '../../store/artifact-store.js';
import { planSweep, type AnyStage, type Plan } from '../../sweep/plan.js';
import { validateSweep } from '../../sweep/spec.js';

export interface InProcessRun {
  plan: Plan;
  ctx: StageContext;
  /** The stored model (weights, mask, info) of a model-producing stage. */
  model: (key: string) => ReturnType<typeof readModel>;
  stage: (key: string) => AnyStage;
}

/** Validates `spec` (a sweep object as YAML would give it), plans it and (unless `run: false`) runs every stage. */
export async function runSweepInProcess(spec: Record<string, unknown>, opts = { run: true }): Promise<InProcessRun> {
  const plan = planSweep(validateSweep({ name: 'in-process', ...spec }));
  const ctx: StageContext = { store: openStore(mkdtempSync(join(tmpdir(), 'unprune-stages-'))) };
  if (opts.run) for (const s of plan.stages) await runStage(s, ctx);
  const byKey = new Map(plan.stages.map((s) => [s.key, s] as const));
  return { plan, ctx, model: (key) => readModel(ctx, key), stage: (key) => byKey.get(key)! };
}
