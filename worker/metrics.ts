// Prometheus metrics (prom-client) for the local engine and Temporal workers. Label sets are bounded: stage kind,
// outcome, store kind/operation, sweep id, pruning method and un-pruning variant — never a cell or a stage key.
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Pushgateway, Registry } from 'prom-client';
import type { StageStats } from '../activities/stage-context.js';
import type { ResultRow } from '../sweep/results.js';

export const OUTCOMES = ['completed', 'cached', 'failed', 'retried'] as const;
export type Outcome = (typeof OUTCOMES)[number];

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
  readonly resultIouGold: Gauge<'sweep' | 'prune' | 'unprune'>;
  readonly resultRecovery: Gauge<'sweep' | 'prune' | 'unprune'>;
  readonly resultMia: Gauge<'sweep' | 'unlearn' | 'unprune'>;
  readonly resultAccuracy: Gauge<'sweep' | 'unlearn' | 'unprune' | 'metric'>;

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
    this.resultIouGold = new Gauge({
      name: 'unprune_result_iou_gold',
      help: 'Mean IoU(final mask, gold mask) over a sweep’s finished cells, by pruning method and un-pruning variant.',
      labelNames: ['sweep', 'prune', 'unprune'],
      registers: r,
    });
    this.resultRecovery = new Gauge({
      name: 'unprune_result_recovery',
      help: 'Mean recovery of the mask gap to gold, by pruning method and un-pruning variant.',
      labelNames: ['sweep', 'prune', 'unprune'],
      registers: r,
    });
    this.resultMia = new Gauge({
      name: 'unprune_result_mia_efficacy',
      help: 'Mean MIA-efficacy (%), by unlearning algorithm and un-pruning variant.',
      labelNames: ['sweep', 'unlearn', 'unprune'],
      registers: r,
    });
    this.resultAccuracy = new Gauge({
      name: 'unprune_result_accuracy',
      help: 'Mean UA / RA / TA (%), by unlearning algorithm and un-pruning variant.',
      labelNames: ['sweep', 'unlearn', 'unprune', 'metric'],
      registers: r,
    });
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

  /** Result gauges from a sweep's rows: means by bounded label sets. */
  recordResults(sweep: string, rows: readonly ResultRow[]): void {
    const mean = (xs: unknown[]) => {
      const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
      return v.length ? v.reduce((a, b) => a + b, 0) / v.length : undefined;
    };
    const group = (key: (r: (typeof rows)[number]) => string) => {
      const m = new Map<string, typeof rows>();
      for (const r of rows) m.set(key(r), [...(m.get(key(r)) ?? []), r]);
      return m;
    };
    for (const [k, g] of group((r) => `${r.prune}\u0000${r.unprune}`)) {
      const [prune, unprune] = k.split('\u0000') as [string, string];
      const iou = mean(g.map((r) => r.iou_gold));
      const rec = mean(g.map((r) => r.recovery));
      if (iou !== undefined) this.resultIouGold.set({ sweep, prune, unprune }, iou);
      if (rec !== undefined) this.resultRecovery.set({ sweep, prune, unprune }, rec);
    }
    for (const [k, g] of group((r) => `${r.unlearn}\u0000${r.unprune}`)) {
      const [unlearn, unprune] = k.split('\u0000') as [string, string];
      const mia = mean(g.map((r) => r.mia_efficacy));
      if (mia !== undefined) this.resultMia.set({ sweep, unlearn, unprune }, mia);
      for (const metric of ['ua', 'ra', 'ta'] as const) {
        const v = mean(g.map((r) => r[metric]));
        if (v !== undefined) this.resultAccuracy.set({ sweep, unlearn, unprune, metric }, v);
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
  const server = createServer(async (req, res) => {
    if (req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end('see /metrics\n');
      return;
    }
    try {
      const body = await metrics.registry.metrics();
      res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(body);
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  return { server, url: `http://${host}:${actual}/metrics` };
}
