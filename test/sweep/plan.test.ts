import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { canonicalJson, kindOfKey, planCounts, planSweep, stageKey } from '../../sweep/plan.js';
import { parseSweep } from '../../sweep/spec.js';

const example = (f: string) => parseSweep(readFileSync(new URL(`../../examples/${f}`, import.meta.url), 'utf8'));

test('paper grid: the planned stage count is at most a fifth of the naive count', () => {
  const c = planCounts(planSweep(example('paper-grid.yaml')));
  console.log(
    `# paper grid: ${c.cells} cells, planned ${c.planned}, naive ${c.naive}, ratio ${(c.planned / c.naive).toFixed(3)}`,
  );
  assert.ok(c.planned * 5 <= c.naive, `${c.planned} vs ${c.naive}`);
});

test('quickstart: shared stages appear once (dense training per lineage, pruning per method×sparsity, forget per size×seed, gold per deletion×pruning)', () => {
  const plan = planSweep(example('quickstart.yaml'));
  const c = planCounts(plan);
  const seeds = 2,
    prunes = 4,
    sizes = 3,
    algos = 2,
    variants = 2;
  assert.equal(c.cells, seeds * prunes * sizes * algos * variants);
  // D, D_r per deletion, and D_r in another batch order per deletion (the noise floor's gold pipeline)
  assert.equal(c.byKind.train, seeds * (1 + 2 * sizes));
  assert.equal(c.byKind.prune, seeds * prunes);
  assert.equal(c.byKind.forget, seeds * sizes);
  // The gold per deletion × pruning, and the floor's rerun for the data-dependent masks (not SynFlow's)
  assert.equal(c.byKind.gold, seeds * sizes * prunes + seeds * sizes * 3);
  assert.equal(c.byKind.estimate, seeds * sizes); // one θ̂_r per (lineage, deletion), shared by every pruning
  // Un-pruning runs first (the default): one unprune per (pruning, deletion), shared by every algorithm. SynFlow's
  // mask is data-free, so un-pruning it is the identity: no unprune stage, and its cells share unlearn and evaluate.
  assert.equal(c.byKind.unprune, seeds * 3 * sizes);
  assert.equal(c.byKind.unlearn, seeds * 3 * sizes * algos * variants + seeds * 1 * sizes * algos);
  assert.equal(c.byKind.evaluate, c.byKind.unlearn + 2 * seeds * sizes * prunes); // + gold and pre-unlearning
  const keys = plan.stages.map((s) => s.key);
  assert.equal(new Set(keys).size, keys.length);
  // Dependency order: every input appears before its stage.
  const seen = new Set<string>();
  for (const s of plan.stages) {
    for (const k of Object.values(s.inputs as Record<string, string>))
      if (k !== undefined) assert.ok(seen.has(k), `${s.key} before ${k}`);
    seen.add(s.key);
  }
});

test("a data-free mask's gold reads the original's mask (SynFlow); a data-dependent one computes its own", () => {
  const plan = planSweep(example('quickstart.yaml'));
  const golds = plan.stages.filter((s) => s.kind === 'gold');
  for (const g of golds) {
    const p = g.params as { prune: { method: string; sparsity: number }; seed: number; reshuffle?: number };
    const inputs = g.inputs as { mask?: string };
    if (p.prune.method !== 'synflow') {
      assert.equal(inputs.mask, undefined, `${g.key}: ${p.prune.method} computes its mask on D_r`);
      continue;
    }
    const prune = plan.stages.find(
      (s) =>
        s.kind === 'prune' &&
        canonicalJson((s.params as { prune: unknown }).prune) === canonicalJson(p.prune) &&
        (s.params as { seed: number }).seed === p.seed,
    );
    assert.ok(prune, `${g.key}: its seed's SynFlow prune stage`);
    assert.equal(inputs.mask, prune.key, `${g.key}: reads the prune stage's mask`);
  }
  assert.equal(golds.filter((g) => (g.inputs as { mask?: string }).mask).length, 2 * 3, 'one per seed and deletion');
});

test("the floors' gold runs ask for their mask only; the gold runs themselves train to the end", () => {
  const plan = planSweep(example('quickstart.yaml'));
  const golds = plan.stages.filter((s) => s.kind === 'gold');
  const floor = (g: (typeof golds)[number]) => {
    const p = g.params as { reshuffle?: number; reinit?: number };
    return p.reshuffle !== undefined || p.reinit !== undefined;
  };
  assert.ok(golds.some(floor) && golds.some((g) => !floor(g)));
  for (const g of golds) assert.equal((g.params as { maskOnly?: true }).maskOnly, floor(g) ? true : undefined, g.key);
});

test('content keys: same work, same key; any change in params, inputs or kind changes it', () => {
  const a = stageKey('prune', { method: 'omp', sparsity: 0.8 }, { train: 'train-1' });
  assert.equal(a, stageKey('prune', { sparsity: 0.8, method: 'omp' }, { train: 'train-1' }));
  assert.notEqual(a, stageKey('prune', { method: 'omp', sparsity: 0.9 }, { train: 'train-1' }));
  assert.notEqual(a, stageKey('prune', { method: 'omp', sparsity: 0.8 }, { train: 'train-2' }));
  assert.notEqual(a, stageKey('gold', { method: 'omp', sparsity: 0.8 }, { train: 'train-1' }));
  assert.equal(kindOfKey(a), 'prune');
  assert.equal(canonicalJson({ b: 1, a: [2, { d: undefined, c: null }] }), '{"a":[2,{"c":null}],"b":1}');
});

test('two sweeps that share work share keys (a rerun or a bigger sweep reuses the smaller one)', () => {
  const small = planSweep(example('quickstart.yaml'));
  const text = readFileSync(new URL('../../examples/quickstart.yaml', import.meta.url), 'utf8')
    .replace('name: quickstart', 'name: bigger')
    .replace('seeds: [0, 1]', 'seeds: [0, 1, 2]');
  const big = planSweep(parseSweep(text));
  const bigKeys = new Set(big.stages.map((s) => s.key));
  assert.ok(small.stages.every((s) => bigKeys.has(s.key)));
  assert.notEqual(small.id, big.id);
});
