// Prometheus metrics (prom-client) for the local engine and Temporal workers. Label sets are bounded: stage kind,
// outcome, store kind/operation, sweep id, pruning method and un-pruning variant — never a cell or a stage key.
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Pushgateway, Registry } from 'prom-client';
import type { StageStats } from '../activities/stage-context.js';
import { RESULT_METRICS, type MetricName, type ResultMetric } from '../sweep/results/result-metrics.js';
import type { ResultRow } from '../sweep/results/result-rows.js';

export const OUTCOMES = ['completed', 'cached', 'failed', 'retried'] as const;
export type Outcome = (typeof OUTCOMES)[number];

type GaugeMetric = ResultMetric & { name: MetricName; gauge: NonNullable<ResultMetric['gauge']> };

/** Registered metrics with a gauge, by gauge family, in registry order. */
function gaugeFamilies(): Map<string, GaugeMetric[]> {
  const families = new Map<string, GaugeMetric[]>();
  for (const m of RESULT_METRICS as readonly ResultMetric[])
    if (m.gauge) families.set(m.gauge.family, [...(families.get(m.gauge.family) ?? []), m as GaugeMetric]);
  return families;
}

export class UnpruneMetrics {
  readonly registry = new Registry();
  readonly stageDuration: Histogram<'kind' | 'outcome'>;
  readonly stagesTotal: Counter<'kind' | 'outcome'>;
  readonly stagesInFlight: Gauge<'kind'>;
  readonly examplesTotal: Counter<'kind'>;
  readonly examplesPerSecond: Gauge<'kind'>;
  readonly storeBytes: Counter<'store' | 'direction'>;
  readonly storeSeconds: Histogram<'store' | 'op'>;
  readonly sweepCells: Gauge<'sweep' | 'state'>;
  readonly corruptReads: Counter;
  readonly sweepStages: Gauge<'sweep' | 'state'>;
  /** Result gauges, one per family the metric registry (sweep/results/result-metrics.ts) declares. */
  readonly resultGauges = new Map<string, Gauge<string>>();

  constructor(opts: { defaultMetrics?: boolean; role?: string } = {}) {
    const r = [this.registry];
    if (opts.role) this.registry.setDefaultLabels({ role: opts.role });
    if (opts.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'unprune_' });
      // prom-client names these gauges *_total, which `promtool check metrics` rejects; the rest stay.
      for (const n of ['active_handles', 'active_requests', 'active_resources'])
        this.registry.removeSingleMetric(`unprune_nodejs_${n}_total`);
    }
    this.stageDuration = new Histogram({
      name: 'unprune_stage_duration_seconds',
      help: 'Wall time of a stage, by kind and outcome.',
      labelNames: ['kind', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
      registers: r,
    });
    this.stagesTotal = new Counter({
      name: 'unprune_stages_total',
      help: 'Stages finished, by kind and outcome (completed, cached, failed, retried).',
      labelNames: ['kind', 'outcome'],
      registers: r,
    });
    this.stagesInFlight = new Gauge({
      name: 'unprune_stages_in_flight',
      help: 'Stages running now, by kind.',
      labelNames: ['kind'],
      registers: r,
    });
    this.examplesTotal = new Counter({
      name: 'unprune_training_examples_total',
      help: 'Training examples processed (forward + backward), by stage kind.',
      labelNames: ['kind'],
      registers: r,
    });
    this.examplesPerSecond = new Gauge({
      name: 'unprune_training_examples_per_second',
      help: 'Training throughput of the last stage of each kind that trained.',
      labelNames: ['kind'],
      registers: r,
    });
    this.storeBytes = new Counter({
      name: 'unprune_store_bytes_total',
      help: 'Bytes moved to or from the artifact store.',
      labelNames: ['store', 'direction'],
      registers: r,
    });
    this.storeSeconds = new Histogram({
      name: 'unprune_store_operation_seconds',
      help: 'Latency of artifact-store operations.',
      labelNames: ['store', 'op'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    });
    this.corruptReads = new Counter({
      name: 'unprune_corrupt_artifacts_total',
      help: 'Artifacts found failing their size/sha256 check or with an unreadable manifest (recomputed, never used).',
      registers: r,
    });
    this.sweepCells = new Gauge({
      name: 'unprune_sweep_cells',
      help: 'Cells of a sweep: total, done (row available), failed (no row).',
      labelNames: ['sweep', 'state'],
      registers: r,
    });
    this.sweepStages = new Gauge({
      name: 'unprune_sweep_stages',
      help: 'Stages of a sweep by state: total, done, cached, running, failed, skipped.',
      labelNames: ['sweep', 'state'],
      registers: r,
    });
    for (const [family, members] of gaugeFamilies()) {
      const { by, help } = members[0]!.gauge;
      const shared = members.length > 1;
      this.resultGauges.set(
        family,
        new Gauge({
          name: `unprune_result_${family}`,
          help: `${help} over a sweep’s finished cells, by ${by === 'prune' ? 'pruning method' : 'unlearning algorithm'} and un-pruning variant${shared ? ` (metric: ${members.map((m) => m.name).join(', ')})` : ''}.`,
          labelNames: ['sweep', by, 'unprune', ...(shared ? ['metric'] : [])],
          registers: r,
        }),
      );
    }
  }

  stageStarted(kind: string): void {
    this.stagesInFlight.inc({ kind });
  }

  /** A stage ended (or was retried): counts, duration, and what its process measured. */
  stageEnded(kind: string, outcome: Outcome, seconds: number, stats?: StageStats, running = true): void {
    if (running) this.stagesInFlight.dec({ kind });
    this.stagesTotal.inc({ kind, outcome });
    if (outcome !== 'retried') this.stageDuration.observe({ kind, outcome }, seconds);
    if (stats) this.recordStats(kind, stats);
  }

  recordStats(kind: string, stats: StageStats, store = 'fs'): void {
    if (stats.corrupt?.length) {
      this.corruptReads.inc(stats.corrupt.length);
    }
    if (stats.examples > 0) {
      this.examplesTotal.inc({ kind }, stats.examples);
      if (stats.trainSeconds > 0) this.examplesPerSecond.set({ kind }, stats.examples / stats.trainSeconds);
    }
    for (const s of stats.store) {
      this.storeSeconds.observe({ store, op: s.op }, s.seconds);
      if (s.bytes > 0) this.storeBytes.inc({ store, direction: s.op === 'put' ? 'written' : 'read' }, s.bytes);
    }
  }

  /** Result gauges from a sweep's rows: each registered gauge metric's mean by its bounded label set. */
  recordResults(sweep: string, rows: readonly ResultRow[]): void {
    for (const [family, members] of gaugeFamilies()) {
      const gauge = this.resultGauges.get(family)!;
      const by = members[0]!.gauge.by;
      const groups = new Map<string, ResultRow[]>();
      for (const r of rows) {
        const id = `${r[by]}\u0000${r.unprune}`;
        groups.set(id, [...(groups.get(id) ?? []), r]);
      }
      for (const g of groups.values()) {
        const labels = { sweep, [by]: g[0]![by], unprune: g[0]!.unprune };
        for (const m of members) {
          const v = g.map((r) => r[m.name]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
          if (!v.length) continue;
          const mean = v.reduce((a, b) => a + b, 0) / v.length;
          gauge.set(members.length > 1 ? { ...labels, metric: m.name } : labels, mean);
        }
      }
    }
  }

  recordSweep(
    sweep: string,
    p: { total: number; done: number; cached: number; running: number; failed: number; skipped: number },
    cells?: { total: number; done: number; failed: number },
  ): void {
    for (const state of ['total', 'done', 'cached', 'running', 'failed', 'skipped'] as const)
      this.sweepStages.set({ sweep, state }, p[state]);
    if (cells)
      for (const state of ['total', 'done', 'failed'] as const) this.sweepCells.set({ sweep, state }, cells[state]);
  }

  /** Every metric name this registry exposes (histograms with their _bucket/_sum/_count series). */
  async names(): Promise<string[]> {
    const out = new Set<string>();
    for (const m of await this.registry.getMetricsAsJSON()) {
      out.add(m.name);
      if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(m.name + s);
      if (String(m.type) === 'summary') for (const s of ['_sum', '_count']) out.add(m.name + s);
    }
    return [...out].sort();
  }

  async push(url: string, job: string): Promise<void> {
    await new Pushgateway(url, {}, this.registry).pushAdd({ jobName: job });
  }
}

/** Serves /metrics; binds 127.0.0.1 unless told otherwise. Port 0 picks a free port. */
export async function serveMetrics(
  metrics: UnpruneMetrics,
  port: number,
  host = '127.0.0.1',
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end('see /metrics\n');
      return;
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  return { server, url: `http://${host}:${actual}/metrics` };
}
