// Plots as Vega-Lite specs, compiled with vega-lite and rendered to SVG strings by vega's headless View (no canvas,
// no browser), so the HTML report is self-contained.
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A PNG of an SVG figure at twice its size (resvg: no browser, no canvas; the machine's fonts). */
export function svgToPng(svg: string): Buffer {
  return new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, background: 'white' }).render().asPng();
}

export type Datum = Record<string, string | number | null>;

/** One colour and one shape per series (un-pruning variant), the same in every figure: its position in the spec. */
const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#eeca3b', '#9d755d', '#ff9da6'];
const SHAPES = ['circle', 'square', 'triangle-up', 'diamond', 'cross', 'triangle-down', 'triangle-right', 'stroke'];

function seriesScale(field: string, title: string, domain: string[]) {
  const legend = { labelLimit: 0, titleLimit: 0, symbolOpacity: 1 };
  return {
    color: { field, type: 'nominal' as const, title, scale: { domain, range: PALETTE }, legend },
    shape: { field, type: 'nominal' as const, title, scale: { domain, range: SHAPES }, legend },
  };
}

/** Panels in the order given (the spec's), not alphabetically. */
const facetOf = (field: string, order: string[]) => ({
  field,
  type: 'nominal' as const,
  title: null,
  sort: order,
  header: { labelLimit: 0 },
});

/** A measured point: the mean over seeds and its 95% interval (null bounds: one seed). */
export interface SeriesPoint {
  panel: string;
  x: string | number;
  series: string;
  mean: number;
  low: number | null;
  high: number | null;
}

/**
 * A metric against x, one colour and shape per series, in small multiples (one panel each): means with their 95%
 * intervals (a band along a line over a numeric x; error bars on a dot chart when x is categorical or has one value),
 * and a reference level per panel (the gold model's) as a dashed grey rule.
 */
export function seriesChart(opts: {
  points: SeriesPoint[];
  reference?: { panel: string; value: number }[];
  xTitle: string;
  yTitle: string;
  seriesTitle: string;
  seriesDomain: string[];
  title: string;
  /** Each panel its own y scale (metrics of different ranges side by side). */
  independentY?: boolean;
}): TopLevelSpec {
  const dots = opts.points.some((p) => typeof p.x === 'string') || new Set(opts.points.map((p) => p.x)).size < 2;
  const x = dots
    ? { field: 'x', type: 'nominal' as const, title: opts.xTitle, axis: { labelAngle: 0, labelLimit: 0 } }
    : { field: 'x', type: 'quantitative' as const, title: opts.xTitle, scale: { zero: false } };
  const y = (field: string) => ({ field, type: 'quantitative' as const, title: opts.yTitle, scale: { zero: false } });
  const { color, shape } = seriesScale('series', opts.seriesTitle, opts.seriesDomain);
  const offset = dots
    ? { xOffset: { field: 'series', type: 'nominal' as const, scale: { domain: opts.seriesDomain } } }
    : {};
  const isPoint = "datum.layer === 'point'";
  const layer: unknown[] = [
    dots
      ? {
          transform: [{ filter: `${isPoint} && datum.low !== null` }],
          mark: { type: 'rule', strokeWidth: 1.5 },
          encoding: { x, ...offset, y: y('low'), y2: { field: 'high' }, color },
        }
      : {
          transform: [{ filter: `${isPoint} && datum.low !== null` }],
          mark: { type: 'area', opacity: 0.18 },
          encoding: { x, y: y('low'), y2: { field: 'high' }, color },
        },
    ...(dots
      ? []
      : [{ transform: [{ filter: isPoint }], mark: { type: 'line' }, encoding: { x, y: y('mean'), color } }]),
    {
      transform: [{ filter: isPoint }],
      mark: { type: 'point', filled: true, size: 45, opacity: 1 },
      encoding: { x, ...offset, y: y('mean'), color, shape },
    },
    ...(opts.reference?.length
      ? [
          {
            transform: [{ filter: "datum.layer === 'reference'" }],
            mark: { type: 'rule', color: '#555', strokeDash: [5, 3] },
            encoding: { y: y('value') },
          },
        ]
      : []),
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title,
    data: {
      values: [
        ...opts.points.map((p) => ({ ...p, layer: 'point' })),
        ...(opts.reference ?? []).map((r) => ({ ...r, layer: 'reference' })),
      ],
    },
    facet: facetOf('panel', [...new Set(opts.points.map((p) => p.panel))]),
    columns: 3,
    spec: { width: 240, height: 170, layer },
    ...(opts.independentY ? { resolve: { scale: { y: 'independent' } } } : {}),
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
  seriesDomain: string[];
}): TopLevelSpec {
  const { color, shape } = seriesScale('unprune', 'un-pruning', opts.seriesDomain);
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
    facet: facetOf(opts.facet, [...new Set(opts.points.map((p) => String(p[opts.facet])))]),
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
            color,
          },
        },
        {
          transform: [{ filter: "datum.layer === 'point'" }],
          mark: { type: 'point', filled: true, size: 50 },
          encoding: {
            x,
            y,
            color,
            shape,
          },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}
