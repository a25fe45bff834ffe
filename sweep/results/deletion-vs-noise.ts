// The paper's first claim, measured: is the pruning mask's dependence on D_f larger than training noise? Per
// (data set, architecture, pruning, deletion) and seed, the deletion effect 1 − IoU(m, m_r) against the noise
// floor 1 − IoU(m_r, m_r′) (the gold pipeline rerun in another batch order): their paired difference over seeds,
// its 95% interval and the one-sided paired t-test that the deletion moves the mask more than reshuffling does.
import { maskGroupOf, type MaskGroup, type ResultRow } from './result-rows.js';
import { pairedTest, type PairedTest } from './statistics.js';

export interface DeletionVsNoise {
  group: MaskGroup;
  seeds: number;
  deletionEffect: number;
  noiseEffect: number;
  /** deletion − noise, paired by seed. */
  difference: PairedTest;
}

export function deletionVsNoise(rows: ResultRow[]): DeletionVsNoise[] {
  const groups = new Map<string, { group: DeletionVsNoise['group']; bySeed: Map<number, [number, number]> }>();
  for (const r of rows) {
    const deletion = r.deletion_effect;
    const noise = r.noise_effect;
    if (typeof deletion !== 'number' || typeof noise !== 'number') continue;
    const group = maskGroupOf(r);
    const id = JSON.stringify(group);
    const g = groups.get(id) ?? { group, bySeed: new Map() };
    groups.set(id, g);
    // Every cell of a seed shares the same two masks' comparisons: one pair per seed.
    g.bySeed.set(r.seed, [deletion, noise]);
  }
  return [...groups.values()].map(({ group, bySeed }) => {
    const pairs = [...bySeed.values()];
    const mean = (i: 0 | 1) => pairs.reduce((s, p) => s + p[i], 0) / pairs.length;
    return {
      group,
      seeds: pairs.length,
      deletionEffect: mean(0),
      noiseEffect: mean(1),
      difference: pairedTest(
        pairs.map((p) => p[0]),
        pairs.map((p) => p[1]),
      ),
    };
  });
}
