// A sweep's rows are a derived view of the store: every evaluate output its plan's cells need, read (verified) and
// joined. `readRows` only reads (so `results` works on a read-only store and never races a running engine);
// `writeRows`, which the engines call at the end of a run, also exports rows.jsonl and the resolved spec.
import type { ArtifactStore } from '../store/artifact-store.js';
import { decodeJson } from '../store/codec.js';
import type { Cell, Plan } from '../sweep/plan.js';
import type { ModelMeasurements, Measurements, Timings } from '../sweep/results/result-metrics.js';
import { buildRows, rowsToJsonl, type ResultRow } from '../sweep/results/result-rows.js';

/** An evaluate stage's manifest and its verified metrics blob; null while it is missing or fails its check. */
async function readEvaluation(store: ArtifactStore, key: string) {
  const manifest = await store.readManifest('evaluate', key);
  const bytes = manifest && (await store.readBlob('evaluate', key, 'metrics.json', manifest));
  return bytes ? { manifest: manifest!, bytes } : null;
}

export async function collectMeasurements(
  store: ArtifactStore,
  plan: Plan,
  backends = new Set<string>(),
): Promise<Map<string, ModelMeasurements>> {
  const keys = new Set(plan.cells.flatMap((c) => [c.evaluate, c.goldEvaluate, c.originalEvaluate]));
  const out = new Map<string, ModelMeasurements>();
  for (const key of keys) {
    const read = await readEvaluation(store, key);
    if (!read) continue;
    const { manifest, bytes: b } = read;
    const run = (manifest.run ?? {}) as Partial<Timings>;
    if (manifest.libraries.backend) backends.add(manifest.libraries.backend);
    out.set(key, {
      ...decodeJson<Measurements>(b),
      rte_s: run.rte_s ?? 0,
      unprune_s: run.unprune_s ?? 0,
      unprune_cost_s: run.unprune_cost_s ?? 0,
      unprune_examples: run.unprune_examples ?? 0,
      gold_cost_s: run.gold_cost_s ?? 0,
      gold_examples: run.gold_examples ?? 0,
    });
  }
  return out;
}

/**
 * Reads an evaluate stage's measurements as soon as it has finished, so that a store keeping verified blobs has them
 * when the run's rows are built (any other stage: nothing).
 */
export async function prefetchMeasurements(store: ArtifactStore, stage: { kind: string; key: string }): Promise<void> {
  if (stage.kind === 'evaluate') await readEvaluation(store, stage.key);
}

/**
 * The rows of every complete cell, rebuilt from the store, the cells still missing, and the compute backends the
 * evaluations ran on (read only).
 */
export async function readRows(
  store: ArtifactStore,
  plan: Plan,
): Promise<{ rows: ResultRow[]; missing: Cell[]; backends: string[] }> {
  const backends = new Set<string>();
  const measured = await collectMeasurements(store, plan, backends);
  return { ...buildRows(plan, (k) => measured.get(k)), backends: [...backends].sort() };
}

/**
 * Writes sweeps/<id>/rows.jsonl (complete cells), sweep.json (the resolved spec) and status.json (when, how many
 * cells); returns the rows.
 */
export async function writeRows(
  store: ArtifactStore,
  plan: Plan,
): Promise<{ rows: ResultRow[]; missing: Cell[]; path: string }> {
  const { rows, missing } = await readRows(store, plan);
  const path = `sweeps/${plan.id}/rows.jsonl`;
  await store.putText(`sweeps/${plan.id}/sweep.json`, JSON.stringify(plan.sweep, null, 2) + '\n');
  await store.putText(path, rowsToJsonl(rows));
  // For `unprune list`: when this run ended and how complete the sweep is.
  const status = { written: new Date().toISOString(), cells: plan.cells.length, cellsDone: rows.length };
  await store.putText(`sweeps/${plan.id}/status.json`, JSON.stringify(status) + '\n');
  return { rows, missing, path };
}
