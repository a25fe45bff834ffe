import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forgetSet } from '../../ml/data/forget-set.js';

const labels = Int32Array.from({ length: 1000 }, (_, i) => i % 10);

test('random forget sets are nested across sizes for one seed (1% ⊂ 5% ⊂ 10%)', () => {
  const sets = [0.01, 0.05, 0.1].map((size) => forgetSet(labels, 10, { kind: 'random', size, seed: 3 }));
  assert.deepEqual(
    sets.map((s) => s.length),
    [10, 50, 100],
  );
  for (let i = 0; i + 1 < sets.length; i++) {
    const bigger = new Set(sets[i + 1]);
    assert.ok(
      Array.from(sets[i]!).every((x) => bigger.has(x)),
      `${i} ⊂ ${i + 1}`,
    );
  }
  assert.deepEqual(
    forgetSet(labels, 10, { kind: 'random', size: 50, seed: 3 }),
    sets[1],
    'a count equals the fraction',
  );
  assert.notDeepEqual(forgetSet(labels, 10, { kind: 'random', size: 50, seed: 4 }), sets[1]);
  assert.ok(
    sets[2]!.every((x, i) => i === 0 || x > sets[2]![i - 1]!),
    'sorted',
  );
});

test('class-wise deletion: a whole class, or a nested part of it', () => {
  const all = forgetSet(labels, 10, { kind: 'class', classes: [3], seed: 0 });
  assert.equal(all.length, 100);
  assert.ok(all.every((i) => labels[i] === 3));
  const half = forgetSet(labels, 10, { kind: 'class', classes: [3], size: 0.5, seed: 0 });
  const quarter = forgetSet(labels, 10, { kind: 'class', classes: [3], size: 25, seed: 0 });
  assert.equal(half.length, 50);
  assert.ok(Array.from(quarter).every((x) => half.includes(x)));
  assert.equal(forgetSet(labels, 10, { kind: 'class', classes: [1, 2], seed: 0 }).length, 200);
});

test('sizes out of range and unknown classes fail with a clear message', () => {
  const bad: [object, RegExp][] = [
    [{ kind: 'random', size: 0, seed: 0 }, /random deletion size 0 must be > 0/],
    [{ kind: 'random', size: -0.1, seed: 0 }, /must be > 0/],
    [{ kind: 'random', size: 1000, seed: 0 }, /random deletion size 1000 is too large: must be below 1000 examples/],
    [{ kind: 'random', size: 0.0001, seed: 0 }, /selects nothing/],
    [{ kind: 'random', size: 12.5, seed: 0 }, /must be an integer count or a fraction < 1/],
    [{ kind: 'class', classes: [10], seed: 0 }, /unknown class 10: classes are 0..9/],
    [{ kind: 'class', classes: [], seed: 0 }, /at least one class/],
    [{ kind: 'class', classes: [2], size: 101, seed: 0 }, /class 2 deletion size 101 is too large: at most 100/],
    [{ kind: 'class', classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], seed: 0 }, /would remove all 1000 training examples/],
  ];
  for (const [req, msg] of bad) assert.throws(() => forgetSet(labels, 10, req as never), msg);
});
