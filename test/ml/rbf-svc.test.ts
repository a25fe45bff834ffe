// The attack's RBF C-SVC on the native addon (ml/metrics/rbf-svc.ts, ml/kernels/native/rbf_svc.c) against
// scikit-learn's SVC on problems of the attack's kind: test/fixtures/rbf-svc-reference.json, made by
// test/fixtures/rbf-svc-reference.py with Debian's scikit-learn. Taking scikit-learn's solver path means the same
// iteration count and bias, decision values equal to rounding, and the same predictions; the MIA through svcMia then
// agrees with libsvm-js. The addon is built first, as `npm install` does; where it cannot be, the tests say why.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

execFileSync(process.execPath, ['ml/kernels/native/build.mjs'], { stdio: 'inherit' });
const { rbfSvcDecisions, rbfSvcPredict, rbfSvcUnsupported, trainRbfSvc, RBF_SVC_MAX_POINTS } =
  await import('../../ml/metrics/rbf-svc.js');
const { svcPredict } = await import('../../ml/metrics/mia.js');

const unsupported = rbfSvcUnsupported(2, [0, 1]);
const canInstall = process.platform === 'linux' && process.getuid?.() === 0;
if (canInstall) assert.equal(unsupported, undefined, 'the native addon should build here');
const skip = unsupported ? `native SVC unavailable: ${unsupported}` : false;

interface Case {
  name: string;
  dims: number;
  cost: number;
  x: string;
  y: number[];
  queries: string;
  rho: number;
  iterations: number;
  support: [number, number];
  decisions: number[];
  predictions: number[];
}
const reference = JSON.parse(readFileSync('test/fixtures/rbf-svc-reference.json', 'utf8')) as { cases: Case[] };
const rows = (b64: string) => Float64Array.from(new Float32Array(new Uint8Array(Buffer.from(b64, 'base64')).buffer));

for (const c of reference.cases) {
  test(`RBF SVC as scikit-learn fits it: ${c.name}`, { skip }, () => {
    const x = rows(c.x);
    const q = rows(c.queries);
    const model = trainRbfSvc(x, c.dims, c.y, { cost: c.cost, gamma: 1 / c.dims });
    assert.equal(model.iterations, c.iterations, 'libsvm iterations');
    assert.ok(Math.abs(model.rho - c.rho) <= 1e-12 * Math.max(1, Math.abs(c.rho)), `rho ${model.rho} vs ${c.rho}`);
    // Support vectors per class: label 0's rows have coefficient +α (the first class), label 1's −α.
    const positive = Array.from(model.coefficients).filter((v) => v > 0).length;
    assert.deepEqual([positive, model.coefficients.length - positive], c.support, 'support vectors per class');
    const decisions = rbfSvcDecisions(model, q);
    decisions.forEach((d, i) =>
      assert.ok(Math.abs(d - c.decisions[i]!) <= 1e-9, `decision ${i}: ${d} vs ${c.decisions[i]}`),
    );
    assert.deepEqual(rbfSvcPredict(model, q), c.predictions);
  });
}

test(
  'svcPredict takes the native path and decides as scikit-learn; libsvm-js keeps what it cannot take',
  { skip },
  async () => {
    const c = reference.cases[0]!;
    const x = Array.from(rows(c.x), (v) => [v]);
    const q = Array.from(rows(c.queries), (v) => [v]);
    assert.deepEqual(await svcPredict(x, c.y, q), c.predictions);
    assert.match(rbfSvcUnsupported(3, [0, 1, 2]) ?? '', /3 classes/);
    assert.match(rbfSvcUnsupported(RBF_SVC_MAX_POINTS + 1, [0, 1]) ?? '', /training points/);
    // Three classes go to libsvm-js, which still answers.
    const three = await svcPredict([[0], [0.1], [0.5], [0.6], [1], [1.1]], [0, 0, 1, 1, 2, 2], [[0.05], [1.05]]);
    assert.deepEqual(three, [0, 2]);
  },
);

test(
  'predictions sum with a faster exp only where the sign is certain; near 0 the sum is libsvm’s own',
  { skip },
  () => {
    const c = reference.cases.find((k) => k.dims === 1)!;
    const model = trainRbfSvc(rows(c.x), 1, c.y, { cost: c.cost, gamma: 1 });
    const q = rows(c.queries);
    const exact = rbfSvcDecisions(model, q);
    const fast = rbfSvcDecisions(model, q, true);
    fast.forEach((d, i) => assert.equal(d > 0, exact[i]! > 0, `query ${i}: ${d} vs ${exact[i]}`));
    // A query where the decision changes sign, bisected to adjacent doubles: there the fast path must hand each
    // value to the exact sum (the same value to the last bit; the faster exp alone differs from it in ~5% of rows).
    const sorted = Array.from(q).sort((a, b) => a - b);
    const decide = (v: number) => rbfSvcDecisions(model, Float64Array.of(v))[0]!;
    let lo = sorted[0]!;
    const crossing = sorted.find((v) => decide(v) > 0 !== decide(lo) > 0);
    assert.ok(crossing !== undefined, 'the reference queries cross the decision boundary');
    let hi: number = crossing;
    for (let k = 0; k < 200; k++) {
      const mid: number = (lo + hi) / 2;
      if (mid === lo || mid === hi) break;
      if (decide(mid) > 0 === decide(lo) > 0) lo = mid;
      else hi = mid;
    }
    // The hundred doubles around the crossing: all within rounding of 0, each summed exactly.
    const edge = new Float64Array(
      new BigUint64Array(100).map((_, k) => new BigUint64Array(Float64Array.of(lo).buffer)[0]! + BigInt(k - 50)).buffer,
    );
    const near = rbfSvcDecisions(model, edge);
    assert.ok(
      near.every((d) => Math.abs(d) < 1e-10),
      `bisected to ${near[0]} … ${near[99]}`,
    );
    assert.deepEqual(Array.from(rbfSvcDecisions(model, edge, true)), Array.from(near));
  },
);
