// Training throughput (examples/second) of the MLP and LeNet-5 (batch 128, MNIST-shaped) and the small CNN
// (vgg-small, batch 64, CIFAR-shaped) on every tfjs backend available, next to PyTorch CPU on the identical model,
// optimiser (SGD, momentum 0.9), batch and step count, measured in the same run; plus the machine's FLOP/s ceiling
// (a 1024³ float32 matmul on each side) and each model's achieved FLOP/s against it.
// Best against best: PyTorch runs in every layout asked for (its threads × OpenBLAS's pool × OpenBLAS kernel type ×
// OpenMP wait policy), and tfjs's OpenBLAS backend with each kernel type too. A kernel type counts only where its
// float32 products agree with float64 ones (relative error ≤ 1e-5): one the CPU runs wrongly is reported, not used.
// A benchmark: it prints figures and never fails on speed.
// Steady state on both sides: each model warms up for at least --warmup steps and --warmup-seconds, then is timed
// over at least --steps steps and --min-seconds (tfjs's first ~100 steps run 1.5-2x slower while V8 optimises its
// code; a real training run is thousands of steps, and a worker process keeps its optimised code across stages).
//   npm run bench:train -- [--backends blas,wasm,cpu] [--steps 50] [--threads 1,2] [--blas-threads 1,2]
//     [--warmup-seconds 1] [--min-seconds 2]
//     [--coretypes default,Haswell,SkylakeX] [--wait-policies PASSIVE,ACTIVE] [--json]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableBackends, initBackend, tf, type ConcreteBackend } from '../ml/backend.js';
import { loadNativeBlas } from '../ml/kernels/native-blas.js';
import type { ArchName } from '../ml/catalog.js';
import { buildArch } from '../ml/models/architectures.js';
import { initWeights } from '../ml/models/init-weights.js';
import { Network } from '../ml/models/network.js';
import { trainingStepper } from '../ml/train.js';
import { benchArgs } from './command-line.js';

const { values: args } = benchArgs(import.meta.url, {
  options: {
    backends: { type: 'string' },
    steps: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '5' },
    'warmup-seconds': { type: 'string', default: '1' },
    'min-seconds': { type: 'string', default: '2' },
    threads: { type: 'string', default: '1,2' },
    'blas-threads': { type: 'string', default: '1,2' },
    // Slow backends (the pure-JS cpu one) stop after this many seconds per model (at least one timed step).
    'max-seconds': { type: 'string', default: '10' },
    // OpenBLAS kernel types (OPENBLAS_CORETYPE; `default`: what OpenBLAS picks on this CPU) and OpenMP wait policies.
    coretypes: { type: 'string', default: 'default,Haswell,SkylakeX' },
    'wait-policies': { type: 'string', default: 'PASSIVE,ACTIVE' },
    // Internal: measure tfjs only and print its runs as JSON (a run under another OPENBLAS_CORETYPE).
    'tfjs-only': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const steps = Number(args.steps);
const warmup = Number(args.warmup);
const maxSeconds = Number(args['max-seconds']);
const warmupSeconds = Number(args['warmup-seconds']);
const minSeconds = Number(args['min-seconds']);
/** The timing options both sides get, as command-line arguments. */
const timingArgs = [
  ...['--steps', String(steps), '--warmup', String(warmup), '--warmup-seconds', String(warmupSeconds)],
  ...['--min-seconds', String(minSeconds), '--max-seconds', String(maxSeconds)],
];
const threadCounts = args.threads!.split(',').map(Number);
const blasThreadCounts = args['blas-threads']!.split(',').map(Number);
const coretypes = args.coretypes!.split(',');
const waitPolicies = args['wait-policies']!.split(',');
const PYTHON = '/usr/bin/python3';
/** A float32 product further than this from the float64 one (relative to its largest entry) is a wrong kernel. */
const MAX_SGEMM_ERROR = 1e-5;

interface ModelCase {
  name: ArchName;
  input: [number, number, number];
  batch: number;
  /** Multiply-accumulates of one forward pass per example (conv and dense layers). */
  forwardMacs: number;
  /** Those of the first layer, whose input gradient a training step does not compute. */
  firstLayerMacs: number;
}
const MODELS: ModelCase[] = [
  {
    name: 'mlp',
    input: [28, 28, 1],
    batch: 128,
    forwardMacs: 784 * 300 + 300 * 100 + 100 * 10,
    firstLayerMacs: 784 * 300,
  },
  {
    name: 'lenet5',
    input: [28, 28, 1],
    batch: 128,
    forwardMacs: 24 * 24 * 25 * 6 + 8 * 8 * 150 * 16 + 256 * 120 + 120 * 84 + 84 * 10,
    firstLayerMacs: 24 * 24 * 25 * 6,
  },
  {
    name: 'vgg-small',
    input: [32, 32, 3],
    batch: 64,
    forwardMacs:
      32 * 32 * 27 * 32 + 32 * 32 * 288 * 32 + 16 * 16 * 288 * 64 + 16 * 16 * 576 * 64 + 8 * 8 * 576 * 128 + 128 * 10,
    firstLayerMacs: 32 * 32 * 27 * 32,
  },
];
/** A training step: forward, weight gradients, and input gradients for every layer but the first; 2 FLOPs per MAC
 *  (element-wise ops, pooling and the optimiser are not counted). */
const trainFlopsPerExample = (m: ModelCase) => 2 * (3 * m.forwardMacs - m.firstLayerMacs);

function tfjsThroughput(m: ModelCase, matmulGflops: number): { exPerSec: number; steps: number } {
  // A backend that could not do one step in maxSeconds / 2 even at its full matmul speed is skipped (the pure-JS
  // cpu backend on vgg-small: one step takes minutes).
  if ((m.batch * trainFlopsPerExample(m)) / (matmulGflops * 1e9) > maxSeconds / 2) return { exPerSec: NaN, steps: 0 };
  const def = buildArch(m.name, m.input, 10);
  const net = new Network(def, initWeights(def, 0));
  // The step training runs take (trainNetwork's): the native layer chain for the MLP and LeNet-5 on blas, tfjs's otherwise.
  const cfg = { optimizer: 'sgd', lr: 0.01, momentum: 0.9, epochs: 1, batchSize: m.batch, seed: 0 } as const;
  const stepper = trainingStepper(net, cfg);
  const x = tf.tidy(() => tf.randomNormal([m.batch, ...m.input], 0, 1, 'float32', 0).dataSync() as Float32Array);
  const y = Int32Array.from({ length: m.batch }, (_, i) => i % 10);
  const sync = () => {
    stepper.sync(); // waits for asynchronous backends, and brings the network up to date
    net.trainableVariables()[0]!.dataSync();
  };
  const step = () => stepper.step(x, y, m.batch, cfg.lr, 0);
  const warmStart = performance.now();
  const warming = (i: number, ms: number) =>
    (i < warmup || ms < warmupSeconds * 1000) && (i === 0 || ms < (maxSeconds * 1000) / 4);
  for (let i = 0; warming(i, performance.now() - warmStart); i++) step();
  sync();
  const start = performance.now();
  let done = 0;
  const timing = (ms: number) => (done < steps || ms < minSeconds * 1000) && (done === 0 || ms < maxSeconds * 1000);
  while (timing(performance.now() - start)) {
    step();
    done++;
  }
  sync();
  const seconds = (performance.now() - start) / 1000;
  stepper.finish();
  net.dispose();
  return { exPerSec: (m.batch * done) / seconds, steps: done };
}

/** GFLOP/s of a 1024³ float32 matmul on the current backend, for about a second. */
function tfjsMatmulGflops(n = 1024): number {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  tf.matMul(a, b).dispose();
  let count = 0;
  const start = performance.now();
  while (performance.now() - start < 1000 || count === 0) {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
    count++;
  }
  const seconds = (performance.now() - start) / 1000;
  a.dispose();
  b.dispose();
  return (2 * n ** 3 * count) / seconds / 1e9;
}

/** max |C32 − C64| / max |C64| of a 384² product on the current backend: its kernels checked before they are timed. */
function tfjsSgemmError(n = 384): number {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 3);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 4);
  const c = tf.matMul(a, b);
  const [av, bv, cv] = [a.dataSync(), b.dataSync(), c.dataSync()];
  a.dispose();
  b.dispose();
  c.dispose();
  let err = 0;
  let max = 0;
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    row.fill(0);
    for (let k = 0; k < n; k++) {
      const x = av[i * n + k]!;
      for (let j = 0; j < n; j++) row[j]! += x * bv[k * n + j]!;
    }
    for (let j = 0; j < n; j++) {
      err = Math.max(err, Math.abs(cv[i * n + j]! - row[j]!));
      max = Math.max(max, Math.abs(row[j]!));
    }
  }
  return err / max;
}

interface TfjsRun {
  label: string;
  backend: ConcreteBackend;
  threads: number;
  coretype: string;
  sgemmError: number;
  matmulGflops: number;
  models: Record<string, { exPerSec: number; steps: number }>;
}

/** tfjs in this process: every available backend (blas once per OpenBLAS thread count). */
async function tfjsHere(coretype: string): Promise<TfjsRun[]> {
  const backends = (args.backends?.split(',') as ConcreteBackend[] | undefined) ?? (await availableBackends());
  const runs: TfjsRun[] = [];
  for (const backend of backends) {
    const info = await initBackend(backend);
    const native = info.name === 'blas' ? loadNativeBlas() : null;
    for (const threads of native ? blasThreadCounts : [1]) {
      native?.setThreads(threads);
      const sgemmError = tfjsSgemmError();
      const models: TfjsRun['models'] = {};
      const matmulGflops = tfjsMatmulGflops();
      if (sgemmError <= MAX_SGEMM_ERROR) for (const m of MODELS) models[m.name] = tfjsThroughput(m, matmulGflops);
      const label = native ? `${backend}(${threads}t${coretype === 'default' ? '' : `,${coretype}`})` : backend;
      runs.push({ label, backend, threads, coretype, sgemmError, matmulGflops, models });
    }
    native?.setThreads(1);
  }
  return runs;
}

if (args['tfjs-only']) {
  console.log(JSON.stringify(await tfjsHere(process.env.OPENBLAS_CORETYPE ?? 'default')));
  process.exit(0);
}

/** Why a child process failed, in a line; a kernel type this CPU lacks the instructions for dies of SIGILL. */
function childFailure(err: unknown): string {
  const { signal, stderr } = err as { signal?: string | null; stderr?: string };
  if (signal === 'SIGILL') return "killed by SIGILL: this CPU lacks the kernel type's instructions";
  if (signal) return `killed by ${signal}`;
  return (
    String(stderr ?? err)
      .split('\n')
      .filter(Boolean)
      .pop() ?? 'failed'
  );
}

/** Kernel types a side could not run here, with why (reported, not fatal). */
const unrunnable: string[] = [];

/** tfjs's OpenBLAS backend under another kernel type: OpenBLAS reads OPENBLAS_CORETYPE once, so a child process. */
function tfjsUnder(coretype: string): TfjsRun[] {
  const cli = ['--import', 'tsx', fileURLToPath(import.meta.url), '--tfjs-only', '--backends', 'blas'];
  cli.push(...timingArgs, '--blas-threads', blasThreadCounts.join(','));
  try {
    const out = execFileSync(process.execPath, cli, {
      encoding: 'utf8',
      env: { ...process.env, OPENBLAS_CORETYPE: coretype },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return JSON.parse(out.trim().split('\n').pop()!) as TfjsRun[];
  } catch (err) {
    unrunnable.push(`tfjs OpenBLAS ${coretype}: ${childFailure(err)}`);
    return [];
  }
}

interface TorchConfig {
  threads: number;
  blasThreads: number;
  coretype: string;
  wait: string;
}
type TorchRun = { config: TorchConfig; label: string; result: Record<string, number> | { error: string } };

function pytorch(config: TorchConfig): TorchRun {
  const label = `torch ${config.threads}t, OpenBLAS ${config.blasThreads}t ${config.coretype}, ${config.wait}`;
  const script = join(dirname(fileURLToPath(import.meta.url)), 'reference', 'train_torch.py');
  if (!existsSync(PYTHON)) return { config, label, result: { error: `${PYTHON} not found` } };
  const cli = ['--models', MODELS.map((m) => m.name).join(','), '--batch', MODELS.map((m) => m.batch).join(',')];
  cli.push(...timingArgs, '--threads', String(config.threads));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENBLAS_NUM_THREADS: String(config.blasThreads),
    OMP_NUM_THREADS: String(config.threads),
    OMP_WAIT_POLICY: config.wait,
  };
  if (config.coretype === 'default') delete env.OPENBLAS_CORETYPE;
  else env.OPENBLAS_CORETYPE = config.coretype;
  try {
    const out = execFileSync(PYTHON, [script, ...cli], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
    return { config, label, result: JSON.parse(out.trim().split('\n').pop()!) as Record<string, number> };
  } catch (err) {
    const msg = String((err as { stderr?: string }).stderr ?? err);
    return {
      config,
      label,
      result: {
        error: /No module named 'torch'/.test(msg)
          ? 'PyTorch is not installed: run `sudo infra/scripts/install-reference-tools.sh` (Debian python3-torch)'
          : childFailure(err),
      },
    };
  }
}

const defaultCoretype = process.env.OPENBLAS_CORETYPE ?? 'default';
const tfjsRuns = [
  ...(await tfjsHere(defaultCoretype)),
  ...coretypes.filter((c) => c !== defaultCoretype).flatMap(tfjsUnder),
];
const torchRuns = threadCounts.flatMap((threads) =>
  blasThreadCounts.flatMap((blasThreads) =>
    coretypes.flatMap((coretype) => waitPolicies.map((wait) => pytorch({ threads, blasThreads, coretype, wait }))),
  ),
);
const torchValue = (t: TorchRun, key: string) => ('error' in t.result ? NaN : t.result[key]!);
const torchValid = (t: TorchRun) => torchValue(t, 'sgemm_rel_error') <= MAX_SGEMM_ERROR;
const tfjsValid = (r: TfjsRun) => r.sgemmError <= MAX_SGEMM_ERROR;

const ceiling = Math.max(
  ...tfjsRuns.filter(tfjsValid).map((r) => r.matmulGflops),
  ...torchRuns.filter(torchValid).map((t) => torchValue(t, 'matmul_gflops')),
);
const fmt = (v: number, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
/** The run with the largest finite value (none: value NaN). */
const best = <T>(runs: T[], value: (r: T) => number) =>
  runs.reduce<{ run?: T; value: number }>(
    (b, r) => (Number.isFinite(value(r)) && !(value(r) <= b.value) ? { run: r, value: value(r) } : b),
    { value: NaN },
  );
const ex = (r: TfjsRun, m: ModelCase) => r.models[m.name]?.exPerSec ?? NaN;

console.log(
  `training throughput (examples/s), SGD momentum 0.9, steady state: at least ${steps} steps and ${minSeconds} s ` +
    `(at most ${maxSeconds} s) after at least ${warmup} steps and ${warmupSeconds} s of warm-up`,
);
console.log(`tfjs               sgemm err  matmul GFLOP/s  ${MODELS.map((m) => m.name.padStart(10)).join(' ')}`);
for (const r of tfjsRuns)
  console.log(
    `${r.label.padEnd(18)} ${r.sgemmError.toExponential(1).padStart(9)}  ${fmt(r.matmulGflops, 1).padStart(14)}  ${MODELS.map((m) => fmt(ex(r, m)).padStart(10)).join(' ')}`,
  );
console.log(
  `\nPyTorch layout                                sgemm err  matmul GFLOP/s  ${MODELS.map((m) => m.name.padStart(10)).join(' ')}`,
);
for (const t of torchRuns)
  console.log(
    'error' in t.result
      ? `${t.label.padEnd(45)} ${t.result.error}`
      : `${t.label.padEnd(45)} ${torchValue(t, 'sgemm_rel_error').toExponential(1).padStart(9)}  ${fmt(torchValue(t, 'matmul_gflops'), 1).padStart(14)}  ${MODELS.map((m) => fmt(torchValue(t, m.name)).padStart(10)).join(' ')}`,
  );
const rejected = [...tfjsRuns.filter((r) => !tfjsValid(r)).map((r) => r.label)].concat(
  torchRuns.filter((t) => !('error' in t.result) && !torchValid(t)).map((t) => t.label),
);
if (rejected.length) console.log(`wrong products (error > ${MAX_SGEMM_ERROR}), not used: ${rejected.join('; ')}`);
if (unrunnable.length) console.log(`not run: ${unrunnable.join('; ')}`);

const rows = MODELS.map((m) => {
  const tfjsBest = best(tfjsRuns.filter(tfjsValid), (r) => ex(r, m));
  const torchBest = best(torchRuns.filter(torchValid), (t) => torchValue(t, m.name));
  return { m, tfjsBest, torchBest, ratio: tfjsBest.value / torchBest.value };
});
console.log(`\nbest against best (FLOP/s ceiling ${fmt(ceiling, 1)} GFLOP/s, the best 1024³ matmul in this run)`);
for (const r of rows) {
  const gflops = (v: number) => (v * trainFlopsPerExample(r.m)) / 1e9;
  console.log(
    `${r.m.name.padEnd(10)} tfjs ${fmt(r.tfjsBest.value).padStart(7)} (${r.tfjsBest.run?.label ?? 'n/a'}, ${fmt((100 * gflops(r.tfjsBest.value)) / ceiling)}% of ceiling)` +
      ` / PyTorch ${fmt(r.torchBest.value).padStart(7)} (${r.torchBest.run?.label ?? 'n/a'}) = ${fmt(r.ratio, 3)}`,
  );
}
console.log('n/a for a tfjs backend: skipped, one step would take longer than --max-seconds / 2 at its matmul speed');
if (args.json) {
  const out: Record<string, unknown> = { ceiling_gflops: ceiling, max_sgemm_error: MAX_SGEMM_ERROR };
  for (const r of rows)
    out[r.m.name] = {
      batch: r.m.batch,
      train_gflop_per_example: trainFlopsPerExample(r.m) / 1e9,
      tfjs: r.tfjsBest.value,
      tfjs_config: r.tfjsBest.run?.label ?? null,
      pytorch: Number.isFinite(r.torchBest.value) ? r.torchBest.value : null,
      pytorch_config: r.torchBest.run?.config ?? null,
      ratio: Number.isFinite(r.ratio) ? r.ratio : null,
      tfjs_by_run: Object.fromEntries(tfjsRuns.map((run) => [run.label, ex(run, r.m)])),
      pytorch_by_layout: Object.fromEntries(torchRuns.map((t) => [t.label, torchValue(t, r.m.name)])),
    };
  out.not_run = unrunnable;
  out.sgemm_error = Object.fromEntries([
    ...tfjsRuns.map((r) => [r.label, r.sgemmError]),
    ...torchRuns.map((t) => [t.label, torchValue(t, 'sgemm_rel_error')]),
  ]);
  console.log(JSON.stringify(out));
}
