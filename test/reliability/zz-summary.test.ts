// The reliability summary: figures recorded by the other test/reliability files in this `npm test` run.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import { figuresFile, type FaultFigures } from '../helpers/sweep-runs.js';

test('reliability summary: every injected fault survived, no row lost, no corrupt read used', (t) => {
  const file = figuresFile();
  if (!existsSync(file)) {
    t.skip('no figures recorded (run the whole suite with npm test)');
    return;
  }
  const rows = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FaultFigures & { what: string });
  rmSync(file);
  const sum = (k: keyof FaultFigures) => rows.reduce((n, r) => n + (r[k] ?? 0), 0);
  const line =
    `reliability: faults injected ${sum('faultsInjected')}, faults survived ${sum('faultsSurvived')}, ` +
    `bad inputs tried ${sum('badInputs')}, rows lost ${sum('rowsLost')}, corrupt reads used ${sum('corruptReadsUsed')}, ` +
    `stages run twice ${sum('stagesRunTwice')} (${rows.length} checks)`;
  console.log(`# ${line}`);
  process.stdout.write(`${line}\n`);
  assert.equal(sum('rowsLost'), 0);
  assert.equal(sum('corruptReadsUsed'), 0);
  assert.equal(sum('faultsSurvived'), sum('faultsInjected'));
});
