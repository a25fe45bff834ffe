// The text formats of a sweep's results: terminal table, Markdown (both aggregated over seeds, showing the
// registry's table metrics), CSV (one row per cell, every column) and JSON (rows and aggregates).
import Table from 'cli-table3';
import { aggregate, formatStat, metricColumns, type AggregateRow } from './aggregate.js';
import type { Comparison } from './compare.js';
import { deletionVsNoise } from './deletion-vs-noise.js';
import { recoveryFrontier } from './frontier.js';
import { TABLE_METRICS } from './result-metrics.js';
import { AXES, type ResultRow } from './result-rows.js';

export { TABLE_METRICS };

export const TABLE_AXES: [keyof AggregateRow['axes'], string][] = [
  ['dataset', 'dataset'],
  ['arch', 'arch'],
  ['prune', 'prune'],
  ['sparsity', 'sparsity'],
  ['deletion', 'deletion'],
  ['deletion_size', 'size'],
  ['unlearn', 'unlearn'],
  ['unprune', 'unprune'],
];

function tableCells(agg: AggregateRow[]): { head: string[]; body: string[][] } {
  // Axes that never vary are shown once in the title, not in every row.
  const varying = TABLE_AXES.filter(
    ([a]) => new Set(agg.map((r) => r.axes[a])).size > 1 || a === 'unlearn' || a === 'unprune',
  );
  return {
    head: [...varying.map(([, h]) => h), 'seeds', ...TABLE_METRICS.map((m) => m.label)],
    body: agg.map((r) => [
      ...varying.map(([a]) => String(r.axes[a])),
      String(r.seeds.length),
      ...TABLE_METRICS.map((m) => formatStat(r.stats[m.name], m.digits)),
    ]),
  };
}

function fixedAxes(agg: AggregateRow[]): string {
  const fixed = TABLE_AXES.filter(
    ([a]) => new Set(agg.map((r) => r.axes[a])).size === 1 && a !== 'unlearn' && a !== 'unprune',
  );
  return fixed.map(([a, h]) => `${h} ${agg[0]!.axes[a]}`).join(', ');
}

const NOISE_TITLE =
  'deletion effect vs noise floor (paired over seeds; p: one-sided t-test that deleting D_f moves the mask more than reshuffling the batches)';

/** The deletion-vs-noise section: one line per (data set, architecture, pruning, deletion). */
function noiseCells(rows: ResultRow[]): { head: string[]; body: string[][] } | undefined {
  const tests = deletionVsNoise(rows);
  if (tests.length === 0) return undefined;
  const f = (v: number | null, d = 3) => (v === null ? '–' : v.toFixed(d));
  return {
    head: [
      'dataset',
      'arch',
      'prune',
      'sparsity',
      'deletion',
      'size',
      'seeds',
      '1−IoU(m,m_r)',
      '1−IoU floor',
      'difference [95% CI]',
      'p',
    ],
    body: tests.map((t) => [
      t.group.dataset,
      t.group.arch,
      t.group.prune,
      String(t.group.sparsity),
      t.group.deletion,
      String(t.group.deletion_size),
      String(t.seeds),
      f(t.deletionEffect),
      f(t.noiseEffect),
      `${f(t.difference.mean)}${t.difference.low === null ? '' : ` [${f(t.difference.low)}, ${f(t.difference.high)}]`}`,
      t.difference.p === null ? '–' : t.difference.p < 0.001 ? '<0.001' : t.difference.p.toFixed(3),
    ]),
  };
}

const FRONTIER_TITLE =
  'recovery–cost frontier (baseline: the gold run stopped early, none at 0, the full gold pipeline at 1; recovery averaged over algorithms, 95% CI over seeds)';

/** The frontier section: every variant's recovery at its cost against the truncated-replay baseline. */
function frontierCells(rows: ResultRow[]): { head: string[]; body: string[][] } | undefined {
  const points = recoveryFrontier(rows);
  if (!points.some((p) => p.cost > 0)) return undefined;
  const f = (v: number | null, d = 2) => (v === null ? '–' : v.toFixed(d));
  return {
    head: ['prune', 'sparsity', 'deletion', 'size', 'unprune', 'cost', 'recovery [95% CI]', 'baseline', 'above'],
    body: points.map((p) => [
      p.group.prune,
      String(p.group.sparsity),
      p.group.deletion,
      String(p.group.deletion_size),
      p.unprune,
      f(p.cost),
      `${f(p.recovery.mean)}${p.recovery.low === null ? '' : ` [${f(p.recovery.low)}, ${f(p.recovery.high)}]`}`,
      p.baseline ? '(baseline)' : f(p.baselineRecovery),
      p.baseline ? '' : p.above ? 'yes' : 'no',
    ]),
  };
}

export function formatTable(rows: ResultRow[], title = 'results'): string {
  const agg = aggregate(rows);
  if (agg.length === 0) return `${title}: no complete cells yet\n`;
  const { head, body } = tableCells(agg);
  const t = new Table({ head, style: { head: [], border: [], compact: true } });
  for (const b of body) t.push(b);
  const fixed = fixedAxes(agg);
  const main = `${title} (${rows.length} cells, mean ± std over seeds${fixed ? `; ${fixed}` : ''})\n${t.toString()}\n`;
  const section = (cells: { head: string[]; body: string[][] } | undefined, heading: string) => {
    if (!cells) return '';
    const n = new Table({ head: cells.head, style: { head: [], border: [], compact: true } });
    for (const b of cells.body) n.push(b);
    return `\n${heading}\n${n.toString()}\n`;
  };
  return main + section(frontierCells(rows), FRONTIER_TITLE) + section(noiseCells(rows), NOISE_TITLE);
}

export function formatMarkdown(rows: ResultRow[], title = 'results'): string {
  const agg = aggregate(rows);
  if (agg.length === 0) return `# ${title}\n\nNo complete cells yet.\n`;
  const { head, body } = tableCells(agg);
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const fixed = fixedAxes(agg);
  return [
    `# ${title}`,
    '',
    `${rows.length} cells; mean ± std over seeds${fixed ? `; ${fixed}` : ''}.`,
    '',
    `| ${head.map(esc).join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...body.map((b) => `| ${b.map(esc).join(' | ')} |`),
    '',
    ...markdownSections(rows, esc),
  ].join('\n');
}

function markdownSections(rows: ResultRow[], esc: (s: string) => string): string[] {
  const section = (cells: { head: string[]; body: string[][] } | undefined, heading: string) =>
    cells
      ? [
          `## ${heading}`,
          '',
          `| ${cells.head.map(esc).join(' | ')} |`,
          `|${cells.head.map(() => '---').join('|')}|`,
          ...cells.body.map((b) => `| ${b.map(esc).join(' | ')} |`),
          '',
        ]
      : [];
  return [...section(frontierCells(rows), FRONTIER_TITLE), ...section(noiseCells(rows), NOISE_TITLE)];
}

/** Per-cell rows as CSV; the header names every axis and metric column. */
export function formatCsv(rows: ResultRow[]): string {
  const columns = [...AXES, ...metricColumns(rows)];
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return '';
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return (
    [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c as keyof ResultRow])).join(','))].join('\n') +
    '\n'
  );
}

export function formatJson(rows: ResultRow[], sweepId: string): string {
  return (
    JSON.stringify(
      {
        sweep: sweepId,
        rows,
        aggregate: aggregate(rows),
        frontier: recoveryFrontier(rows),
        deletion_vs_noise: deletionVsNoise(rows),
      },
      null,
      2,
    ) + '\n'
  );
}

/** `--compare`: per group of the other axes and table metric, each side's mean and the paired difference b − a. */
export function formatComparison(comps: Comparison[], format: 'table' | 'md' | 'json'): string {
  if (format === 'json') return JSON.stringify(comps, null, 2) + '\n';
  if (comps.length === 0) return 'no cells pair up: no group has both values of the compared axis for a seed\n';
  const { axis, a, b } = comps[0]!;
  const varying = Object.keys(comps[0]!.group).filter((k) => new Set(comps.map((c) => c.group[k])).size > 1);
  const f = (v: number | null, d: number) => (v === null ? '–' : v.toFixed(d));
  const digits = (c: Comparison) => TABLE_METRICS.find((m) => m.name === c.metric)?.digits ?? 3;
  const head = [...varying, 'metric', 'seeds', a, b, `${b} − ${a} [95% CI]`, 'p'];
  const body = comps.map((c) => [
    ...varying.map((k) => String(c.group[k])),
    c.label,
    String(c.seeds),
    f(c.meanA, digits(c)),
    f(c.meanB, digits(c)),
    `${f(c.difference.mean, digits(c))}${c.difference.low === null ? '' : ` [${f(c.difference.low, digits(c))}, ${f(c.difference.high, digits(c))}]`}`,
    c.p === null ? '–' : c.p < 0.001 ? '<0.001' : c.p.toFixed(3),
  ]);
  const title = `${axis}: ${b} against ${a}, paired over seeds (p: two-sided paired t-test)`;
  if (format === 'md') {
    const esc = (s: string) => s.replace(/\|/g, '\\|');
    return [
      `# ${title}`,
      '',
      `| ${head.map(esc).join(' | ')} |`,
      `|${head.map(() => '---').join('|')}|`,
      ...body.map((r) => `| ${r.map(esc).join(' | ')} |`),
      '',
    ].join('\n');
  }
  const t = new Table({ head, style: { head: [], border: [], compact: true } });
  for (const r of body) t.push(r);
  return `${title}\n${t.toString()}\n`;
}
