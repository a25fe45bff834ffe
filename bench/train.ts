// Training throughput (examples/second) of the MLP and LeNet-5 (batch 128, MNIST-shaped) and the small CNN
// (vgg-small, batch 64, CIFAR-shaped) on every tfjs backend available, next to PyTorch CPU on the identical model,
// optimiser (SGD, momentum 0.9), batch and step count, measured in the same run; plus the machine's FLOP/s ceiling
// (a 1024³ float32 matmul on each side) and each model's achieved FLOP/s against it.
// A benchmark: it prints figures and never fails on speed.
//   npm run bench:train -- [--backends blas,wasm,cpu] [--steps 50] [--threads 1,2] [--blas-threads 1,2] [--json]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { availableBackends, initBackend, tf, type ConcreteBackend } from '../ml/backend.js';
import { loadNativeBlas } from '../ml/kernels/native-blas.js';
import type { ArchName } from '../ml/catalog.js';
import { buildArch } from '../ml/models/architectures.js';
import { initWeights } from '../ml/models/init-weights.js';
import { Network } from '../ml/models/network.js';
import { MaskedOptimizer } from '../ml/optimizers.js';
import { crossEntropy, trainStep } from '../ml/train.js';

const { values: args } = parseArgs({
  options: {
    backends: { type: 'string' },
    steps: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '5' },
    threads: { type: 'string', default: '1,2' },
    'blas-threads': { type: 'string', default: '1,2' },
    // Slow backends (the pure-JS cpu one) stop after this many seconds per model (at least one timed step).
    'max-seconds': { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
  },
});
const steps = Number(args.steps);
const warmup = Number(args.warmup);
const maxSeconds = Number(args['max-seconds']);
const threadCounts = args.threads!.split(',').map(Number);
const blasThreadCounts = args['blas-threads']!.split(',').map(Number);
const PYTHON = '/usr/bin/python3';

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
  const opt = new MaskedOptimizer({ optimizer: 'sgd', lr: 0.01, momentum: 0.9 });
  const x = tf.randomNormal([m.batch, ...m.input], 0, 1, 'float32', 0);
  const y = tf.tensor1d(
    Array.from({ length: m.batch }, (_, i) => i % 10),
    'int32',
  );
  const sync = () => net.trainableVariables()[0]!.dataSync(); // waits for asynchronous backends
  const step = () => trainStep(net, opt, x, y, 0.01, crossEntropy).dispose();
  const warmStart = performance.now();
  for (let i = 0; i < warmup && (i === 0 || performance.now() - warmStart < (maxSeconds * 1000) / 4); i++) step();
  sync();
  const start = performance.now();
  let done = 0;
  while (done < steps && (done === 0 || performance.now() - start < maxSeconds * 1000)) {
    step();
    done++;
  }
  sync();
  const seconds = (performance.now() - start) / 1000;
  opt.dispose();
  net.dispose();
  x.dispose();
  y.dispose();
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

type TorchRun = { threads: number; result: Record<string, number> | { error: string } };

function pytorch(threads: number): TorchRun {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'reference', 'train_torch.py');
  if (!existsSync(PYTHON)) return { threads, result: { error: `${PYTHON} not found` } };
  const cli = ['--models', MODELS.map((m) => m.name).join(','), '--batch', MODELS.map((m) => m.batch).join(',')];
  cli.push('--steps', String(steps), '--warmup', String(warmup), '--threads', String(threads));
  try {
    const out = execFileSync(PYTHON, [script, ...cli], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { threads, result: JSON.parse(out.trim().split('\n').pop()!) as Record<string, number> };
  } catch (err) {
    const msg = String((err as { stderr?: string }).stderr ?? err);
    return {
      threads,
      result: {
        error: /No module named 'torch'/.test(msg)
          ? 'PyTorch is not installed: run `sudo infra/scripts/install-reference-tools.sh` (Debian python3-torch)'
          : (msg.split('\n').filter(Boolean).pop() ?? 'failed'),
      },
    };
  }
}

// tfjs: every available backend (blas once per OpenBLAS thread count), then PyTorch at each thread count.
const backends = (args.backends?.split(',') as ConcreteBackend[] | undefined) ?? (await availableBackends());
interface TfjsRun {
  label: string;
  backend: ConcreteBackend;
  threads: number;
  matmulGflops: number;
  models: Record<string, { exPerSec: number; steps: number }>;
}
const tfjsRuns: TfjsRun[] = [];
for (const backend of backends) {
  const info = await initBackend(backend);
  const native = info.name === 'blas' ? loadNativeBlas() : null;
  for (const threads of native ? blasThreadCounts : [1]) {
    native?.setThreads(threads);
    const models: TfjsRun['models'] = {};
    const matmulGflops = tfjsMatmulGflops();
    for (const m of MODELS) models[m.name] = tfjsThroughput(m, matmulGflops);
    const label = native ? `${backend}(${threads}t)` : backend;
    tfjsRuns.push({ label, backend, threads, matmulGflops, models });
  }
  native?.setThreads(1);
}
const torchRuns = threadCounts.map(pytorch);
const torchValue = (t: TorchRun, key: string) => ('error' in t.result ? NaN : t.result[key]!);

const ceiling = Math.max(
  ...tfjsRuns.map((r) => r.matmulGflops),
  ...torchRuns.map((t) => torchValue(t, 'matmul_gflops')),
);
const fmt = (v: number, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
const cols = [...tfjsRuns.map((r) => r.label), ...torchRuns.map((t) => `torch(${t.threads}t)`)];

console.log(`training throughput (examples/s), SGD momentum 0.9, up to ${steps} steps after ${warmup} warm-up`);
console.log(`model (batch)     ${cols.map((c) => c.padStart(11)).join(' ')}   best tfjs / best torch`);
const rows = MODELS.map((m) => {
  const tfjs = tfjsRuns.map((r) => r.models[m.name]!.exPerSec);
  const torch = torchRuns.map((t) => torchValue(t, m.name));
  const bestTfjs = tfjs.some(Number.isFinite) ? Math.max(...tfjs.filter(Number.isFinite)) : NaN;
  const finite = torch.filter(Number.isFinite);
  const bestTorch = finite.length ? Math.max(...finite) : NaN;
  const bestTorchAt = torchRuns[torch.indexOf(bestTorch)]?.threads ?? null;
  const bestRun = tfjsRuns[Math.max(0, tfjs.indexOf(bestTfjs))]!;
  // Same thread count on both sides: blas at t threads against PyTorch at t threads.
  const sameThreads = Object.fromEntries(
    torchRuns.map((t) => {
      const ours = tfjsRuns.find((r) => r.backend === 'blas' && r.threads === t.threads) ?? bestRun;
      return [t.threads, ours.models[m.name]!.exPerSec / torchValue(t, m.name)];
    }),
  );
  console.log(
    `${`${m.name} (${m.batch})`.padEnd(17)} ${[...tfjs, ...torch].map((v) => fmt(v).padStart(11)).join(' ')}   ${fmt(bestTfjs / bestTorch, 3).padStart(8)}`,
  );
  return { m, tfjs, torch, bestTfjs, bestTorch, bestTorchAt, bestRun, sameThreads };
});
console.log(`\nFLOP/s: ceiling ${fmt(ceiling, 1)} GFLOP/s (best 1024³ float32 matmul measured in this run)`);
console.log(
  `matmul GFLOP/s   ${[...tfjsRuns.map((r) => r.matmulGflops), ...torchRuns.map((t) => torchValue(t, 'matmul_gflops'))].map((v) => fmt(v, 1).padStart(11)).join(' ')}`,
);
for (const r of rows) {
  const gflops = (v: number) => (v * trainFlopsPerExample(r.m)) / 1e9;
  console.log(
    `${`${r.m.name} achieved`.padEnd(17)} ${[...r.tfjs, ...r.torch].map((v) => `${fmt(gflops(v), 1)} (${fmt((100 * gflops(v)) / ceiling)}%)`.padStart(11)).join(' ')}`,
  );
}
for (const t of torchRuns) if ('error' in t.result) console.log(`pytorch (${t.threads} threads): ${t.result.error}`);
console.log('n/a for a tfjs backend: skipped, one step would take longer than --max-seconds / 2 at its matmul speed');
console.log(
  `same threads (blas t threads / torch t threads): ${rows
    .map(
      (r) =>
        `${r.m.name} ${Object.entries(r.sameThreads)
          .map(([t, v]) => `${t}t ${fmt(v, 2)}`)
          .join(', ')}`,
    )
    .join('; ')}`,
);
if (args.json) {
  const out: Record<string, unknown> = { ceiling_gflops: ceiling };
  for (const r of rows) {
    out[r.m.name] = {
      batch: r.m.batch,
      train_gflop_per_example: trainFlopsPerExample(r.m) / 1e9,
      tfjs: r.bestTfjs,
      backend: r.bestRun.label,
      pytorch: Number.isFinite(r.bestTorch) ? r.bestTorch : null,
      pytorch_threads: r.bestTorchAt,
      ratio: Number.isFinite(r.bestTfjs / r.bestTorch) ? r.bestTfjs / r.bestTorch : null,
      ratio_same_threads: r.sameThreads,
      tfjs_by_backend: Object.fromEntries(tfjsRuns.map((run, i) => [run.label, r.tfjs[i]])),
      pytorch_by_threads: Object.fromEntries(torchRuns.map((t, i) => [t.threads, r.torch[i]])),
      achieved_fraction_of_ceiling: (r.bestTfjs * trainFlopsPerExample(r.m)) / 1e9 / ceiling,
    };
  }
  out.matmul_gflops = Object.fromEntries([
    ...tfjsRuns.map((r) => [r.label, r.matmulGflops]),
    ...torchRuns.map((t) => [`torch(${t.threads}t)`, torchValue(t, 'matmul_gflops')]),
  ]);
  console.log(JSON.stringify(out));
}
