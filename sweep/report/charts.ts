// Plots as Vega-Lite specs, compiled with vega-lite and rendered to SVG strings by vega's headless View (no canvas,
// no browser), so the HTML report is self-contained.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export type Datum = Record<string, string | number | null>;

/** One line per series over a numeric x, faceted into small multiples; points mark the measured sizes. */
export function lineChart(opts: {
  data: Datum[];
  x: string;
  xTitle: string;
  y: string;
  yTitle: string;
  color: string;
  strokeDash?: string;
  facet?: string;
  title: string;
}): TopLevelSpec {
  const layer = {
    mark: { type: 'line' as const, point: true },
    encoding: {
      x: { field: opts.x, type: 'quantitative' as const, title: opts.xTitle, scale: { zero: false } },
      y: { field: opts.y, type: 'quantitative' as const, title: opts.yTitle, scale: { zero: false } },
      color: { field: opts.color, type: 'nominal' as const },
      ...(opts.strokeDash ? { strokeDash: { field: opts.strokeDash, type: 'nominal' as const } } : {}),
    },
  };
  const base = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title,
    data: { values: opts.data },
  };
  if (!opts.facet) return { ...base, width: 360, height: 220, ...layer } as TopLevelSpec;
  return {
    ...base,
    facet: { field: opts.facet, type: 'nominal' },
    columns: 3,
    spec: { width: 240, height: 170, ...layer },
  } as TopLevelSpec;
}

/** Grouped bars: one group per category, one bar per series, with error bars (± std) when given. */
export function barChart(opts: {
  data: Datum[];
  category: string;
  series: string;
  y: string;
  yTitle: string;
  facet: string;
  title: string;
}): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title,
    data: { values: opts.data },
    facet: { field: opts.facet, type: 'nominal' },
    columns: 3,
    spec: {
      width: 240,
      height: 170,
      mark: 'bar',
      encoding: {
        x: { field: opts.category, type: 'nominal', title: null },
        xOffset: { field: opts.series },
        y: { field: opts.y, type: 'quantitative', title: opts.yTitle },
        color: { field: opts.series, type: 'nominal' },
      },
    },
  } as TopLevelSpec;
}

/**
 * Recovery against cost per panel: every variant a point (colour per variant) with its 95% interval as a bar, and the
 * truncated-replay baseline (none at 0, truncations, the gold pipeline at 1) as a line under them.
 */
export function frontierChart(opts: {
  points: Datum[];
  baseline: Datum[];
  facet: string;
  title: string;
}): TopLevelSpec {
  const x = { field: 'cost', type: 'quantitative' as const, title: 'cost ratio (examples, un-pruning / gold)' };
  const y = { field: 'recovery', type: 'quantitative' as const, title: 'recovery' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title,
    data: {
      values: [
        ...opts.baseline.map((d) => ({ ...d, layer: 'baseline' })),
        ...opts.points.map((d) => ({ ...d, layer: 'point' })),
      ],
    },
    facet: { field: opts.facet, type: 'nominal', title: null },
    columns: 3,
    spec: {
      width: 240,
      height: 170,
      layer: [
        {
          transform: [{ filter: "datum.layer === 'baseline'" }],
          mark: { type: 'line', color: '#888', strokeDash: [4, 3], point: { color: '#888' } },
          encoding: { x, y, order: { field: 'cost', type: 'quantitative' } },
        },
        {
          transform: [{ filter: "datum.layer === 'point' && datum.low !== null" }],
          mark: { type: 'rule' },
          encoding: {
            x,
            y: { field: 'low', type: 'quantitative' },
            y2: { field: 'high' },
            color: { field: 'unprune', type: 'nominal', title: 'variant' },
          },
        },
        {
          transform: [{ filter: "datum.layer === 'point'" }],
          mark: { type: 'point', filled: true, size: 50 },
          encoding: {
            x,
            y,
            color: { field: 'unprune', type: 'nominal', title: 'variant' },
            shape: { field: 'unprune', type: 'nominal', title: 'variant' },
          },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}
