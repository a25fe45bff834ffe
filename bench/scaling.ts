// Scaling of the local engine: one fixed small sweep run with 1 and with 2 worker processes (fresh stores), wall time
// and speed-up measured in the same run, and the CPU time each run used (this process and its reaped worker
// processes, from /proc on Linux): cores used = CPU time / wall time shows how much of a second core a single
// worker's process already takes (V8's background threads). These machines drift by 10% over minutes, so the
// worker counts run in mirrored order over the rounds (1, 2 | 2, 1 | ...) and the speed-up compares their
// mean times; each round's own speed-up is printed too, with a 95% interval over rounds. A benchmark: it prints
// figures and never fails on speed.
//   npm run bench:scaling -- [--spec FILE] [--workers 1,2] [--rounds 2] [--json]
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planSweep } from '../sweep/plan.js';
import { meanInterval } from '../sweep/results/statistics.js';
import { parseSweep } from '../sweep/spec.js';
import { runSweepLocally } from '../worker/local-engine.js';
import { benchArgs } from './command-line.js';

const { values: args } = benchArgs(import.meta.url, {
  options: {
    spec: { type: 'string', default: new URL('../examples/quickstart.yaml', import.meta.url).pathname },
    workers: { type: 'string', default: '1,2' },
    rounds: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
const plan = planSweep(parseSweep(readFileSync(args.spec!, 'utf8'), { source: args.spec }));
/** CPU seconds of this process plus its reaped children (utime, stime, cutime, cstime of /proc/self/stat). */
function cpuSeconds(): number {
  if (!existsSync('/proc/self/stat')) return NaN;
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // Fields 14–17 of stat(5), counted from the state field (3), in clock ticks of 1/100 s on Linux.
  return fields.slice(11, 15).reduce((a, f) => a + Number(f), 0) / 100;
}

const counts = args.workers!.split(',').map(Number);
const rounds = Math.max(1, Number(args.rounds));
const results: { workers: number; round: number; seconds: number; stages: number; cpuSeconds: number }[] = [];
for (let round = 0; round < rounds; round++) {
  for (const workers of round % 2 === 0 ? counts : [...counts].reverse()) {
    const store = mkdtempSync(join(tmpdir(), 'unprune-bench-scaling-'));
    const start = performance.now();
    const cpuStart = cpuSeconds();
    const r = await runSweepLocally(plan, { store, workers });
    const seconds = (performance.now() - start) / 1000;
    const cpu = cpuSeconds() - cpuStart;
    rmSync(store, { recursive: true, force: true });
    if (r.summary.progress.failed) throw new Error(`${r.summary.progress.failed} stages failed`);
    results.push({ workers, round, seconds, stages: r.summary.progress.done, cpuSeconds: cpu });
  }
}
const meanSeconds = (workers: number) =>
  results.filter((r) => r.workers === workers).reduce((a, r) => a + r.seconds, 0) / rounds;
const base = meanSeconds(counts[0]!);
console.log(`sweep ${plan.id}: ${plan.stages.length} stages, ${plan.cells.length} cells; ${rounds} round(s)`);
console.log('round  workers  wall s  stages/s  speed-up   CPU s  cores used');
/** The round's run with the first worker count: each speed-up is against the run adjacent to it in time. */
const refSeconds = (round: number) => results.find((q) => q.round === round && q.workers === counts[0])!.seconds;
for (const r of results) {
  const ref = refSeconds(r.round);
  console.log(
    `${String(r.round + 1).padStart(5)}  ${String(r.workers).padStart(7)}  ${r.seconds.toFixed(1).padStart(6)}  ${(r.stages / r.seconds).toFixed(1).padStart(8)}  ${(ref / r.seconds).toFixed(2).padStart(8)}  ${r.cpuSeconds.toFixed(1).padStart(6)}  ${(r.cpuSeconds / r.seconds).toFixed(2).padStart(10)}`,
  );
}
const speedups = Object.fromEntries(counts.map((w) => [w, base / meanSeconds(w)]));
console.log(
  `mean wall s: ${counts.map((w) => `${w} worker(s) ${meanSeconds(w).toFixed(1)}`).join(', ')}; speed-up ` +
    counts
      .slice(1)
      .map((w) => `${w} workers ${speedups[w]!.toFixed(2)}×`)
      .join(', '),
);
// Each round's two runs are adjacent in time, so their speed-ups are free of the drift between rounds; the interval
// over rounds says whether the speed-up holds beyond it.
const last = counts.at(-1)!;
const byRound = results.filter((r) => r.workers === last).map((r) => refSeconds(r.round) / r.seconds);
const interval = meanInterval(byRound);
console.log(
  `${last} workers by round: ${byRound.map((x) => x.toFixed(2)).join(', ')}` +
    (interval.low === null
      ? ''
      : `; mean ${interval.mean.toFixed(2)} [95% CI ${interval.low.toFixed(2)}, ${interval.high!.toFixed(2)}]`),
);
if (args.json) console.log(JSON.stringify({ sweep: plan.id, results, speedup: speedups[last], byRound, interval }));
