import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cellCount, parseSweep, SpecError } from '../../sweep/spec.js';

const BAD = new URL('../fixtures/bad-specs/', import.meta.url).pathname;

test('every bad-spec fixture fails with its precise message (first line of the file: "# expect: …")', () => {
  const files = readdirSync(BAD).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 6);
  for (const f of files) {
    const text = readFileSync(join(BAD, f), 'utf8');
    const expected = /^# expect: (.*)$/m.exec(text)![1]!;
    assert.throws(
      () => parseSweep(text, { source: f }),
      (e: unknown) => e instanceof SpecError && e.message.includes(expected),
      `${f}: expected "${expected}"`,
    );
  }
});

test('the examples validate, with the documented cell counts', () => {
  const load = (f: string) => parseSweep(readFileSync(new URL(`../../examples/${f}`, import.meta.url), 'utf8'));
  assert.equal(cellCount(load('quickstart.yaml')), 2 * 4 * 3 * 2 * 2);
  assert.ok(cellCount(load('paper-grid.yaml')) > 10000);
  assert.ok(cellCount(load('mia-sensitivity.yaml')) > 0);
  for (const f of readdirSync(new URL('../../examples/', import.meta.url)).filter((x) => x.endsWith('.yaml')))
    assert.ok(cellCount(load(f)) > 0, f);
});

test('defaults are filled in and single values become lists', () => {
  const s = parseSweep(`
name: d
dataset: { name: mnist, train: 100 }
model: { arch: mlp }
train: { epochs: 1, batch: 8, lr: 0.1 }
seeds: [0]
prune: [{ method: omp, sparsity: 0.5 }]
deletion: { kind: class, classes: 3 }
unlearn: [{ method: ft }]
`);
  assert.deepEqual(s.dataset, [{ name: 'mnist', train: 100, subsetSeed: 0 }]);
  assert.deepEqual(s.prune[0]!.sparsity, [0.5]);
  assert.equal(s.train.optimizer, 'sgd');
  assert.deepEqual(s.unprune, [{ variant: 'none', estimator: 'retrain', order: 'unprune-first' }]);
  assert.deepEqual(s.evaluate, { miaFeatures: ['confidence'], miaShadow: 1000, floor: true, floorInit: false });
  assert.deepEqual(s.deletion, [{ kind: 'class', classes: [3] }]);
});

test('several problems are reported together, each with its path', () => {
  assert.throws(
    () =>
      parseSweep(`
name: "bad name!"
dataset: { name: imagenet }
model: { arch: mlp }
train: { epochs: 0, batch: 8, lr: 0.1 }
seeds: [0]
prune: [{ method: omp, sparsity: 0.5 }]
deletion: { kind: random }
unlearn: [{ method: ft }, { method: forget-me }]
`),
    (e: unknown) => {
      const m = (e as SpecError).problems.join('\n');
      return (
        m.includes('name: letters, digits') &&
        m.includes('dataset.name: "imagenet" is not one of mnist, fashion-mnist, cifar10, synthetic') &&
        m.includes('train.epochs: 0 is below the minimum 1') &&
        m.includes('deletion.sizes: required for random deletion') &&
        m.includes('unlearn[1].method: "forget-me" is not one of retrain, ft, ga')
      );
    },
  );
});

test('regrow: its settings validate; they are refused on other variants; the removed swap is named', () => {
  const base =
    'name: r\ndataset: { name: synthetic }\nmodel: { arch: mlp }\ntrain: { epochs: 1, batch: 8, lr: 0.1 }\n' +
    'seeds: [0]\nprune: [{ method: omp, sparsity: 0.5 }]\ndeletion: { kind: random, sizes: [0.1] }\nunlearn: [{ method: ft }]\n';
  const ok = parseSweep(`${base}unprune: [none, { variant: regrow, fraction: 0.5, rounds: 3, init: random }]`);
  assert.deepEqual(ok.unprune[1], {
    variant: 'regrow',
    fraction: 0.5,
    rounds: 3,
    init: 'random',
    estimator: 'retrain',
    order: 'unprune-first',
  });
  const problems = (text: string) => {
    try {
      parseSweep(base + text);
      return '';
    } catch (e) {
      return (e as SpecError).problems.join('\n');
    }
  };
  assert.match(
    problems('unprune: [{ variant: reprune, rounds: 2 }]'),
    /unprune\[0\]\.rounds: applies to the regrow variant only/,
  );
  assert.match(problems('unprune: [{ variant: regrow, fraction: 1.5 }]'), /unprune\[0\]\.fraction/);
  assert.match(problems('unprune: [{ variant: regrow, init: zero }]'), /unprune\[0\]\.init.*original.*random/);
  assert.match(problems('unprune: [swap]'), /swap.*none.*reprune.*regrow/);
  // Two regrow entries with different settings get distinct labels; equal ones are a duplicate.
  assert.equal(problems('unprune: [regrow, { variant: regrow, fraction: 0.1 }]'), '');
  assert.match(problems('unprune: [regrow, { variant: regrow }]'), /duplicates unprune\[0\]/);
});

test('one pass reports every problem: a bad train field does not hide a deletion larger than the data', () => {
  assert.throws(
    () =>
      parseSweep(`
name: one-pass
dataset: { name: mnist, train: 6000 }
model: { arch: mlp }
train: { epochs: three, batch: 128, lr: 0.05 }
seeds: [0]
prune: [{ method: omp, sparsity: 0.5 }]
deletion: { kind: random, sizes: [0.01, 7000] }
unlearn: [ft]
`),
    (e: unknown) => {
      const m = (e as SpecError).problems;
      assert.ok(m.includes('train.epochs: expected number, got "three"'), m.join('\n'));
      assert.ok(
        m.includes(
          'deletion.sizes[1]: 7000 examples is not smaller than the 6000-example training set of dataset (mnist)',
        ),
        m.join('\n'),
      );
      return true;
    },
  );
});

test('near misses get "did you mean"; short forms are accepted on every axis', () => {
  const base = `
name: short
dataset: { name: mnist, train: 600 }
model: { arch: mlp }
train: { epochs: 1, batch: 64, lr: 0.05 }
deletion: { kind: random, sizes: 0.1 }
`;
  const s = parseSweep(`${base}seeds: 0\nprune: { method: omp, sparsity: 0.5 }\nunlearn: [ft, ga]\nunprune: reprune\n`);
  assert.deepEqual(s.seeds, [0]);
  assert.equal(s.prune.length, 1);
  assert.deepEqual(
    s.unlearn.map((u) => u.method),
    ['ft', 'ga'],
  );
  assert.deepEqual(
    s.unprune.map((u) => u.variant),
    ['reprune'],
  );
  assert.throws(
    () =>
      parseSweep(
        `${base}seeds: [0]\nprune: [{ method: OMP, sparsity: 0.5 }]\nunlearn: [negrad+]\nunprune: [none, repruning]\n`,
      ),
    (e: unknown) => {
      const m = (e as SpecError).problems.join('\n');
      assert.match(m, /prune\[0\]\.method: "OMP" is not one of .* \(did you mean "omp"\?\)/);
      assert.match(m, /unlearn\[0\]\.method: "negrad\+" is not one of .* \(did you mean "neggrad\+"\?\)/);
      assert.match(
        m,
        /unprune\[1\]\.variant: "repruning" is not one of none, reprune, regrow \(did you mean "reprune"\?\)/,
      );
      return true;
    },
  );
  // Far from every name: no guess.
  assert.throws(
    () => parseSweep(`${base}seeds: [0]\nprune: [{ method: magnitude, sparsity: 0.5 }]\nunlearn: [ft]\n`),
    (e: unknown) => !(e as SpecError).message.includes('did you mean'),
  );
});

test('YAML syntax errors: every one at once, each with its position and its line', () => {
  assert.throws(
    () => parseSweep('name: y\ndataset: { name: mnist\nmodel: [ a, b\nseeds: [0]\n', { source: 'x.yaml' }),
    (e: unknown) => {
      const m = (e as SpecError).problems;
      assert.equal(m.length, 2, m.join('\n'));
      assert.match(m[0]!, /^x\.yaml:3:1: YAML syntax error: .* — line 3: "model: \[ a, b"$/);
      return true;
    },
  );
});
