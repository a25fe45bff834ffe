// Intervals and tests over seeds, from Student's t distribution (jstat). Seeds are the replicates: a figure with n
// seeds has n − 1 degrees of freedom, and with one seed no interval or test exists (null, never a made-up number).
import { createRequire } from 'node:module';
import type jstatModule from 'jstat';

let loaded: (typeof jstatModule)['jStat'] | undefined;
/** jstat, loaded at the first interval: every CLI start imports this module, few of them compute one (~25 ms). */
const jStat = () => (loaded ??= (createRequire(import.meta.url)('jstat') as typeof jstatModule).jStat);

export interface MeanInterval {
  mean: number;
  /** The two-sided 95% confidence interval of the mean (null for fewer than two values). */
  low: number | null;
  high: number | null;
  n: number;
}

/** The sample standard deviation (n − 1 in the denominator; 0 for one value). */
export function sampleStd(values: number[], mean: number): number {
  return values.length > 1 ? Math.sqrt(values.reduce((s, x) => s + (x - mean) ** 2, 0) / (values.length - 1)) : 0;
}

const quantiles = new Map<string, number>();
/** Student's t quantile, remembered: a results table asks for the same few (level, seeds) pairs hundreds of times. */
function tQuantile(p: number, df: number): number {
  const key = `${p}:${df}`;
  let q = quantiles.get(key);
  if (q === undefined) quantiles.set(key, (q = jStat().studentt.inv(p, df)));
  return q;
}

export function meanInterval(values: number[], level = 0.95): MeanInterval {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, low: null, high: null, n };
  const sd = sampleStd(values, mean);
  const half = tQuantile(1 - (1 - level) / 2, n - 1) * (sd / Math.sqrt(n));
  return { mean, low: mean - half, high: mean + half, n };
}

export interface PairedTest extends MeanInterval {
  /** One-sided p-value of "a is larger than b" (paired t-test over the pairs); null below two pairs. */
  p: number | null;
  t: number | null;
}

/** The paired differences a − b: their mean with its 95% interval, and the one-sided test that a > b. */
export function pairedTest(a: number[], b: number[]): PairedTest {
  const d = a.map((x, i) => x - b[i]!);
  const ci = meanInterval(d);
  if (d.length < 2) return { ...ci, p: null, t: null };
  const sd = sampleStd(d, ci.mean);
  // No spread: identical pairs have nothing to test (null); a constant non-zero shift is certain in its direction.
  if (sd === 0) return { ...ci, t: null, p: ci.mean === 0 ? null : ci.mean > 0 ? 0 : 1 };
  const t = ci.mean / (sd / Math.sqrt(d.length));
  return { ...ci, t, p: 1 - jStat().studentt.cdf(t, d.length - 1) };
}
