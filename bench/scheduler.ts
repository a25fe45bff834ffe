// Orchestration overhead of the local engine: no-op stages (activities/noop.ts: a manifest, no computation) through
// the real scheduler, worker processes and filesystem store. Reports stages/second (independent stages, chains of
// 10, and a rerun where every stage is cached), the per-stage overhead as a fraction of a 1-second stage, the pool's
// start-up, and a direct check: 1-second stages on 2 workers against their ideal wall time. With TEMPORAL_ADDRESS
// set, the same through a real Temporal server with two workers (bench/temporal-overhead.ts).
// A benchmark: it prints figures and never fails on speed.
//   npm run bench:scheduler -- [--stages 3000] [--workers 2] [--json]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NoopStage } from '../activities/noop.js';
import { runStagesLocally } from '../worker/local-engine.js';
import { measureTemporal, type TemporalOverhead } from './temporal-overhead.js';
import { benchArgs } from './command-line.js';

const { values: args } = benchArgs(import.meta.url, {
  options: {
    stages: { type: 'string', default: '3000' },
    workers: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
const count = Number(args.stages);
const workers = Number(args.workers);

function noopStages(n: number, chain: number, sleepMs = 0, salt = ''): NoopStage[] {
  const key = (i: number) => `noop-${salt}${i.toString(16).padStart(24 - salt.length, '0')}`;
  return Array.from({ length: n }, (_, i) => ({
    key: key(i),
    kind: 'noop' as const,
    params: { index: i, sleepMs },
    inputs: chain > 1 && i % chain !== 0 ? { after: key(i - 1) } : {},
  }));
}

/** Wall time of the whole run, and from the first stage to finish to the last: that window holds n − 1 stages and
 *  excludes the pool's start-up (process spawn and backend init, paid once per run). */
async function timed(stages: NoopStage[], store: string, w: number) {
  const finishes: number[] = [];
  const start = performance.now();
  const { summary } = await runStagesLocally(
    stages,
    { store, workers: w, retries: 0, onEvent: (e) => void (e.type === 'finished' && finishes.push(performance.now())) },
    'bench-scheduler',
  );
  const seconds = (performance.now() - start) / 1000;
  if (summary.progress.failed) throw new Error(`${summary.progress.failed} no-op stages failed`);
  const window = (finishes.at(-1)! - finishes[0]!) / 1000;
  return { seconds, window, startup: (finishes[0]! - start) / 1000, stages: stages.length };
}

const root = mkdtempSync(join(tmpdir(), 'unprune-bench-scheduler-'));
try {
  const runs: { name: string; workers: number; seconds: number; stages: number; perSecond: number }[] = [];
  let startup = 0;
  const measure = async (name: string, stages: NoopStage[], store: string, w: number) => {
    const r = await timed(stages, store, w);
    if (name === 'independent') startup = r.startup;
    runs.push({ name, workers: w, seconds: r.window, stages: r.stages, perSecond: (r.stages - 1) / r.window });
  };
  // Warm-up: compiles the parent's hot paths and the store's folders before anything is timed.
  await timed(noopStages(200, 1, 0, 'w'), join(root, 'warmup'), workers);
  const independent = noopStages(count, 1);
  await measure('independent', independent, join(root, 'independent'), workers);
  await measure('chains of 10', noopStages(count, 10, 0, 'c'), join(root, 'chains'), workers);
  await measure('all cached (rerun)', independent, join(root, 'independent'), workers);
  await measure('independent, 1 worker', noopStages(count, 1, 0, 'e'), join(root, 'one'), 1);
  // Per-stage overhead: one worker, so nothing overlaps; as a fraction of a 1-second stage.
  const overheadSeconds = 1 / runs.at(-1)!.perSecond;
  // Direct: 1-second stages on `workers` processes. Between the first and the last to finish, ideally
  // ceil(n / workers) − 1 seconds pass.
  const sleepers = 4 * workers;
  const slow = await timed(noopStages(sleepers, 1, 1000, 'f'), join(root, 'sleep'), workers);
  const ideal = Math.ceil(sleepers / workers) - 1;
  const slowOverhead = (slow.window - ideal) / ideal;

  console.log(`local engine, no-op stages, filesystem store, ${workers} worker processes`);
  console.log(`pool start-up (spawn + backend init, once per run, excluded below): ${startup.toFixed(2)} s`);
  console.log('run                      workers  stages  seconds  stages/s');
  for (const r of runs)
    console.log(
      `${r.name.padEnd(24)} ${String(r.workers).padStart(7)}  ${String(r.stages).padStart(6)}  ${r.seconds.toFixed(2).padStart(7)}  ${r.perSecond.toFixed(0).padStart(8)}`,
    );
  console.log(
    `per-stage overhead: ${(overheadSeconds * 1000).toFixed(3)} ms = ${((overheadSeconds / 1) * 100).toFixed(3)}% of a 1-second stage`,
  );
  console.log(
    `${sleepers} one-second stages on ${workers} workers: ${slow.window.toFixed(3)} s from first to last finish ` +
      `(ideal ${ideal.toFixed(1)} s): overhead ${(slowOverhead * 100).toFixed(2)}%`,
  );
  let temporal: TemporalOverhead | undefined;
  if (process.env.TEMPORAL_ADDRESS) {
    temporal = await measureTemporal(root, noopStages, count);
    const t = temporal;
    console.log(
      `Temporal (${process.env.TEMPORAL_ADDRESS}), ${t.workers} workers × ${t.slotsPerWorker} slots, no-op stages as ` +
        `one shard workflow: ${t.throughput.stages} stages in ${t.throughput.seconds.toFixed(2)} s = ` +
        `${t.throughput.perSecond.toFixed(1)} stages/s`,
    );
    for (const r of t.oneSecond)
      console.log(
        `one-second stages, 12 rounds on every slot, ${r.inFlight} in flight, prefetch ${r.prefetch}: ` +
          `${r.seconds.toFixed(2)} s; steady ` +
          `state (server event times) ${(r.overheadPerStageS * 1000).toFixed(1)} ms per stage = ` +
          `${(r.fractionOf1s * 100).toFixed(2)}% of a 1-second stage (target ≤ 1%); fixed per shard ` +
          `${r.fixedS.toFixed(2)} s`,
      );
  } else console.log('Temporal: not measured (set TEMPORAL_ADDRESS to a server)');
  if (args.json)
    console.log(
      JSON.stringify({
        temporal,
        workers,
        startup_s: startup,
        runs,
        overhead_ms: overheadSeconds * 1000,
        overhead_fraction_of_1s: overheadSeconds,
        one_second_stages: { stages: sleepers, seconds: slow.window, ideal, overhead: slowOverhead },
      }),
    );
} finally {
  rmSync(root, { recursive: true, force: true });
}
