// Compute backend selection. `auto` prefers native TensorFlow (GPU, then CPU), then `blas` (the wasm backend with
// the project's native OpenBLAS kernels for matmul and conv), then plain wasm, then the pure-JS cpu backend. The tfjs-node packages are optional dependencies: they download libtensorflow at install time and are
// absent on machines without internet, so they are loaded dynamically and their absence is not an error.
import { createRequire, Module } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import {
  configureNativeBlas,
  loadNativeBlas,
  nativeBlasUnavailableReason,
  type NativeBlasOptions,
} from './kernels/native-blas.js';

export { configureNativeBlas, type NativeBlasOptions } from './kernels/native-blas.js';
import { registerWasmKernels } from './kernels/register-wasm-kernels.js';
import { registerReductionGradients } from './kernels/reduction-gradients.js';

import { BACKEND_CHOICES, type ConcreteBackend } from './catalog.js';
import { BackendUnavailableError } from './errors.js';

export { BACKEND_CHOICES, type BackendChoice, type ConcreteBackend } from './catalog.js';
export { BackendUnavailableError } from './errors.js';

export interface BackendInfo {
  /** The unprune name of the backend in use. */
  name: ConcreteBackend;
  /** The tfjs engine's name for it (`tensorflow`, `wasm`, `cpu`). */
  tfName: string;
  /** Every backend that could be loaded on this machine, in preference order. */
  available: ConcreteBackend[];
}

// Side-effect loads, by require: an ES import of a CommonJS package makes Node lex its source (and every package
// it re-exports) for named exports, 0.4 s of every worker's start (measured). The union package registers every
// op's gradient (tfjs-core alone registers none) and the chained ops.
const requireCjs = createRequire(import.meta.url);
requireUnionWithoutReexports();
requireCjs('@tensorflow/tfjs-backend-cpu');
requireCjs('@tensorflow/tfjs-backend-wasm');

/**
 * The union package, with the packages it only re-exports (Keras layers, graph models, tf.data, the browser's WebGL
 * backend: none used here) standing in empty while it loads: loading them was 70–100 ms of every stage process's
 * start (2026-12-04). The stand-ins leave require's cache afterwards, so a later require of one loads the real one.
 */
function requireUnionWithoutReexports(): void {
  const reexported = [
    '@tensorflow/tfjs-layers',
    '@tensorflow/tfjs-converter',
    '@tensorflow/tfjs-data',
    '@tensorflow/tfjs-backend-webgl',
  ];
  const union = requireCjs.resolve('@tensorflow/tfjs');
  if (requireCjs.cache[union]) return;
  // Resolved from the union's folder: the copies it would load.
  const fromUnion = createRequire(union);
  const standIns = reexported.map((name) => fromUnion.resolve(name)).filter((path) => !requireCjs.cache[path]);
  for (const path of standIns) {
    const standIn = new Module(path);
    standIn.filename = path;
    standIn.loaded = true;
    requireCjs.cache[path] = standIn;
  }
  try {
    requireCjs(union);
  } finally {
    for (const path of standIns) delete requireCjs.cache[path];
  }
}

const NODE_PACKAGES: Record<'node-gpu' | 'node', string> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
};

const loadFailures = new Map<ConcreteBackend, string>();
let nodeLoadAttempted: 'node-gpu' | 'node' | null | undefined;

/** Imports at most one tfjs-node flavour (both register the same `tensorflow` backend name). */
async function loadNativeBackend(): Promise<'node-gpu' | 'node' | null> {
  if (nodeLoadAttempted !== undefined) return nodeLoadAttempted;
  nodeLoadAttempted = null;
  for (const flavour of ['node-gpu', 'node'] as const) {
    try {
      await import(NODE_PACKAGES[flavour]);
      // The package must have registered into *our* tfjs-core; a second copy of tfjs-core would not be seen.
      if (tf.findBackendFactory('tensorflow') == null) {
        loadFailures.set(flavour, `${NODE_PACKAGES[flavour]} loaded but uses a different @tensorflow/tfjs-core`);
        continue;
      }
      nodeLoadAttempted = flavour;
      return flavour;
    } catch (err) {
      loadFailures.set(flavour, `${NODE_PACKAGES[flavour]} is not installed or failed to load: ${firstLine(err)}`);
    }
  }
  return null;
}

function firstLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split('\n')[0] ?? '';
}

/** Backends loadable here, best first. */
export async function availableBackends(): Promise<ConcreteBackend[]> {
  const native = await loadNativeBackend();
  const list: ConcreteBackend[] = [];
  if (native) list.push(native);
  if (loadNativeBlas()) list.push('blas');
  else loadFailures.set('blas', nativeBlasUnavailableReason());
  list.push('wasm', 'cpu');
  return list;
}

const TF_NAMES: Record<ConcreteBackend, string> = {
  'node-gpu': 'tensorflow',
  node: 'tensorflow',
  blas: 'wasm',
  wasm: 'wasm',
  cpu: 'cpu',
};

// PROD silences tfjs's console banners ("looks like you are running TensorFlow.js in Node.js") and debug checks.
tf.env().set('PROD', true);
// Sum's and Mean's gradients without tfjs's JavaScript-filled tensors of ones (same bits; every backend).
registerReductionGradients();

let current: BackendInfo | undefined;

/**
 * Selects and initialises the backend (`auto`: the fastest installed). An explicit choice that cannot be loaded
 * throws BackendUnavailableError naming what is installed. `native` configures the OpenBLAS addon before it loads.
 */
export async function initBackend(choice = 'auto', native: NativeBlasOptions = {}): Promise<BackendInfo> {
  configureNativeBlas(native);
  const requested = choice.trim() || 'auto';
  if (!(BACKEND_CHOICES as readonly string[]).includes(requested)) {
    const available = await availableBackends();
    throw new BackendUnavailableError(requested, available, `unknown backend name`);
  }
  const available = await availableBackends();
  const candidates: ConcreteBackend[] = requested === 'auto' ? available : [requested as ConcreteBackend];
  let lastReason = '';
  for (const name of candidates) {
    if (!available.includes(name)) {
      lastReason = loadFailures.get(name) ?? 'not installed';
      continue;
    }
    const tfName = TF_NAMES[name];
    const ok = await tf.setBackend(tfName);
    if (!ok) {
      lastReason = `tfjs could not initialise the ${tfName} backend`;
      continue;
    }
    await tf.ready();
    if (tfName === 'wasm') registerWasmKernels(name === 'blas' ? loadNativeBlas() : null);
    current = { name, tfName, available };
    return current;
  }
  throw new BackendUnavailableError(requested, available, lastReason);
}

/** The backend chosen by initBackend (throws if none has been initialised). */
export function currentBackend(): BackendInfo {
  if (!current) throw new Error('no backend initialised: call initBackend() first');
  return current;
}

export { tf };
