// The reliability summary: what the other test/reliability checks of this `npm test` run recorded. A fault counts
// as injected when a check declares it (before injecting) and as survived only once that check's assertions on the
// rows passed, so a failed check shows in the line. Run alone, it runs those checks itself first.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { figuresFile, type FaultFigures } from '../helpers/sweep-runs.js';

const HERE = new URL('.', import.meta.url).pathname;

/** Runs the other reliability files in a child test runner that writes its figures to `file`. */
function runChecks(file: string): void {
  const files = readdirSync(HERE)
    .filter((f) => f.endsWith('.test.ts') && !f.startsWith('zz-'))
    .sort()
    .map((f) => join(HERE, f));
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
    env: { ...process.env, UNPRUNE_FAULT_FIGURES: file },
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 20 * 60_000,
  });
  console.log(`# ran ${files.length} reliability files alone (exit ${r.status ?? r.signal})`);
}

test(
  'reliability summary: every injected fault survived, no row lost, no corrupt read used',
  { timeout: 25 * 60_000 },
  () => {
    let file = figuresFile();
    if (!existsSync(file)) {
      file = join(tmpdir(), `unprune-fault-figures-alone-${process.pid}.jsonl`);
      runChecks(file);
    }
    assert.ok(existsSync(file), 'the reliability checks recorded nothing');
    const rows = readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as FaultFigures & { what: string });
    rmSync(file);
    const sum = (k: keyof FaultFigures) => rows.reduce((n, r) => n + (r[k] ?? 0), 0);
    const checks = new Set(rows.map((r) => r.what));
    const line =
      `reliability: faults injected ${sum('faultsInjected')}, faults survived ${sum('faultsSurvived')}, ` +
      `bad inputs rejected ${sum('badInputs')}, rows lost ${sum('rowsLost')}, corrupt reads used ${sum('corruptReadsUsed')}, ` +
      `stages run twice ${sum('stagesRunTwice')} (${checks.size} checks)`;
    console.log(`# ${line}`);
    process.stdout.write(`${line}\n`);
    const perCheck = (what: string, k: keyof FaultFigures) =>
      rows.filter((r) => r.what === what).reduce((n, r) => n + (r[k] ?? 0), 0);
    const unverified = [...checks].filter((w) => perCheck(w, 'faultsSurvived') < perCheck(w, 'faultsInjected'));
    assert.deepEqual(unverified, [], `checks whose injected faults were not verified: ${unverified.join('; ')}`);
    assert.equal(sum('rowsLost'), 0);
    assert.equal(sum('corruptReadsUsed'), 0);
  },
);
