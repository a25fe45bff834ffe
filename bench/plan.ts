// Shared-stage savings: planned vs naive stage counts for the quickstart and the paper grid, and the compute the
// sharing saves, estimated from per-kind stage times measured in the same run (the tiny sweep, run here). A benchmark:
// it prints figures and never fails.
//   npm run bench:plan -- [--json]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/artifact-store.js';
import { PLANNED_KINDS as STAGE_KINDS, planCounts, planSweep, type StageKind } from '../sweep/plan.js';
import { parseSweep } from '../sweep/spec.js';
import { runSweepLocally } from '../worker/local-engine.js';
import { benchArgs } from './command-line.js';

const { values: args } = benchArgs(import.meta.url, { options: { json: { type: 'boolean', default: false } } });
const load = (f: string) => planSweep(parseSweep(readFileSync(new URL(f, import.meta.url), 'utf8'), { maxCells: 1e7 }));

// Per-kind stage seconds from a real run of the tiny sweep.
const tiny = load('../test/fixtures/specs/tiny.yaml');
const store = mkdtempSync(join(tmpdir(), 'unprune-bench-plan-'));
await runSweepLocally(tiny, { store, workers: 2 });
const st = openStore(store);
const secs: Record<string, number[]> = {};
for (const s of tiny.stages) {
  const m = await st.readManifest(s.kind, s.key);
  (secs[s.kind] ??= []).push(Number((m?.run as { seconds?: number } | undefined)?.seconds ?? 0));
}
rmSync(store, { recursive: true, force: true });
const mean = Object.fromEntries(
  STAGE_KINDS.map((k) => [k, (secs[k] ?? [0]).reduce((a, b) => a + b, 0) / (secs[k]?.length || 1)]),
) as Record<StageKind, number>;

const out: Record<string, unknown> = { secondsPerKind: mean };
console.log(
  `measured mean stage seconds (tiny sweep): ${STAGE_KINDS.map((k) => `${k} ${mean[k].toFixed(3)}`).join(', ')}`,
);
console.log('sweep              cells   planned     naive  ratio  est. compute saved');
for (const [name, file] of [
  ['quickstart', '../examples/quickstart.yaml'],
  ['paper-grid', '../examples/paper-grid.yaml'],
] as const) {
  const c = planCounts(load(file));
  const cost = (by: Record<StageKind, number>) => STAGE_KINDS.reduce((s, k) => s + by[k] * mean[k], 0);
  const saved = 1 - cost(c.byKind) / cost(c.naiveByKind);
  console.log(
    `${name.padEnd(16)} ${String(c.cells).padStart(7)} ${String(c.planned).padStart(9)} ${String(c.naive).padStart(9)}  ${(c.planned / c.naive).toFixed(3)}  ${(100 * saved).toFixed(1)}%`,
  );
  out[name] = { ...c, ratio: c.planned / c.naive, computeSaved: saved };
}
if (args.json) console.log(JSON.stringify(out));
