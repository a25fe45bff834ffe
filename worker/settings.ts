// The process settings, declared once: each with its environment variable, validated by zod at the edge (the CLI,
// a worker process) and passed down as one object. ml/ reads no environment variable: it gets these as arguments.
// The spec (what to compute) is not here; these only say how and where this process computes.
import * as z from 'zod';
import { BACKEND_CHOICES } from '../ml/catalog.js';
import type { NativeBlasOptions } from '../ml/kernels/native-blas.js';

const flag = z.enum(['0', '1']).transform((v) => v === '1');
const count = (max: number) => z.coerce.number().int().min(1).max(max);

/** Setting → its environment variable, schema and meaning. */
const SETTINGS = {
  backend: {
    env: 'UNPRUNE_BACKEND',
    schema: z.enum(BACKEND_CHOICES).default('auto'),
    doc: 'compute backend (--backend wins)',
  },
  native: { env: 'UNPRUNE_NATIVE', schema: flag.default(true), doc: '0 turns the native OpenBLAS kernels off' },
  blasThreads: { env: 'UNPRUNE_BLAS_THREADS', schema: count(256).default(1), doc: 'native kernel threads per process' },
  openblasCoreType: {
    env: 'OPENBLAS_CORETYPE',
    schema: z.string().min(1).optional(),
    doc: "OpenBLAS's kernel choice (unset: SkylakeX on AVX-512 CPUs)",
  },
  fashionMnistDir: {
    env: 'UNPRUNE_FASHION_MNIST_DIR',
    schema: z.string().min(1).optional(),
    doc: "Fashion-MNIST's IDX files (default: Debian's dataset-fashion-mnist)",
  },
  cifar10Dir: { env: 'UNPRUNE_CIFAR10_DIR', schema: z.string().min(1).optional(), doc: "CIFAR-10's binary batches" },
  workerNodeFlags: {
    env: 'UNPRUNE_WORKER_NODE_FLAGS',
    schema: z
      .string()
      .transform((s) => s.split(/\s+/).filter(Boolean))
      .optional(),
    doc: "replaces the local engine's worker V8 flags (space-separated; for measuring)",
  },
  workerHeapMb: {
    env: 'UNPRUNE_WORKER_HEAP_MB',
    schema: z.coerce.number().int().min(256).max(1_048_576).default(4096),
    doc: "each local-engine worker process's JavaScript heap limit, MB (--max-old-space-size)",
  },
  checkpointSeconds: {
    env: 'UNPRUNE_CHECKPOINT_SECONDS',
    schema: z.coerce.number().min(0).max(86400).default(10),
    doc: "a training's resume checkpoint after an epoch once this many seconds passed since its last (0: every epoch)",
  },
  stallScale: {
    env: 'UNPRUNE_STALL_SCALE',
    schema: z.coerce.number().positive().max(1000).default(1),
    doc: "scales every stage kind's liveness limit (sweep/stage-kinds.ts stallSeconds; e.g. 0.05 in tests)",
  },
  progressSeconds: {
    env: 'UNPRUNE_PROGRESS_SECONDS',
    schema: z.coerce.number().min(0).max(86400).default(10),
    doc: 'without a terminal, a progress summary line at most this often (0: after every stage)',
  },
  debug: { env: 'UNPRUNE_DEBUG', schema: z.string().transform(Boolean).default(false), doc: 'stack traces on errors' },
} as const;

type Declared = typeof SETTINGS;
export type Settings = { [K in keyof Declared]: z.output<Declared[K]['schema']> };

/** A setting with a bad value: names the variable, the value and what is allowed. Exit status 2, like a bad spec. */
export class SettingsError extends Error {
  readonly permanent = true;
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'SettingsError';
  }
}

/** Reads every setting from `env` (blank counts as unset); `overrides` (command-line flags) win. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Settings> = {}): Settings {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, s] of Object.entries(SETTINGS)) {
    const raw = env[s.env]?.trim() || undefined;
    const r = (s.schema as z.ZodType).safeParse(raw);
    if (r.success) out[name] = r.data;
    else problems.push(`${s.env}: ${JSON.stringify(raw)} is not valid (${s.doc}): ${r.error.issues[0]?.message}`);
  }
  if (problems.length) throw new SettingsError(problems);
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) out[k] = v;
  return out as Settings;
}

/**
 * The settings a stage process takes from its engine rather than from the environment they share (the backend a
 * `--backend` flag chose, a caller's own settings object), as the variables it reads them from.
 */
export function stageProcessEnv(s: Settings): Record<string, string> {
  return { [SETTINGS.backend.env]: s.backend, [SETTINGS.checkpointSeconds.env]: String(s.checkpointSeconds) };
}

/** The environment variables, for docs and `--help`. */
export function settingsTable(): { env: string; doc: string }[] {
  return Object.values(SETTINGS).map((s) => ({ env: s.env, doc: s.doc }));
}

/** What ml/'s backend needs of them. */
export function backendOptions(s: Settings): NativeBlasOptions {
  return { enabled: s.native, threads: s.blasThreads, coreType: s.openblasCoreType };
}

/** Where data sets read from the file system live (the spec's `dataset.dir` wins). */
export function datasetDirs(s: Settings): { 'fashion-mnist'?: string; cifar10?: string } {
  return { 'fashion-mnist': s.fashionMnistDir, cifar10: s.cifar10Dir };
}
