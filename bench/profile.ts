// Where the quickstart's time goes: one cold run on the local engine (fresh store), then every stage's recorded wall
// time read back from its manifest — per stage kind (count, total, mean, share), evaluation split into its forward
// passes and the MIA's SVCs, the native layer chain's time by layer (forward, backward, update in training and
// unlearning; inference in evaluation: the manifests' run.layers, ml/layer-seconds.ts), and what is left of
// workers × wall for the engine itself (process messages, store checks, waiting on dependencies). A benchmark: it
// prints figures and never fails on speed.
//   npm run bench:profile -- [--spec FILE] [--workers 2] [--json]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAYER_PHASES, type LayerPhase, type LayerSeconds } from '../ml/layer-seconds.js';
import { openStore } from '../store/artifact-store.js';
import { planSweep } from '../sweep/plan.js';
import { parseSweep } from '../sweep/spec.js';
import { PLANNED_KINDS } from '../sweep/stage-kinds.js';
import { runSweepLocally } from '../worker/local-engine.js';
import { benchArgs } from './command-line.js';

const { values: args } = benchArgs(import.meta.url, {
  options: {
    spec: { type: 'string', default: new URL('../examples/quickstart.yaml', import.meta.url).pathname },
    workers: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
const plan = planSweep(parseSweep(readFileSync(args.spec!, 'utf8'), { source: args.spec }));
const workers = Math.max(1, Number(args.workers));
const storeDir = mkdtempSync(join(tmpdir(), 'unprune-bench-profile-'));
try {
  const start = performance.now();
  const result = await runSweepLocally(plan, { store: storeDir, workers });
  const wall = (performance.now() - start) / 1000;
  if (result.summary.progress.failed) throw new Error(`${result.summary.progress.failed} stages failed`);
  const store = openStore(storeDir);
  const byKind: Record<string, { stages: number; seconds: number }> = {};
  const evaluation = { forward: 0, mia: 0, total: 0 };
  const byLayer: Record<string, Record<LayerPhase, number>> = {};
  for (const s of plan.stages) {
    const run = (await store.readManifest(s.kind, s.key))?.run ?? {};
    for (const [label, phases] of Object.entries((run.layers ?? {}) as LayerSeconds)) {
      const l = (byLayer[label] ??= Object.fromEntries(LAYER_PHASES.map((p) => [p, 0])) as Record<LayerPhase, number>);
      for (const phase of LAYER_PHASES) l[phase] += phases[phase] ?? 0;
    }
    const seconds = typeof run.seconds === 'number' ? run.seconds : 0;
    const k = (byKind[s.kind] ??= { stages: 0, seconds: 0 });
    k.stages++;
    k.seconds += seconds;
    if (s.kind === 'evaluate') {
      evaluation.total += seconds;
      evaluation.forward += typeof run.forward_s === 'number' ? run.forward_s : 0;
      evaluation.mia += typeof run.mia_s === 'number' ? run.mia_s : 0;
    }
  }
  const stageSeconds = Object.values(byKind).reduce((a, k) => a + k.seconds, 0);
  const engineSeconds = workers * wall - stageSeconds;
  const report = {
    spec: args.spec,
    workers,
    backend: result.backend,
    wallSeconds: wall,
    stages: plan.stages.length,
    stageSeconds,
    byKind,
    evaluation: { ...evaluation, rest: evaluation.total - evaluation.forward - evaluation.mia },
    byLayer,
    /** workers × wall not spent inside a stage: per-stage overhead and workers idle waiting on dependencies. */
    engineSeconds,
    engineSecondsPerStage: engineSeconds / plan.stages.length,
  };
  const pct = (x: number) => `${((100 * x) / (workers * wall)).toFixed(1)}%`;
  console.log(
    `${plan.id}: ${plan.stages.length} stages on ${workers} workers (backend ${result.backend ?? '?'}): ${wall.toFixed(1)} s wall, ${stageSeconds.toFixed(1)} s inside stages`,
  );
  console.log(
    `${'kind'.padEnd(10)} ${'stages'.padStart(6)} ${'total s'.padStart(8)} ${'mean s'.padStart(7)} ${'share'.padStart(6)}`,
  );
  for (const kind of PLANNED_KINDS) {
    const k = byKind[kind];
    if (!k) continue;
    console.log(
      `${kind.padEnd(10)} ${String(k.stages).padStart(6)} ${k.seconds.toFixed(1).padStart(8)} ${(k.seconds / k.stages).toFixed(3).padStart(7)} ${pct(k.seconds).padStart(6)}`,
    );
  }
  console.log(
    `${'engine'.padEnd(10)} ${''.padStart(6)} ${engineSeconds.toFixed(1).padStart(8)} ${report.engineSecondsPerStage.toFixed(3).padStart(7)} ${pct(engineSeconds).padStart(6)}  (workers × wall outside stages: overhead and idle)`,
  );
  console.log(
    `evaluate: forward passes ${evaluation.forward.toFixed(1)} s, MIA SVCs ${evaluation.mia.toFixed(1)} s, the rest (reads, masks, writes) ${report.evaluation.rest.toFixed(1)} s`,
  );
  const layerTotal = (l: Record<LayerPhase, number>) => LAYER_PHASES.reduce((a, p) => a + l[p], 0);
  const layers = Object.entries(byLayer).sort((a, b) => layerTotal(b[1]) - layerTotal(a[1]));
  const chainSeconds = layers.reduce((a, [, l]) => a + layerTotal(l), 0);
  console.log(
    `native layer chain by layer: ${chainSeconds.toFixed(1)} s of the ${stageSeconds.toFixed(1)} s inside stages ` +
      '(the rest: data, masks and scores, the SVCs, the store, tfjs-engine paths)',
  );
  console.log(
    `${'layer'.padEnd(24)} ${LAYER_PHASES.map((p) => p.padStart(9)).join(' ')} ${'total s'.padStart(8)} ${'share'.padStart(6)}`,
  );
  for (const [label, l] of layers)
    console.log(
      `${label.padEnd(24)} ${LAYER_PHASES.map((p) => l[p].toFixed(2).padStart(9)).join(' ')} ${layerTotal(l).toFixed(2).padStart(8)} ${pct(layerTotal(l)).padStart(6)}`,
    );
  if (args.json) console.log(JSON.stringify(report));
} finally {
  rmSync(storeDir, { recursive: true, force: true });
}
