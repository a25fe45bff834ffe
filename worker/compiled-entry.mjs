// A TypeScript entry point (the CLI, a stage process) run from one cached esbuild bundle instead of through tsx's
// loader, which resolves and transforms every module on its loader thread at each start: a stage process took
// 1.07 s to import its modules that way and 0.49 s from its bundle, the CLI's `--help` 0.72 s and 0.39 s (2-core VM,
// 2026-12-03). Plain JavaScript, so that bin/unprune.js can use it before any TypeScript loader exists.
//
// Our sources are bundled, and zod; other packages stay `import`s, resolved from node_modules as before (tfjs-core
// by `require`, below). Each file's `import.meta.url` is replaced by its source file's URL, so paths beside the
// sources (the native addon, package resolution through createRequire) still resolve. A bundle is rebuilt when a
// file it holds changed (size or mtime), Node changed, or a file went missing; where it cannot be built or written
// (esbuild missing, a read-only install) callers run the entry through tsx as before.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The project's cache folder (bundles; facts about this Node binary): rebuildable, never needed for correctness. */
export const CACHE = join(ROOT, 'node_modules', '.cache', 'unprune');
/** Builds not in use by the manifest are deleted once untouched this long: a long run still loads its lazy chunks. */
const STALE_BUILD_MS = 7 * 24 * 3600 * 1000;

/** Writes a file in the cache folder whole, then renames it into place: a concurrent reader sees old or new. */
export function writeCacheFile(path, text) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Size and mtime of each file, the fingerprint a bundle is checked against. */
function fingerprint(path) {
  const s = statSync(path);
  return `${s.size}:${s.mtimeMs}`;
}

/**
 * The bundle's main file if its manifest is current for this Node and this checkout (a copied checkout's bundle
 * names the original's files), otherwise undefined.
 */
function currentBuild(dir) {
  let m;
  try {
    m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    if (m.node !== process.version || m.root !== ROOT) return undefined;
    for (const [path, print] of Object.entries(m.inputs)) if (fingerprint(join(ROOT, path)) !== print) return undefined;
  } catch {
    return undefined; // no manifest yet, a source removed, a torn read: build afresh
  }
  const build = join(dir, m.build);
  try {
    utimesSync(build, new Date(), new Date()); // in use: not cleaned up
  } catch {
    // a read-only install: nobody cleans up there either
  }
  return join(build, m.main);
}

/**
 * CommonJS packages the bundles load by `require` instead of `import`: an ESM import of a CommonJS file has Node scan
 * its source for export names first (cjs-module-lexer), 111–119 ms for tfjs-core's against a 26–38 ms require, on
 * each stage process's start. The bundle imports a stand-in that requires the package and re-exports its names (read
 * here, at build time), so the objects are the package's own, shared with the packages that require it.
 */
const REQUIRED_PACKAGES = /^@tensorflow\/tfjs-core$/;
const REQUIRED = 'required-package';

/**
 * ES packages bundled in rather than imported: Node's loader resolves, reads and links each of their files at every
 * start; zod is ~80 files, 84–86 ms imported against 57–60 ms as one bundled file (2026-12-04).
 */
const BUNDLED_PACKAGES = /^zod$/;

function requiringStandIn(name) {
  const from = pathToFileURL(join(ROOT, 'package.json')).href;
  const names = Object.keys(createRequire(from)(name)).filter(
    (k) => /^[A-Za-z$][\w$]*$/.test(k) && k !== 'default' && !RESERVED_WORDS.has(k),
  );
  return [
    `import { createRequire } from 'node:module';`,
    `const m = createRequire(${JSON.stringify(from)})(${JSON.stringify(name)});`,
    `export default m;`,
    `export const { ${names.join(', ')} } = m;`,
  ].join('\n');
}
const RESERVED_WORDS = new Set(
  (
    'await break case catch class const continue debugger default delete do else enum export extends false finally ' +
    'for function if implements import in instanceof interface let new null package private protected public return ' +
    'static super switch this throw true try typeof var void while with yield arguments eval'
  ).split(' '),
);

/** Bundles `entry` (an absolute .ts path) into a fresh folder, then points the manifest at it. */
async function build(entry, dir) {
  const esbuild = await import('esbuild');
  const name = `b-${Date.now().toString(36)}-${process.pid}`;
  const out = join(dir, name);
  const result = await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: ROOT, // the metafile's input paths are relative to it, whatever the caller's cwd
    outdir: out,
    bundle: true,
    splitting: true, // the CLI's lazy imports (the local engine, the report, Temporal) stay lazy
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node}`,
    packages: 'external',
    metafile: true,
    logLevel: 'silent',
    plugins: [
      {
        name: 'bundled-packages',
        setup(b) {
          // The package's ES entry, as Node would import it from here (the project's node_modules).
          b.onResolve({ filter: BUNDLED_PACKAGES }, (a) => ({ path: fileURLToPath(import.meta.resolve(a.path)) }));
        },
      },
      {
        name: 'required-packages',
        setup(b) {
          b.onResolve({ filter: REQUIRED_PACKAGES }, (a) => ({ path: a.path, namespace: REQUIRED }));
          b.onLoad({ filter: /.*/, namespace: REQUIRED }, (a) => ({
            contents: requiringStandIn(a.path),
            loader: 'js',
          }));
        },
      },
      {
        name: 'source-import-meta-url',
        setup(b) {
          b.onLoad({ filter: /\.m?ts$|\.mjs$/ }, async (a) => ({
            // A regular expression, not the text itself: this file is bundled into the CLI too.
            contents: (await readFile(a.path, 'utf8')).replace(
              /\bimport\.meta\.url\b/g,
              JSON.stringify(pathToFileURL(a.path).href),
            ),
            loader: a.path.endsWith('.mjs') ? 'js' : 'ts',
          }));
        },
      },
    ],
  });
  // The files bundled (not the stand-ins), and this file: a change to how bundles are made rebuilds them.
  const inputs = { [relative(ROOT, fileURLToPath(import.meta.url))]: fingerprint(fileURLToPath(import.meta.url)) };
  for (const input of Object.keys(result.metafile.inputs))
    if (!input.startsWith(`${REQUIRED}:`)) inputs[input] = fingerprint(join(ROOT, input));
  const main = `${basename(entry).replace(/\.ts$/, '')}.js`;
  const manifest = { node: process.version, root: ROOT, esbuild: esbuild.version, build: name, main, inputs };
  writeCacheFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  for (const other of readdirSync(dir)) {
    if (!other.startsWith('b-') || other === name) continue;
    const p = join(dir, other);
    if (Date.now() - statSync(p, { throwIfNoEntry: false })?.mtimeMs > STALE_BUILD_MS)
      rmSync(p, { recursive: true, force: true });
  }
  return join(out, main);
}

/**
 * The path of `entry`'s bundled main file (built now if missing or stale), or undefined where no bundle can be
 * had: the caller then runs the TypeScript through tsx.
 */
export async function compiledEntry(entry) {
  const dir = join(CACHE, relative(ROOT, entry).replace(/\.ts$/, '').replaceAll(sep, '-'));
  const ready = currentBuild(dir);
  if (ready) return ready;
  try {
    mkdirSync(dir, { recursive: true });
    return await build(entry, dir);
  } catch {
    return undefined;
  }
}
