// The benchmarks' command lines (bench/command-line.ts): `--help` prints the script's header comment — what it
// measures and its options — and exits 0; an unknown option exits 2 naming it, with that text, and runs nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const bench = (script: string, args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', `bench/${script}.ts`, ...args], { encoding: 'utf8' });

for (const script of ['profile', 'plan', 'grid'])
  test(`bench/${script}.ts --help prints its usage; an unknown option exits 2 naming it`, () => {
    const help = bench(script, ['--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`npm run bench:${script} -- \\[`));
    assert.doesNotMatch(help.stdout, /^\/\//m, 'comment markers stripped');
    const wrong = bench(script, ['--no-such-option']);
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /Unknown option '--no-such-option'/);
    assert.match(wrong.stderr, new RegExp(`npm run bench:${script} -- \\[`));
    assert.doesNotMatch(wrong.stderr, /at .*\(node:/, 'no stack trace');
  });
