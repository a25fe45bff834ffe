#!/usr/bin/env node
// Builds the optional native kernel addon (unprune_blas.c → build/native/unprune_blas.node) over Debian's OpenBLAS.
// Run by `npm install` (postinstall) and `npm run build:native`. It never fails the install: without a compiler,
// Node's headers or OpenBLAS it says why and the wasm kernels are used. On Debian as root it installs
// libopenblas-dev when missing (2 s); UNPRUNE_NATIVE=0 skips the whole build.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const source = join(here, 'unprune_blas.c');
// Compiled together with the source; a newer one of them rebuilds the addon.
const sources = [source, join(here, 'rbf_svc.c'), join(here, 'rbf_svc.h')];
const out = join(root, 'build', 'native', 'unprune_blas.node');
const say = (msg) => console.log(`unprune native kernels: ${msg}`);

function nodeIncludeDir() {
  const candidates = [
    join(dirname(process.execPath), '..', 'include', 'node'),
    join(process.config.variables.node_prefix ?? '/usr', 'include', 'node'),
    '/usr/include/node',
  ];
  return candidates.find((d) => existsSync(join(d, 'node_api.h')));
}

const hasCblas = () => ['/usr/include/cblas.h', '/usr/include/x86_64-linux-gnu/cblas.h'].some(existsSync);
const hasOpenblas = () => spawnSync('sh', ['-c', 'ldconfig -p | grep -q "libopenblas\\.so "']).status === 0;

function installOpenblas() {
  if (process.platform !== 'linux' || process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) return false;
  say('installing libopenblas-dev (Debian) ...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const r = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '-qq', 'libopenblas-dev'], {
    stdio: 'ignore',
    env,
  });
  return r.status === 0 && hasCblas() && hasOpenblas();
}

function main() {
  if (process.env.UNPRUNE_NATIVE === '0') return say('skipped (UNPRUNE_NATIVE=0); the wasm kernels are used');
  const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
  if (existsSync(out) && statSync(out).mtimeMs >= newest && !process.argv.includes('--force')) {
    return say(`up to date (${relative(root, out)})`);
  }
  const include = nodeIncludeDir();
  if (!include) return say("not built: Node's C headers (node_api.h) not found; the wasm kernels are used");
  if ((!hasCblas() || !hasOpenblas()) && !installOpenblas()) {
    return say('not built: OpenBLAS not found (apt-get install libopenblas-dev); the wasm kernels are used');
  }
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  // -ffp-contract=off: no implicit fused multiply-adds, so the fused SGD update rounds exactly like the op-by-op
  // version (the direct convolution asks for FMA explicitly). -march=native: the addon is built on the machine that
  // runs it (AVX2/FMA for the vector kernels); UNPRUNE_NATIVE_MARCH picks another target, e.g. for an image built
  // on one machine and run on others.
  const march = process.env.UNPRUNE_NATIVE_MARCH ?? 'native';
  const args = [
    '-O3',
    '-std=c11',
    '-Wall',
    '-Wno-psabi',
    '-ffp-contract=off',
    `-march=${march}`,
    '-shared',
    '-fPIC',
    `-I${include}`,
  ];
  args.push('-DNODE_GYP_MODULE_NAME=unprune_blas', ...sources.filter((f) => f.endsWith('.c')), '-o', tmp, '-lopenblas', '-lm');
  try {
    execFileSync(process.env.CC ?? 'cc', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch {
    return say('not built: the C compiler failed (see above); the wasm kernels are used');
  }
  renameSync(tmp, out);
  say(`built ${relative(root, out)} (OpenBLAS); \`--backend blas\` and \`auto\` use it`);
}

main();
