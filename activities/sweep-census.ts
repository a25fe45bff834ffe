// What a store already holds of a sweep, read only: which of its stages are stored (for `plan`: how much is left,
// and an estimate of its time from the stage times the store recorded), and the sweeps it knows (for `list`).
import { MANIFEST, type ArtifactStore } from '../store/artifact-store.js';
import type { Plan } from '../sweep/plan.js';
import { PLANNED_KINDS, type StageKind } from '../sweep/stage-kinds.js';

export interface PlanCensus {
  /** Stages of the plan whose manifest is in the store, by kind. */
  stored: Record<string, number>;
  /** Mean recorded wall time per stage of a kind (from up to `sample` stored manifests), if any were stored. */
  secondsPerStage: Record<string, number | undefined>;
  /** Seconds the stages still to run would take on `workers` parallel workers (null: no recorded time for a kind). */
  estimateSeconds: number | null;
}

export async function planCensus(store: ArtifactStore, plan: Plan, workers: number, sample = 40): Promise<PlanCensus> {
  const stored: Record<string, number> = {};
  const secondsPerStage: Record<string, number | undefined> = {};
  let work = 0;
  let known = true;
  for (const kind of PLANNED_KINDS) {
    // One listing per kind, not one read per stage: a paper grid has tens of thousands.
    const present = new Set(
      (await store.blobs.list(`stages/${kind}/`))
        .filter((p) => p.endsWith(`/${MANIFEST}`))
        .map((p) => p.split('/')[2]!),
    );
    const keys = plan.stages.filter((s) => s.kind === kind).map((s) => s.key);
    const here = keys.filter((k) => present.has(k));
    stored[kind] = here.length;
    const times: number[] = [];
    for (const key of [...present].slice(0, sample)) {
      const seconds = (await store.readManifest(kind as StageKind, key))?.run?.seconds;
      if (typeof seconds === 'number') times.push(seconds);
    }
    secondsPerStage[kind] = times.length ? times.reduce((a, b) => a + b, 0) / times.length : undefined;
    const left = keys.length - here.length;
    if (left > 0) {
      if (secondsPerStage[kind] === undefined) known = false;
      else work += left * secondsPerStage[kind];
    }
  }
  return { stored, secondsPerStage, estimateSeconds: known ? work / Math.max(1, workers) : null };
}

export interface SweepListing {
  id: string;
  name: string;
  description?: string;
  /** When its rows were last written (the end of its last run), if it ever finished a run. */
  written?: string;
  cells?: number;
  cellsDone?: number;
}

/** The sweeps a store knows (every `sweeps/<id>/sweep.json`), with their last run's record when there is one. */
export async function listSweeps(store: ArtifactStore): Promise<SweepListing[]> {
  const ids = [
    ...new Set(
      (await store.blobs.list('sweeps/')).filter((p) => p.endsWith('/sweep.json')).map((p) => p.split('/')[1]!),
    ),
  ];
  const out: SweepListing[] = [];
  for (const id of ids) {
    const spec = JSON.parse((await store.getText(`sweeps/${id}/sweep.json`)) ?? '{}') as {
      name?: string;
      description?: string;
    };
    const status = await store.getText(`sweeps/${id}/status.json`);
    const s = status ? (JSON.parse(status) as Partial<SweepListing>) : {};
    out.push({
      id,
      name: spec.name ?? id,
      description: spec.description,
      written: s.written,
      cells: s.cells,
      cellsDone: s.cellsDone,
    });
  }
  return out.sort((a, b) => (b.written ?? '').localeCompare(a.written ?? '') || a.id.localeCompare(b.id));
}
