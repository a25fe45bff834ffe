#!/usr/bin/env node
// The `unprune` command. The sources are TypeScript (no build step to forget): run from a bundle cached in
// node_modules/.cache and rebuilt whenever a source changed (worker/compiled-entry.mjs), or through tsx's loader
// where no bundle can be written.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compiledEntry } from '../worker/compiled-entry.mjs';

const main = await compiledEntry(fileURLToPath(new URL('../cli/main.ts', import.meta.url)));
if (main) {
  await import(pathToFileURL(main).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
