// The self-contained HTML report: the results table, plots (IoU to gold vs deletion size per pruning method with and
// without un-pruning; MIA-efficacy vs deletion size; UA/RA/TA per algorithm) and a metric-stability section that
// shows, per metric, its curve over deletion size and its roughness.
import { aggregate, formatStat, meanStd } from '../results/aggregate.js';
import { metricStability } from '../results/metric-stability.js';
import { meanInterval } from '../results/statistics.js';
import { TABLE_AXES, TABLE_METRICS } from '../results/result-formats.js';
import { STABILITY_METRICS } from '../results/result-metrics.js';
import type { ResultRow } from '../results/result-rows.js';
import { recoveryFrontier, type FrontierPoint } from '../results/frontier.js';
import { barChart, frontierChart, lineChart, renderSvg, type Datum } from './charts.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Seed (and optionally other-axis) means of `metric` over rows grouped by `by`. */
function means(rows: ResultRow[], by: (r: ResultRow) => Datum, metric: string): Datum[] {
  const groups = new Map<string, { key: Datum; values: number[] }>();
  for (const r of rows) {
    const v = r[metric as keyof ResultRow];
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    const key = by(r);
    const id = JSON.stringify(key);
    const g = groups.get(id) ?? { key, values: [] };
    groups.set(id, g);
    g.values.push(v);
  }
  return [...groups.values()].map((g) => ({ ...g.key, [metric]: meanStd(g.values).mean }));
}

const pruneLabel = (r: ResultRow) => `${r.prune} ${r.sparsity}`;

export async function htmlReport(rows: ResultRow[], sweepId: string): Promise<string> {
  const random = rows.filter((r) => r.deletion === 'random');
  const sections: string[] = [];
  const agg = aggregate(rows);
  const fmt = (v: number | null, d = 3) => (v === null ? '–' : v.toFixed(d));

  if (random.length) {
    const iou = means(
      random,
      (r) => ({ prune: pruneLabel(r), deletion_size: r.deletion_size, unprune: r.unprune }),
      'iou_gold',
    );
    sections.push(
      `<h2>Mask distance to the gold standard</h2><p>IoU(final mask, m<sub>r</sub>) against deletion size, per pruning method, with and without un-pruning (mean over seeds and algorithms; random deletions).</p>` +
        (await renderSvg(
          lineChart({
            data: iou,
            x: 'deletion_size',
            xTitle: 'deletion size',
            y: 'iou_gold',
            yTitle: 'IoU to gold mask',
            color: 'unprune',
            facet: 'prune',
            title: 'IoU(m_final, m_r)',
          }),
        )),
    );
    const mia = means(
      random,
      (r) => ({ unlearn: r.unlearn, deletion_size: r.deletion_size, prune: pruneLabel(r), unprune: r.unprune }),
      'mia_efficacy',
    );
    sections.push(
      `<h2>MIA-efficacy</h2><p>MIA-efficacy (%) against deletion size, per unlearning algorithm (mean over seeds).</p>` +
        (await renderSvg(
          lineChart({
            data: mia,
            x: 'deletion_size',
            xTitle: 'deletion size',
            y: 'mia_efficacy',
            yTitle: 'MIA-efficacy %',
            color: 'prune',
            strokeDash: 'unprune',
            facet: 'unlearn',
            title: 'MIA-efficacy vs deletion size',
          }),
        )),
    );
  }
  const frontier = recoveryFrontier(rows);
  if (frontier.some((p) => p.cost > 0)) {
    const panel = (p: FrontierPoint) =>
      `${p.group.prune} ${p.group.sparsity} · ${p.group.deletion} ${p.group.deletion_size}`;
    const points = frontier.map((p) => ({
      panel: panel(p),
      unprune: p.unprune,
      cost: p.cost,
      recovery: p.recovery.mean,
      low: p.recovery.low,
      high: p.recovery.high,
    }));
    const baseline = [...new Set(frontier.map(panel))].flatMap((name) => [
      { panel: name, cost: 0, recovery: 0 },
      ...frontier
        .filter((p) => panel(p) === name && p.baseline && p.unprune !== 'none')
        .map((p) => ({ panel: name, cost: p.cost, recovery: p.recovery.mean })),
      { panel: name, cost: 1, recovery: 1 },
    ]);
    sections.push(
      `<h2>Recovery against cost</h2><p>Each un-pruning variant's recovery (mean over algorithms and seeds, 95% interval over seeds) against its cost ratio (examples processed, un-pruning over the gold pipeline, the estimate included). Dashed: the baseline any useful un-pruning must beat, the gold run stopped early (none at 0, the full gold pipeline at 1).</p>` +
        (await renderSvg(frontierChart({ points, baseline, facet: 'panel', title: 'Recovery–cost frontier' }))),
    );
  }
  const acc: Datum[] = [];
  for (const [metric, label] of [
    ['ua', 'UA'],
    ['ra', 'RA'],
    ['ta', 'TA'],
  ] as const) {
    for (const d of means(rows, (r) => ({ unlearn: r.unlearn, unprune: r.unprune }), metric))
      acc.push({ unlearn: d.unlearn!, unprune: d.unprune!, metric: label, value: d[metric]! });
  }
  sections.push(
    `<h2>UA / RA / TA per algorithm</h2><p>Mean over seeds, pruning methods and deletions.</p>` +
      (await renderSvg(
        barChart({
          data: acc,
          category: 'unlearn',
          series: 'unprune',
          y: 'value',
          yTitle: '%',
          facet: 'metric',
          title: 'Accuracy metrics',
        }),
      )),
  );

  const stability = metricStability(rows, STABILITY_METRICS);
  if (stability.some((s) => s.roughness !== null)) {
    const curves: Datum[] = [];
    for (const m of STABILITY_METRICS)
      for (const d of means(random, (r) => ({ deletion_size: r.deletion_size, unlearn: r.unlearn }), m))
        curves.push({ metric: m, deletion_size: d.deletion_size!, unlearn: d.unlearn!, value: d[m]! });
    const spec = lineChart({
      data: curves,
      x: 'deletion_size',
      xTitle: 'deletion size',
      y: 'value',
      yTitle: 'value',
      color: 'unlearn',
      facet: 'metric',
      title: 'Metrics over deletion size',
    });
    (spec as { resolve?: unknown }).resolve = { scale: { y: 'independent' } };
    sections.push(
      `<h2 id="metric-stability">Metric stability</h2>
<p>Roughness = mean |change between neighbouring deletion sizes| ÷ the curve's range, averaged over every curve
(one per data set, architecture, pruning, sparsity, algorithm and un-pruning variant; seeds averaged). A curve that
moves one way scores 1/(k−1) for k sizes; a metric that jumps back and forth scores higher, up to 1.</p>
<table><thead><tr><th>metric</th><th>roughness</th><th>95% CI (over curves)</th><th>monotone baseline</th><th>curves</th></tr></thead><tbody>
${stability.map((s) => `<tr><td>${esc(s.metric)}</td><td>${fmt(s.roughness)}</td><td>${s.low === null ? '–' : `${fmt(s.low)} – ${fmt(s.high)}`}</td><td>${fmt(s.monotoneBaseline)}</td><td>${s.series}</td></tr>`).join('\n')}
</tbody></table>` + (await renderSvg(spec)),
    );
  }

  const ratios = [...new Set(rows.flatMap((r) => Object.keys(r).filter((k) => k.startsWith('mia_ratio_'))))].sort(
    (a, b) => Number(a.slice(10)) - Number(b.slice(10)),
  );
  if (ratios.length) {
    const line = (label: string, values: number[]) => {
      const ci = meanInterval(values);
      return `<tr><td>${esc(label)}</td><td>${fmt(ci.mean, 1)}</td><td>${ci.low === null ? '–' : `${fmt(ci.low, 1)} – ${fmt(ci.high, 1)}`}</td><td>${values.length}</td></tr>`;
    };
    const values = (k: string) =>
      rows.map((r) => r[k as keyof ResultRow]).filter((v): v is number => typeof v === 'number');
    sections.push(
      `<h2>MIA-efficacy against the shadow member/non-member ratio</h2><p>The attack's shadow members are ratio × its non-members (the reference uses 1:1); the same cells, models and targets at every ratio. A metric that moves with this choice measures the attack's set-up as much as the model (mean over cells, 95% interval over cells).</p>
<table><thead><tr><th>members : non-members</th><th>MIA-efficacy %</th><th>95% CI</th><th>cells</th></tr></thead><tbody>
${[line('1 (mia_efficacy)', values('mia_efficacy')), ...ratios.map((k) => line(k.slice(10), values(k)))].join('\n')}
</tbody></table>`,
    );
  }

  const head = [...TABLE_AXES.map(([, h]) => h), 'seeds', ...TABLE_METRICS.map((m) => m.label)];
  const table = `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${agg
  .map(
    (a) =>
      `<tr>${[...TABLE_AXES.map(([axis]) => a.axes[axis]), a.seeds.length]
        .map((v) => `<td>${esc(String(v))}</td>`)
        .join('')}${TABLE_METRICS.map((m) => `<td>${formatStat(a.stats[m.name], m.digits)}</td>`).join('')}</tr>`,
  )
  .join('\n')}
</tbody></table>`;

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>unprune — ${esc(sweepId)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:12px;margin:1em 0}th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f4f4f4}td:nth-child(-n+8){text-align:left}svg{max-width:100%;height:auto;display:block;margin:1em 0}
</style></head><body>
<h1>unprune results: ${esc(sweepId)}</h1>
<p>${rows.length} cells. UA = 100 − acc(D<sub>f</sub>), RA = acc(D<sub>r</sub>), TA = acc(test), MIA = MIA-efficacy (%),
IoU(m<sub>f</sub>, m<sub>r</sub>) = final mask vs the gold mask, IoU(m, m<sub>r</sub>) = original mask vs gold,
recovery = share of the original gap closed, RTE = unlearning seconds.</p>
${sections.join('\n')}
<h2>Results table</h2><p>Mean ± std over seeds.</p>
${table}
</body></html>
`;
}
