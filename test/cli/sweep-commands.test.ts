// The sweep commands as a user runs them: validate / plan / run / results, exit statuses and messages.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { METRIC_NAMES } from '../../sweep/results/result-metrics.js';
import { AXES } from '../../sweep/results/result-rows.js';
import { unprune } from '../helpers/cli.js';

const BAD = new URL('../fixtures/bad-specs/', import.meta.url).pathname;
const TINY = new URL('../fixtures/specs/tiny.yaml', import.meta.url).pathname;
const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
const tmp = () => mkdtempSync(join(tmpdir(), 'unprune-cli-'));

test('bad specs: precise message, exit status 2, nothing written (validate and run)', () => {
  for (const f of readdirSync(BAD).filter((x) => x.endsWith('.yaml'))) {
    const expected = /^# expect: (.*)$/m.exec(readFileSync(join(BAD, f), 'utf8'))![1]!;
    const v = unprune(['validate', join(BAD, f)]);
    assert.equal(v.status, 2, `${f}: ${v.stderr}`);
    assert.ok(v.stderr.includes(expected), `${f}: ${v.stderr}`);
    assert.ok(!v.stderr.includes('    at '), 'no stack trace');
  }
  const store = join(tmp(), 'store');
  const r = unprune(['run', join(BAD, 'unknown-method.yaml'), '--store', store]);
  assert.equal(r.status, 2);
  assert.ok(!existsSync(store), 'nothing written');
  assert.equal(unprune(['validate', join(BAD, 'no-such-file.yaml')]).status, 2);
  assert.equal(unprune(['run', TINY, '--workers', '0']).status, 2);
  assert.equal(unprune(['run', TINY, '--format', 'pdf']).status, 2);
  const limited = unprune(['validate', TINY, '--max-cells', '10']);
  assert.equal(limited.status, 2);
  assert.match(limited.stderr, /the grid has 48 cells, above the limit of 10/);
});

test('validate and plan accept the examples; the paper grid plans to at most a fifth of the naive stage count', () => {
  const v = unprune(['validate', join(EXAMPLES, 'quickstart.yaml')]);
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /quickstart.yaml: ok — sweep "quickstart", 96 cells/);
  const p = unprune(['plan', join(EXAMPLES, 'paper-grid.yaml')]);
  assert.equal(p.status, 0, p.stderr);
  const ratio = Number(/planned\/naive = ([\d.]+)/.exec(p.stdout)![1]);
  assert.ok(ratio <= 0.2, p.stdout);
  const j = JSON.parse(unprune(['plan', join(EXAMPLES, 'paper-grid.yaml'), '--json']).stdout);
  assert.ok(j.planned * 5 <= j.naive);
  assert.equal(unprune(['plan', join(EXAMPLES, 'mia-sensitivity.yaml')]).status, 0);
  for (const cmd of ['validate', 'plan', 'run', 'results', 'backends']) {
    const h = unprune([cmd, '--help']);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /Usage: unprune/);
  }
});

test('results by spec file or sweep id, in every format', () => {
  const store = tmp();
  // With the noise floor (tiny.yaml leaves it out for the engine tests).
  const spec = join(tmp(), 'tiny-floor.yaml');
  writeFileSync(spec, readFileSync(TINY, 'utf8').replace('floor: false', 'floor: true'));
  const run = unprune(['run', spec, '--store', store, '--workers', '2', '--format', 'csv']);
  assert.equal(run.status, 0, run.stderr);
  // Every axis, then every registered metric in registry order, then the MIA features.
  assert.equal(run.stdout.split('\n')[0]!, [...AXES, ...METRIC_NAMES, 'mia_confidence'].join(','));
  const id = readdirSync(join(store, 'sweeps'))[0]!;
  const table = unprune(['results', id, '--store', store]);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /mean ± 95% CI half-width over seeds/);
  assert.equal(unprune(['results', spec, '--store', store]).stdout, table.stdout);
  const md = unprune(['results', id, '--store', store, '--format', 'md']);
  assert.match(md.stdout, /^# tiny-/);
  const json = JSON.parse(unprune(['results', id, '--store', store, '--format', 'json']).stdout);
  assert.equal(json.rows.length, 48);
  const html = join(store, 'report.html');
  assert.equal(unprune(['results', id, '--store', store, '--format', 'html', '--out', html]).status, 0);
  const text = readFileSync(html, 'utf8');
  assert.match(text, /Metric stability/);
  assert.ok((text.match(/<svg/g) ?? []).length >= 4);
  // The study's sections: every data-dependent group has a noise floor, and reprune a place on the frontier.
  assert.match(table.stdout, /deletion effect vs noise floor/);
  assert.match(table.stdout, /recovery–cost frontier/);
  const compare = unprune(['results', id, '--store', store, '--compare', 'unprune=none,reprune']);
  assert.equal(compare.status, 0, compare.stderr);
  assert.match(compare.stdout, /reprune against none, paired over seeds/);
  assert.match(compare.stdout, /reprune − none \[95% CI\]/);
  assert.equal(unprune(['results', id, '--store', store, '--compare', 'seeds=0,1']).status, 2);
  const missing = unprune(['results', 'nope-123', '--store', store]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, new RegExp(`no sweep "nope-123" in .*; known: ${id}`));
  const nowhere = join(tmp(), 'no-store-here');
  assert.equal(unprune(['results', 'nope-123', '--store', nowhere]).status, 2);
  assert.ok(!existsSync(nowhere), 'results of an unknown sweep creates nothing');
  // Shaping: chosen metrics, grouping, the averaged CSV, LaTeX, figures one by one.
  const picked = unprune(['results', id, '--store', store, '--metrics', 'ua,iou_gold', '--group-by', 'prune,unprune']);
  assert.equal(picked.status, 0, picked.stderr);
  assert.match(picked.stdout, /averaged over dataset, arch, sparsity, deletion, size, unlearn/);
  assert.match(picked.stdout, /│ prune +│ unprune +│ seeds +│ UA +│ IoU\(m_f,m_r\) +│/);
  assert.match(picked.stdout, /│ omp +│ gold +│/);
  const badMetric = unprune(['results', id, '--store', store, '--metrics', 'uaa']);
  assert.equal(badMetric.status, 2);
  assert.match(badMetric.stderr, /--metrics: "uaa" is not a metric; known: ua, ra, ta/);
  const averaged = unprune(['results', id, '--store', store, '--format', 'csv', '--aggregate']).stdout.split('\n');
  assert.match(averaged[0]!, /^row,.*,seeds,ua_mean,ua_std,ua_ci_low,ua_ci_high,/);
  assert.ok(averaged.some((l) => l.startsWith('gold,')) && averaged.some((l) => l.startsWith('original,')));
  assert.match(unprune(['results', id, '--store', store, '--format', 'latex']).stdout, /\\toprule[\s\S]*\\bottomrule/);
  const figures = join(store, 'figures');
  assert.equal(unprune(['results', id, '--store', store, '--figures', figures]).status, 0);
  for (const f of ['iou-vs-deletion', 'accuracy-per-algorithm']) {
    assert.match(readFileSync(join(figures, `${f}.svg`), 'utf8'), /^<svg/);
    assert.deepEqual([...readFileSync(join(figures, `${f}.png`)).subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG');
  }
  // The store's sweeps, and what `plan` finds already stored.
  const list = unprune(['list', '--store', store]);
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`${id} +│ tiny +│ \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d │ 48/48`));
  const plan = unprune(['plan', spec, '--store', store]);
  assert.match(plan.stdout, /every stage is stored/);
  const other = join(tmp(), 'tiny-more.yaml');
  writeFileSync(other, readFileSync(spec, 'utf8').replace('seeds: [0, 1]', 'seeds: [0, 1, 2]'));
  assert.match(
    unprune(['plan', other, '--store', store, '--workers', '2']).stdout,
    /\d+ stages to run: about \S+ \(stage times recorded in the store, 2 workers\)/,
  );
});

test('--version prints the package version; a bad option value is one line naming the option and its choices (exit 2); a closed pipe ends quietly with status 0', async () => {
  const { spawnSync } = await import('node:child_process');
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const v = unprune(['--version']);
  assert.equal(v.status, 0);
  assert.equal(v.stdout.trim(), pkg.version);
  const bad = unprune(['results', 'x', '--format', 'nope']);
  assert.equal(bad.status, 2);
  assert.match(
    bad.stderr,
    /option '--format <format>' argument 'nope' is invalid\. Allowed choices are table, csv, json, md, latex, html/,
  );
  assert.ok(bad.stderr.trim().split('\n').length <= 2, bad.stderr);
  const store = tmp();
  assert.equal(unprune(['run', TINY, '--store', store, '--workers', '2']).status, 0);
  const id = readdirSync(join(store, 'sweeps'))[0]!;
  const bin = new URL('../../bin/unprune.js', import.meta.url).pathname;
  const piped = spawnSync(
    'bash',
    [
      '-c',
      `"${process.execPath}" "${bin}" results ${id} --store "${store}" --format json | head -1; exit \${PIPESTATUS[0]}`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(piped.status, 0, piped.stderr);
  assert.equal(piped.stdout, '{\n');
  assert.equal(piped.stderr, '', 'no stack trace');
});
