// The CLI and the stage processes start from a cached esbuild bundle of their TypeScript (worker/compiled-entry.mjs).
// What must hold: each source file still sees its own location through import.meta.url, an unchanged tree reuses
// the bundle, and an edited or removed source makes a fresh one that runs the new code.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CACHE, compiledEntry } from '../../worker/compiled-entry.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('a bundled entry keeps each source file’s import.meta.url and is rebuilt when a source changes', async () => {
  const dir = join(ROOT, 'test-artifacts', `compiled-entry-${process.pid}`);
  mkdirSync(join(dir, 'lib'), { recursive: true });
  try {
    const main = join(dir, 'main.ts');
    const lib = join(dir, 'lib', 'where.ts');
    writeFileSync(
      main,
      "import { where } from './lib/where.js';\nconst here: string = import.meta.url;\nconsole.log(JSON.stringify([here, where()]));\n",
    );
    writeFileSync(lib, "export const where = (): string => new URL('.', import.meta.url).href + ' v1';\n");
    const run = (bundle: string) => JSON.parse(execFileSync(process.execPath, [bundle], { encoding: 'utf8' }));

    // Built from another working directory, as `node /path/to/bin/unprune.js` from anywhere does.
    const cwd = process.cwd();
    process.chdir(tmpdir());
    const first = await compiledEntry(main).finally(() => process.chdir(cwd));
    assert.ok(first, 'a bundle was built');
    assert.ok(first.includes(join('node_modules', '.cache', 'unprune')), first);
    assert.deepEqual(run(first), [pathToFileURL(main).href, `${pathToFileURL(join(dir, 'lib')).href}/ v1`]);

    assert.equal(await compiledEntry(main), first, 'an unchanged tree reuses its bundle');

    writeFileSync(lib, "export const where = (): string => new URL('.', import.meta.url).href + ' version 2';\n");
    const second = await compiledEntry(main);
    assert.ok(second && second !== first, 'an edited source makes a new bundle');
    assert.equal(run(second)[1], `${pathToFileURL(join(dir, 'lib')).href}/ version 2`);

    // A source the bundle holds is gone: rebuilt, and the build fails (nothing to import), so the caller uses tsx.
    rmSync(lib);
    assert.equal(await compiledEntry(main), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    const cached = `test-artifacts-compiled-entry-${process.pid}-main`;
    rmSync(join(CACHE, cached), { recursive: true, force: true });
  }
});
