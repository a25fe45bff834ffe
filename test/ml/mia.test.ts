import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { miaEfficacy, miaFeatures, svcPredict, type Outputs } from '../../ml/metrics/mia.js';

/** Same formulas as test/fixtures/svc-reference.py. */
function points(n: number, offset: number): { x: number[][]; y: number[] } {
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = (i / n) * 4 * Math.PI;
    const r = 0.5 + i / n;
    const label = i % 2;
    const sign = label ? 1 : -1;
    x.push([
      r * Math.cos(t + offset) * sign + 0.1 * Math.sin(7 * i),
      r * Math.sin(t + offset) * sign + 0.1 * Math.cos(5 * i),
    ]);
    y.push(label);
  }
  return { x, y };
}

for (const solver of ['auto', 'libsvm-js'] as const) {
  test(`the RBF SVC (${solver}) decides a fixed data set exactly as scikit-learn's SVC(C=3, gamma='auto')`, async () => {
    // Expected decisions were produced by scikit-learn 1.2 (Debian python3-sklearn) with svc-reference.py.
    const expected = JSON.parse(readFileSync('test/fixtures/svc-reference.json', 'utf8')) as { predictions: number[] };
    const train = points(80, 0);
    const queries = points(40, 0.37);
    const got = await svcPredict(train.x, train.y, queries.x, { solver });
    assert.deepEqual(got, expected.predictions);
  });
}

test('MIA features on hand-computed probability vectors', () => {
  const out: Outputs = {
    probs: Float32Array.from([0.7, 0.2, 0.1, 0.25, 0.5, 0.25]),
    labels: Int32Array.from([0, 2]),
    classes: 3,
  };
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);
  assert.deepEqual(miaFeatures(out, 'correctness'), [[1], [0]]);
  close(miaFeatures(out, 'confidence')[1]![0]!, 0.25);
  const h0 = -(0.7 * Math.log(0.7) + 0.2 * Math.log(0.2) + 0.1 * Math.log(0.1));
  close(miaFeatures(out, 'entropy')[0]![0]!, h0);
  // ME = −(1−p_y) log p_y − Σ_{k≠y} p_k log(1−p_k)
  const me0 = -(0.3 * Math.log(0.7)) - 0.2 * Math.log(0.8) - 0.1 * Math.log(0.9);
  const me1 = -(0.75 * Math.log(0.25)) - 0.25 * Math.log(0.75) - 0.5 * Math.log(0.5);
  close(miaFeatures(out, 'm_entropy')[0]![0]!, me0);
  close(miaFeatures(out, 'm_entropy')[1]![0]!, me1);
  assert.equal(miaFeatures(out, 'prob')[1]!.length, 3);
});

test('MIA-efficacy: confident members vs unsure non-members; D_f that looks like test data is judged forgotten', async () => {
  const make = (n: number, conf: number, seed: number): Outputs => {
    const probs = new Float32Array(n * 2);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = Math.min(0.999, Math.max(0.5, conf + 0.05 * Math.sin(i * 12.9898 + seed)));
      probs[i * 2] = c;
      probs[i * 2 + 1] = 1 - c;
    }
    return { probs, labels, classes: 2 };
  };
  const retain = make(60, 0.97, 1);
  const test = make(60, 0.6, 2);
  const forgottenLikeTest = await miaEfficacy(retain, test, make(30, 0.6, 3));
  const rememberedLikeRetain = await miaEfficacy(retain, test, make(30, 0.97, 4));
  assert.ok(forgottenLikeTest.confidence > 0.9, `forgotten: ${forgottenLikeTest.confidence}`);
  assert.ok(rememberedLikeRetain.confidence < 0.1, `remembered: ${rememberedLikeRetain.confidence}`);
});
