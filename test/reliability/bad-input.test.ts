// Bad input: the bad-spec corpus through the CLI, property-based fuzzing of the spec parser (fast-check), NaN loss
// inside a stage, and corrupt data files. Never a stack trace; always a structured error (exit status 2 for specs).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { readIdxPair } from '../../ml/data/mnist.js';
import { parseSweep, SpecError, validateSweep } from '../../sweep/spec.js';
import { unprune } from '../helpers/cli.js';
import { content, injectingFaults, recordFigures, rowsOf, summary, TINY, tmp } from '../helpers/sweep-runs.js';

const BAD = new URL('../fixtures/bad-specs/', import.meta.url).pathname;
const VALID = parseSweep(readFileSync(new URL('../../examples/quickstart.yaml', import.meta.url), 'utf8'));
const RAW = JSON.parse(JSON.stringify({ ...VALID, evaluate: undefined, limits: undefined })) as Record<string, unknown>;

/** Only SpecError may come out of the parser, and its message names a field or a file position. */
function parsesOrSpecError(run: () => unknown): void {
  try {
    run();
  } catch (err) {
    if (!(err instanceof SpecError)) throw new Error(`not a SpecError: ${(err as Error)?.stack ?? String(err)}`);
    assert.ok(err.problems.length > 0 && err.problems.every((p) => p.length > 0 && p.length < 2000));
  }
}

/** Sets a random path of an object to a value. */
function mutate(obj: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = Array.isArray(obj) ? [...obj] : { ...(obj as Record<string, unknown>) };
  const [k, ...rest] = path;
  (copy as Record<string | number, unknown>)[k!] = mutate(
    (obj as Record<string | number, unknown> | undefined)?.[k!],
    rest,
    value,
  );
  return copy;
}

const nasty = fc.oneof(
  fc.constantFrom(-1, 0, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER, 2 ** 53 + 1, NaN, Infinity, -0),
  fc.double(),
  fc.integer(),
  fc.string(),
  fc.string({ minLength: 200, maxLength: 5000 }),
  fc.constantFrom('omp', 'magnitude', '../../etc/passwd', 'a\u0000b', '\uFFFD\uFFFD', '!!js/function'),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.oneof(fc.double(), fc.string(), fc.integer()), { maxLength: 5 }),
  fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.string()), { maxKeys: 3 }),
);
const paths = fc.constantFrom<(string | number)[]>(
  ['name'],
  ['dataset'],
  ['dataset', 0, 'name'],
  ['dataset', 0, 'train'],
  ['model', 0, 'arch'],
  ['train', 'epochs'],
  ['train', 'lr'],
  ['train', 'batch'],
  ['seeds'],
  ['seeds', 0],
  ['prune'],
  ['prune', 0, 'method'],
  ['prune', 0, 'sparsity'],
  ['prune', 0, 'sparsity', 1],
  ['prune', 1, 'rounds'],
  ['deletion'],
  ['deletion', 0, 'sizes'],
  ['deletion', 0, 'sizes', 0],
  ['deletion', 0, 'kind'],
  ['deletion', 0, 'classes'],
  ['unlearn'],
  ['unlearn', 0, 'method'],
  ['unlearn', 1, 'lr'],
  ['unprune'],
  ['unprune', 1],
  ['evaluate'],
  ['limits', 'maxCells'],
  ['extra_key'],
);

test('fuzzing the spec parser: mutated specs, random YAML and random bytes give a spec or a SpecError, nothing else', () => {
  let tried = 0;
  fc.assert(
    fc.property(paths, nasty, (path, value) => {
      tried++;
      parsesOrSpecError(() => validateSweep(mutate(RAW, path, value)));
      parsesOrSpecError(() => parseSweep(stringify(mutate(RAW, path, value))));
    }),
    { numRuns: 600, seed: 7 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (text) => {
      tried++;
      parsesOrSpecError(() => parseSweep(text));
    }),
    { numRuns: 300, seed: 8 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      tried++;
      parsesOrSpecError(() => parseSweep(new TextDecoder('utf-8', { fatal: false }).decode(bytes)));
    }),
    { numRuns: 300, seed: 9 },
  );
  recordFigures('spec fuzzing (in process)', { badInputs: tried });
});

test('through the CLI: the bad-spec corpus and extreme inputs exit 2 with one structured message, never a stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unprune-bad-'));
  const extra: [string, string | Uint8Array][] = [
    ['non-utf8.yaml', Uint8Array.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xff, 0xfe, 0xc3, 0x28, 0x0a])],
    ['huge-numbers.yaml', stringify(mutate(mutate(RAW, ['train', 'epochs'], 1e308), ['seeds'], [2 ** 60]))],
    ['negative-size.yaml', stringify(mutate(RAW, ['deletion', 0, 'sizes'], [-0.1]))],
    [
      'absurd-grid.yaml',
      stringify(
        mutate(
          RAW,
          ['seeds'],
          Array.from({ length: 5000 }, (_, i) => i),
        ),
      ),
    ],
    ['long-name.yaml', stringify(mutate(RAW, ['name'], 'x'.repeat(100_000)))],
    ['traversal-name.yaml', stringify(mutate(RAW, ['name'], '../../../etc'))],
    ['js-function-tag.yaml', 'name: !!js/function "function () { process.exit(9) }"\n'],
    ['not-a-mapping.yaml', '- just\n- a list\n'],
    ['empty.yaml', ''],
  ];
  for (const [f, body] of extra) writeFileSync(join(dir, f), body);
  const files = [...readdirSync(BAD).map((f) => join(BAD, f)), ...extra.map(([f]) => join(dir, f))].filter((f) =>
    f.endsWith('.yaml'),
  );
  for (const f of files) {
    const r = unprune(['validate', f]);
    assert.equal(r.status, 2, `${f}: ${r.stderr}`);
    assert.match(r.stderr, /^unprune: /, f);
    assert.ok(!/\n\s+at |Error:/.test(r.stderr), `${f}: ${r.stderr}`);
  }
  recordFigures('bad specs through the CLI', { badInputs: files.length });
});

test('a diverging stage (NaN loss) fails with a message; the other stages finish', () => {
  injectingFaults('NaN loss in a stage', 1);
  const store = tmp('nan');
  const spec = join(store, 'nan.yaml');
  writeFileSync(
    spec,
    readFileSync(TINY, 'utf8').replace(
      '{ method: ga, epochs: 1, lr: 0.001 }',
      '{ method: ga, epochs: 1, lr: 1.0e+30 }',
    ),
  );
  const r = unprune(['run', spec, '--store', join(store, 's'), '--workers', '2']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /failed: unlearn \([^)]*\) \S+: .*(non-finite|NaN)/i);
  assert.ok(!/retry/.test(r.stderr), 'a NaN is not retried');
  const s = summary(r.stderr);
  const rows = rowsOf(join(store, 's'));
  assert.ok(s.failed > 0 && rows.length > 0 && rows.length < 48, `${s.failed} failed, ${rows.length} rows`);
  const clean = tmp('nan-clean');
  assert.equal(unprune(['run', TINY, '--store', clean, '--workers', '2']).status, 0);
  const ft = (rs: ReturnType<typeof rowsOf>) =>
    content(rs.filter((x) => x.unlearn === 'ft')).map((x) => ({ ...x, config: undefined, evaluate_key: undefined }));
  assert.deepEqual(ft(rows), ft(rowsOf(clean)), 'the healthy cells are untouched');
  recordFigures('NaN loss in a stage', { faultsSurvived: 1, rowsLost: 0 });
});

test('corrupt data files (truncated IDX, wrong magic number) fail with a clear message naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unprune-idx-'));
  const header = (magic: number, n: number) => {
    const b = Buffer.alloc(16);
    b.writeUInt32BE(magic, 0);
    b.writeUInt32BE(n, 4);
    b.writeUInt32BE(28, 8);
    b.writeUInt32BE(28, 12);
    return b;
  };
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), Buffer.concat([header(0x803, 10), Buffer.alloc(100)]));
  writeFileSync(
    join(dir, 'train-labels-idx1-ubyte'),
    Buffer.concat([Buffer.from([0, 0, 8, 1, 0, 0, 0, 10]), Buffer.alloc(10)]),
  );
  assert.throws(
    () => readIdxPair(dir, 'train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 'test files'),
    /train-images-idx3-ubyte: truncated/,
  );
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), Buffer.concat([header(0xff000803, 10), Buffer.alloc(7840)]));
  assert.throws(
    () => readIdxPair(dir, 'train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 'test files'),
    /train-images-idx3-ubyte: wrong magic number/,
  );
  recordFigures('corrupt data files', { badInputs: 2 });
});
