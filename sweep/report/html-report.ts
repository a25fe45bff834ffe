// The self-contained HTML report (no scripts; figures are SVG rendered here): a header saying what made it, the
// results table (the result view: reference rows, 95% intervals, readable headers), then the figures — IoU to the gold
// mask and MIA-efficacy against deletion size, the recovery–cost frontier, UA/RA/TA/MIA per algorithm, and each
// metric's curve for the stability section — each with one colour and shape per un-pruning variant, 95% intervals
// over seeds and the reference level drawn. `reportFigures` gives the same figures one by one (`--figures DIR`).
import { metricStability } from '../results/metric-stability.js';
import { finiteOrNull as num, STABILITY_METRICS, RESULT_METRICS } from '../results/result-metrics.js';
import type { ResultRow } from '../results/result-rows.js';
import { recoveryFrontier, type FrontierPoint } from '../results/frontier.js';
import { meanInterval } from '../results/statistics.js';
import { resultView, seedStat, viewCaption, viewCells, viewNotes, type ViewOptions } from '../results/result-view.js';
import { frontierChart, renderSvg, seriesChart, type SeriesPoint } from './charts.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** What made a report: its header. */
export interface ReportMeta {
  sweepId: string;
  name?: string;
  description?: string;
  version: string;
  /** ISO time the report was made. */
  date: string;
  /** The compute backends the stored evaluations ran on. */
  backends: string[];
  command: string;
}

export interface Figure {
  /** File name stem (`--figures DIR` writes <name>.svg and <name>.png). */
  name: string;
  heading: string;
  caption: string;
  svg: string;
}

/** First-appearance order of an axis's values (the spec's order). */
const valuesOf = (rows: ResultRow[], key: (r: ResultRow) => string) => [...new Set(rows.map(key))];

/** Means over seeds (each seed's rows averaged first) with 95% intervals, per panel, x and series. */
function seriesPoints(
  rows: ResultRow[],
  key: (r: ResultRow) => { panel: string; x: string | number; series: string },
  value: (r: ResultRow) => number | null,
): SeriesPoint[] {
  const groups = new Map<string, { key: ReturnType<typeof key>; rows: ResultRow[] }>();
  for (const r of rows) {
    const k = key(r);
    const id = JSON.stringify(k);
    const g = groups.get(id) ?? { key: k, rows: [] };
    groups.set(id, g);
    g.rows.push(r);
  }
  return [...groups.values()].flatMap((g) => {
    const st = seedStat(g.rows, value);
    return st.mean === null ? [] : [{ ...g.key, mean: st.mean, low: st.low, high: st.high }];
  });
}

/** One reference level per panel: the mean over the panel's rows of a per-row value (e.g. the gold model's). */
function referenceLevels(rows: ResultRow[], panel: (r: ResultRow) => string, value: (r: ResultRow) => number | null) {
  return seriesPoints(rows, (r) => ({ panel: panel(r), x: 0, series: '' }), value).map((p) => ({
    panel: p.panel,
    value: p.mean,
  }));
}

const pruneLabel = (r: ResultRow) => `${r.prune} ${r.sparsity}`;

/** One metric's points and (optionally) its reference level, drawn in the panels `panel` names. */
interface ChartPart {
  rows: ResultRow[];
  panel: (r: ResultRow) => string;
  x: (r: ResultRow) => string | number;
  value: (r: ResultRow) => number | null;
  reference?: (r: ResultRow) => number | null;
}

/**
 * A figure whose series are the un-pruning variants (one colour and shape each, the same in every figure): each part's
 * means and intervals over seeds, and its reference level per panel.
 */
function variantChart(
  parts: ChartPart[],
  variants: string[],
  axes: { xTitle: string; yTitle: string; title: string; independentY?: boolean },
) {
  return renderSvg(
    seriesChart({
      points: parts.flatMap((p) =>
        seriesPoints(p.rows, (r) => ({ panel: p.panel(r), x: p.x(r), series: r.unprune }), p.value),
      ),
      reference: parts.flatMap((p) => (p.reference ? referenceLevels(p.rows, p.panel, p.reference) : [])),
      seriesTitle: 'un-pruning',
      seriesDomain: variants,
      ...axes,
    }),
  );
}

/** Every figure of the report; `stability` (the metrics' roughness) decides whether their curves are drawn. */
export async function reportFigures(
  rows: ResultRow[],
  stability = metricStability(rows, STABILITY_METRICS),
): Promise<Figure[]> {
  const figures: Figure[] = [];
  const random = rows.filter((r) => r.deletion === 'random');
  const variants = valuesOf(rows, (r) => r.unprune);
  const floor = (r: ResultRow) => r.iou_floor;
  if (random.length) {
    figures.push({
      name: 'iou-vs-deletion',
      heading: 'Mask distance to the gold standard',
      caption:
        'IoU(final mask, m<sub>r</sub>) against deletion size, per pruning method, one colour per un-pruning variant (mean over seeds of each seed’s mean over algorithms; band: 95% interval over seeds; random deletions). Dashed: the noise floor IoU(m<sub>r</sub>, m<sub>r</sub>′), where measured.',
      svg: await variantChart(
        [{ rows: random, panel: pruneLabel, x: (r) => r.deletion_size, value: (r) => r.iou_gold, reference: floor }],
        variants,
        { xTitle: 'deletion size', yTitle: 'IoU(m_final, m_r)', title: 'IoU to the gold mask' },
      ),
    });
    const panel = (r: ResultRow) => `${r.unlearn} · ${pruneLabel(r)}`;
    figures.push({
      name: 'mia-vs-deletion',
      heading: 'MIA-efficacy',
      caption:
        'MIA-efficacy (%) against deletion size, per unlearning algorithm and pruning (mean and 95% interval over seeds). Dashed: the gold model’s.',
      svg: await variantChart(
        [
          {
            rows: random,
            panel,
            x: (r) => r.deletion_size,
            value: (r) => r.mia_efficacy,
            reference: (r) => r.gold_mia,
          },
        ],
        variants,
        { xTitle: 'deletion size', yTitle: 'MIA-efficacy %', title: 'MIA-efficacy against deletion size' },
      ),
    });
  }
  const classWise = rows.filter((r) => r.deletion !== 'random');
  if (classWise.length)
    figures.push({
      name: 'iou-class-deletion',
      heading: 'Mask distance to the gold standard, whole classes forgotten',
      caption:
        'IoU(final mask, m<sub>r</sub>) per forgotten class and pruning method, one colour per un-pruning variant (mean and 95% interval over seeds). Dashed: the noise floor IoU(m<sub>r</sub>, m<sub>r</sub>′), where measured.',
      svg: await variantChart(
        [{ rows: classWise, panel: pruneLabel, x: (r) => r.deletion, value: (r) => r.iou_gold, reference: floor }],
        variants,
        { xTitle: 'forgotten', yTitle: 'IoU(m_final, m_r)', title: 'IoU to the gold mask (class-wise deletion)' },
      ),
    });
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
    figures.push({
      name: 'recovery-vs-cost',
      heading: 'Recovery against cost',
      caption:
        'Each un-pruning variant’s recovery (mean over algorithms and seeds, 95% interval over seeds) against its cost ratio (examples processed, un-pruning over the gold pipeline, the estimate included). Dashed: the baseline any useful un-pruning must beat, the gold run stopped early (none at 0, the full gold pipeline at 1).',
      svg: await renderSvg(
        frontierChart({ points, baseline, facet: 'panel', title: 'Recovery–cost frontier', seriesDomain: variants }),
      ),
    });
  }
  const accuracy = [
    ['ua', 'UA %', 'gold_ua'],
    ['ra', 'RA %', 'gold_ra'],
    ['ta', 'TA %', 'gold_ta'],
    ['mia_efficacy', 'MIA-efficacy %', 'gold_mia'],
  ] as const;
  figures.push({
    name: 'accuracy-per-algorithm',
    heading: 'UA / RA / TA / MIA per algorithm',
    caption:
      'Mean over seeds (each seed’s mean over pruning methods and deletions) with 95% intervals, one y-axis per metric. Dashed: the gold model’s level.',
    svg: await variantChart(
      accuracy.map(([m, label, gold]) => ({
        rows,
        panel: () => label,
        x: (r) => r.unlearn,
        value: (r) => num(r[m]),
        reference: (r) => num(r[gold]),
      })),
      variants,
      {
        xTitle: 'unlearning algorithm',
        yTitle: 'value',
        title: 'Accuracy metrics and MIA-efficacy',
        independentY: true,
      },
    ),
  });
  if (stability.some((s) => s.roughness !== null)) {
    const label = (m: string) => RESULT_METRICS.find((x) => x.name === m)?.label ?? m;
    figures.push({
      name: 'metrics-over-deletion',
      heading: 'Metrics over deletion size',
      caption:
        'Each stability metric against deletion size, one colour per un-pruning variant as in every figure (each seed’s mean over algorithms, then mean and 95% interval over seeds).',
      svg: await variantChart(
        STABILITY_METRICS.map((m) => ({
          rows: random,
          panel: () => label(m),
          x: (r) => r.deletion_size,
          value: (r) => num(r[m as keyof ResultRow]),
        })),
        variants,
        { xTitle: 'deletion size', yTitle: 'value', title: 'Metrics over deletion size', independentY: true },
      ),
    });
  }
  return figures;
}

export async function htmlReport(rows: ResultRow[], meta: ReportMeta, opts: ViewOptions = {}): Promise<string> {
  const fmt = (v: number | null, d = 3) => (v === null ? '–' : v.toFixed(d));
  const stability = metricStability(rows, STABILITY_METRICS);
  const figures = await reportFigures(rows, stability);
  const sections = figures.map(
    (f) => `<section class="figure" id="${f.name}"><h2>${esc(f.heading)}</h2><p>${f.caption}</p>${f.svg}</section>`,
  );
  if (stability.some((s) => s.roughness !== null))
    sections.push(`<h2 id="metric-stability">Metric stability</h2>
<p>Roughness = mean |change between neighbouring deletion sizes| ÷ the curve's range, averaged over every curve
(one per data set, architecture, pruning, sparsity, algorithm and un-pruning variant; seeds averaged). A curve that
moves one way scores 1/(k−1) for k sizes; a metric that jumps back and forth scores higher, up to 1 (the curves are in
the figure “Metrics over deletion size”).</p>
<table><thead><tr><th>metric</th><th>roughness</th><th>95% CI (over curves)</th><th>monotone baseline</th><th>curves</th></tr></thead><tbody>
${stability.map((s) => `<tr><td>${esc(s.metric)}</td><td>${fmt(s.roughness)}</td><td>${s.low === null ? '–' : `${fmt(s.low)} – ${fmt(s.high)}`}</td><td>${fmt(s.monotoneBaseline)}</td><td>${s.series}</td></tr>`).join('\n')}
</tbody></table>`);
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

  const view = resultView(rows, opts);
  const { head, body, kinds } = viewCells(view);
  const axes = view.columns.length;
  const table = `<table class="results"><caption>${esc(viewCaption(view, rows.length))}</caption><thead><tr>${head.map((h, i) => `<th${i < axes ? ' class="axis"' : ''}>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${body.map((b, i) => `<tr class="${kinds[i]}">${b.map((v, j) => `<td${j < axes ? ' class="axis"' : ''}>${esc(v)}</td>`).join('')}</tr>`).join('\n')}
</tbody></table>${viewNotes(view)
    .map((n) => `<p class="note">${esc(n)}</p>`)
    .join('')}`;
  const title = meta.name ?? meta.sweepId;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>unprune — ${esc(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px;color:#222}
header dl{display:grid;grid-template-columns:max-content auto;gap:2px 1em;font-size:13px}header dt{color:#666}
header dd{margin:0}code{font-size:12px}
table{border-collapse:collapse;font-size:12px;margin:1em 0}th,td{border:1px solid #ccc;padding:2px 6px;text-align:right;white-space:nowrap}
th{background:#f4f4f4}.axis{text-align:left}caption{text-align:left;padding:4px 0;color:#444}
tr.gold td{background:#fff8e0}tr.original td{background:#f0f4fa}.note{font-size:12px;color:#555}
.figure svg{display:block;margin:1em 0;max-width:none}
</style></head><body>
<header>
<h1>unprune results: ${esc(title)}</h1>
${meta.description ? `<p>${esc(meta.description)}</p>` : ''}
<dl>
<dt>sweep</dt><dd>${esc(meta.sweepId)}</dd>
<dt>unprune</dt><dd>${esc(meta.version)}</dd>
<dt>made</dt><dd>${esc(meta.date)}</dd>
<dt>backend</dt><dd>${esc(meta.backends.join(', ') || 'unknown')}</dd>
<dt>command</dt><dd><code>${esc(meta.command)}</code></dd>
</dl>
<p>${rows.length} cells. UA = 100 − acc(D<sub>f</sub>), RA = acc(D<sub>r</sub>), TA = acc(test), MIA = MIA-efficacy (%),
IoU(m<sub>f</sub>, m<sub>r</sub>) = final mask vs the gold mask (on the original row: IoU(m, m<sub>r</sub>)),
recovery = share of the original gap closed, RTE = unlearning seconds, cost = un-pruning's examples over the gold pipeline's.</p>
</header>
<h2>Results table</h2>
${table}
${sections.join('\n')}
</body></html>
`;
}
