// Where the native layer chain's time goes, by layer: the trainer (ml/kernels/layer-chain-trainer.ts) adds each
// layer's forward, backward and update time, the loss's, and evaluation's forward passes (layer-chain-forward.ts)
// their inference time. Counted per process, like training-examples.ts: a stage's figures are the growth while it
// runs (a process runs one stage at a time), and go to its manifest's `run.layers` (bench:profile sums them).
// Runs on tfjs's engine (other backends, batch normalisation at inference) add nothing here.

export const LAYER_PHASES = ['forward', 'backward', 'update', 'inference'] as const;
export type LayerPhase = (typeof LAYER_PHASES)[number];
/** Seconds per layer label and phase. */
export type LayerSeconds = Record<string, Partial<Record<LayerPhase, number>>>;

const PHASE_INDEX = Object.fromEntries(LAYER_PHASES.map((p, i) => [p, i])) as Record<LayerPhase, number>;
const totals = new Map<string, Float64Array>();

/** Adds `ms` milliseconds to a layer's phase. */
function addLayerTime(label: string, phase: LayerPhase, ms: number): void {
  let t = totals.get(label);
  if (!t) totals.set(label, (t = new Float64Array(LAYER_PHASES.length)));
  t[PHASE_INDEX[phase]]! += ms;
}

/** Adds the time since `since` (performance.now()) to a layer's phase; returns now, the next phase's start. */
export function lap(label: string, phase: LayerPhase, since: number): number {
  const now = performance.now();
  addLayerTime(label, phase, now - since);
  return now;
}

/** The totals so far, copied: a stage's starting point. */
export function layerTimeSoFar(): Map<string, Float64Array> {
  return new Map([...totals].map(([label, t]) => [label, t.slice()] as const));
}

/** Seconds added since `start` (layerTimeSoFar's copy), by layer and phase; phases that took none are left out. */
export function layerSecondsSince(start: Map<string, Float64Array>): LayerSeconds {
  const out: LayerSeconds = {};
  for (const [label, t] of totals) {
    const before = start.get(label);
    const phases: Partial<Record<LayerPhase, number>> = {};
    LAYER_PHASES.forEach((phase, i) => {
      const s = (t[i]! - (before?.[i] ?? 0)) / 1000;
      if (s > 0) phases[phase] = +s.toFixed(6);
    });
    if (Object.keys(phases).length) out[label] = phases;
  }
  return out;
}
