// Everything the README and the docs link to lives in the repository: every relative link in a Markdown file resolves
// to a file or folder inside it (a clone has no ../shared/).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = new URL('..', import.meta.url).pathname;

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === 'node_modules' || e.name.startsWith('.') || e.name === 'test-artifacts') return [];
    const path = join(dir, e.name);
    return e.isDirectory() ? markdownFiles(path) : e.name.endsWith('.md') ? [path] : [];
  });
}

test('every relative link in README.md and docs/ (and every other Markdown file) resolves inside the repository', () => {
  const files = markdownFiles(ROOT);
  assert.ok(files.some((f) => f.endsWith('README.md')) && files.some((f) => f.includes('/docs/')));
  const broken: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)|(?:src|href)="([^"]+)"/g)) {
      const target = (m[1] ?? m[2]!).split('#')[0]!;
      if (!target || /^[a-z]+:/i.test(target)) continue; // a URL or an anchor on the same page
      const path = resolve(dirname(file), decodeURIComponent(target));
      const inside = !relative(ROOT, path).startsWith('..');
      if (!inside || !existsSync(path)) broken.push(`${relative(ROOT, file)}: ${target}${inside ? '' : ' (outside)'}`);
    }
  }
  assert.deepEqual(broken, []);
});
