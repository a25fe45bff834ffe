// The text formats of a sweep's results: terminal table, Markdown and LaTeX (the result view: groups over seeds with
// reference rows, 95% intervals, the chosen metrics), CSV (one row per cell and every column, or with `aggregate` one
// row per view row) and JSON (rows, the view, the frontier and the noise test).
import { createRequire } from 'node:module';
import type Table from 'cli-table3';
import type { Comparison } from './compare.js';
import { deletionVsNoise } from './deletion-vs-noise.js';
import { recoveryFrontier } from './frontier.js';
import { METRIC_NAMES, TABLE_METRICS } from './result-metrics.js';
import { AXES, type GroupAxis, type ResultRow } from './result-rows.js';
import {
  AXIS_HEADERS,
  deletionSizeText,
  resultView,
  viewCaption,
  viewCells,
  viewNotes,
  type ResultView,
  type ViewOptions,
} from './result-view.js';

const requireHere = createRequire(import.meta.url);

/** Numeric columns of a set of rows: the registered metrics, then mia_<feature> extras. */
function metricColumns(rows: ResultRow[]): string[] {
  const extra = new Set<string>();
  for (const r of rows)
    for (const k of Object.keys(r))
      if (k.startsWith('mia_') && !(METRIC_NAMES as readonly string[]).includes(k)) extra.add(k);
  return [...METRIC_NAMES, ...[...extra].sort()];
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
      deletionSizeText(t.group.deletion, t.group.deletion_size),
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
      deletionSizeText(p.group.deletion, p.group.deletion_size),
      p.unprune,
      f(p.cost),
      `${f(p.recovery.mean)}${p.recovery.low === null ? '' : ` [${f(p.recovery.low)}, ${f(p.recovery.high)}]`}`,
      p.baseline ? '(baseline)' : f(p.baselineRecovery),
      p.baseline ? '' : p.above ? 'yes' : 'no',
    ]),
  };
}

/** A terminal table (cli-table3, compact, no colours; loaded here, not by every CLI start). */
export function textTable(head: string[], body: string[][]): string {
  const TextTable = requireHere('cli-table3') as typeof Table;
  const t = new TextTable({ head, style: { head: [], border: [], compact: true } });
  for (const b of body) t.push(b);
  return t.toString();
}

export function formatTable(rows: ResultRow[], title = 'results', opts: ViewOptions = {}): string {
  const view = resultView(rows, opts);
  if (view.rows.length === 0) return `${title}: no complete cells yet\n`;
  const { head, body } = viewCells(view);
  const notes = viewNotes(view)
    .map((n) => `${n}\n`)
    .join('');
  const main = `${title} (${viewCaption(view, rows.length)})\n${textTable(head, body)}\n${notes}`;
  const section = (cells: { head: string[]; body: string[][] } | undefined, heading: string) =>
    cells ? `\n${heading}\n${textTable(cells.head, cells.body)}\n` : '';
  return main + section(frontierCells(rows), FRONTIER_TITLE) + section(noiseCells(rows), NOISE_TITLE);
}

const mdTable = (head: string[], body: string[][]) => {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${head.map(esc).join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...body.map((b) => `| ${b.map(esc).join(' | ')} |`),
    '',
  ];
};

export function formatMarkdown(rows: ResultRow[], title = 'results', opts: ViewOptions = {}): string {
  const view = resultView(rows, opts);
  if (view.rows.length === 0) return `# ${title}\n\nNo complete cells yet.\n`;
  const { head, body } = viewCells(view);
  const section = (cells: { head: string[]; body: string[][] } | undefined, heading: string) =>
    cells ? [`## ${heading}`, '', ...mdTable(cells.head, cells.body)] : [];
  return [
    `# ${title}`,
    '',
    `${viewCaption(view, rows.length)}.`,
    '',
    ...mdTable(head, body),
    ...viewNotes(view).flatMap((n) => [n, '']),
    ...section(frontierCells(rows), FRONTIER_TITLE),
    ...section(noiseCells(rows), NOISE_TITLE),
  ].join('\n');
}

/** LaTeX special characters, and the Greek and symbols the labels use, in text mode. */
function latexText(s: string): string {
  return s
    .replace(/\\/g, '\\textbackslash{}')
    .replace(/([&%$#_{}])/g, '\\$1')
    .replace(/~/g, '\\textasciitilde{}')
    .replace(/\^/g, '\\textasciicircum{}')
    .replace(/±/g, '$\\pm$')
    .replace(/Δ/g, '$\\Delta$')
    .replace(/θ/g, '$\\theta$')
    .replace(/‖/g, '$\\|$')
    .replace(/−/g, '$-$')
    .replace(/†/g, '$^\\dagger$')
    .replace(/–/g, '--')
    .replace(/·/g, '$\\cdot$');
}

/** A booktabs table (needs \\usepackage{booktabs}): reference rows above a \\midrule in each group. */
export function formatLatex(rows: ResultRow[], title = 'results', opts: ViewOptions = {}): string {
  const view = resultView(rows, opts);
  const { head, body, kinds } = viewCells(view);
  const axes = view.columns.length + 1;
  const lines = [
    `% ${title}: ${viewCaption(view, rows.length)}`,
    ...viewNotes(view).map((n) => `% ${n}`),
    '\\begin{tabular}{' + 'l'.repeat(axes) + 'r'.repeat(head.length - axes) + '}',
    '\\toprule',
    head.map(latexText).join(' & ') + ' \\\\',
    '\\midrule',
  ];
  body.forEach((b, i) => {
    if (i > 0 && kinds[i - 1] === 'original' && kinds[i] === 'cell')
      lines.push('\\cmidrule(lr){1-' + head.length + '}');
    else if (i > 0 && kinds[i] === 'gold') lines.push('\\midrule');
    lines.push(b.map(latexText).join(' & ') + ' \\\\');
  });
  lines.push('\\bottomrule', '\\end{tabular}', '');
  return lines.join('\n');
}

const csvCell = (v: unknown) => {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const csvLines = (lines: unknown[][]) => lines.map((l) => l.map(csvCell).join(',')).join('\n') + '\n';

/**
 * CSV for analysis tools, so columns keep their machine names: one row per cell with every axis and metric column;
 * with `aggregate`, one row per row of the result view (reference rows included, `row` says which kind), each chosen
 * metric as its mean, std, 95% interval and seed count.
 */
export function formatCsv(rows: ResultRow[], opts: ViewOptions & { aggregate?: boolean } = {}): string {
  if (!opts.aggregate) {
    const columns = [...AXES, ...metricColumns(rows)];
    return csvLines([columns, ...rows.map((r) => columns.map((c) => r[c as keyof ResultRow]))]);
  }
  const view = resultView(rows, { ...opts, metrics: opts.metrics ?? METRIC_NAMES });
  const axes = [...view.columns, ...view.fixed.map((f) => f.axis)];
  return csvLines([
    [
      'row',
      ...axes,
      'seeds',
      ...view.metrics.flatMap((m) => ['mean', 'std', 'ci_low', 'ci_high'].map((s) => `${m.name}_${s}`)),
    ],
    ...view.rows.map((r) => [
      r.kind === 'cell' && r.noop ? 'cell (no-op)' : r.kind,
      ...axes.map((a) => r.axes[a] ?? view.fixed.find((f) => f.axis === a)?.value),
      r.seeds.length,
      ...view.metrics.flatMap((m) => {
        const st = r.stats[m.name]!;
        return [st.mean, st.std, st.low, st.high];
      }),
    ]),
  ]);
}

export function formatJson(rows: ResultRow[], sweepId: string, opts: ViewOptions = {}): string {
  const view: ResultView = resultView(rows, { ...opts, metrics: opts.metrics ?? METRIC_NAMES });
  return (
    JSON.stringify(
      {
        sweep: sweepId,
        rows,
        /** The table's rows: gold and original references, then cells, each metric over seeds with its 95% CI. */
        aggregate: view.rows,
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
  const head = [
    ...varying.map((k) => AXIS_HEADERS[k as GroupAxis] ?? k),
    'metric',
    'seeds',
    a,
    b,
    `${b} − ${a} [95% CI]`,
    'p',
  ];
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
  if (format === 'md') return [`# ${title}`, '', ...mdTable(head, body)].join('\n');
  return `${title}\n${textTable(head, body)}\n`;
}
