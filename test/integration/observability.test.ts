// Observability against real components on this machine: Debian's Prometheus scrapes a local engine during a sweep
// and answers PromQL over its HTTP API; promtool accepts the exposition and the rules; every metric the dashboards
// and rules name is one the code exports; the Pushgateway receives a short run's metrics; the compose file parses;
// and a sweep stored on Ceph radosgw through --store s3://… is listed and downloaded by Debian's awscli with sha256
// matching the manifests.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { planSweep } from '../../sweep/plan.js';
import { parseSweep } from '../../sweep/spec.js';
import { UnpruneMetrics } from '../../worker/metrics.js';
import { BIN, unprune } from '../helpers/cli.js';
import { ensureDebianTool } from '../helpers/debian.js';
import { startS3, type S3Server } from '../helpers/radosgw.js';

const SCRIPT = new URL('../../infra/scripts/prometheus.sh', import.meta.url).pathname;
const INFRA = new URL('../../infra/', import.meta.url).pathname;
const TINY = new URL('../fixtures/specs/tiny.yaml', import.meta.url).pathname;
/** The tiny sweep's stage count, from its plan (a run from an empty store finishes each once). */
const TINY_STAGES = planSweep(parseSweep(readFileSync(TINY, 'utf8'))).stages.length;
const tmp = () => mkdtempSync(join(tmpdir(), 'unprune-obs-'));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function promQuery(
  base: string,
  query: string,
): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await r.json()) as {
    status: string;
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  assert.equal(body.status, 'success', JSON.stringify(body));
  return body.data.result;
}

const daemons = tmp();
let prometheus: string;
let pushgateway: string;
let metricsPort: number;
let workerPort: number;
before(async () => {
  metricsPort = await freePort();
  workerPort = await freePort();
  const config = join(daemons, 'prometheus.yml');
  writeFileSync(
    config,
    `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: unprune-local\n    static_configs: [{ targets: ['127.0.0.1:${metricsPort}'] }]\n` +
      `  - job_name: unprune-worker\n    static_configs: [{ targets: ['127.0.0.1:${workerPort}'] }]\n`,
  );
  prometheus = execFileSync('bash', [SCRIPT, 'start', join(daemons, 'd'), config, String(await freePort())], {
    encoding: 'utf8',
    timeout: 300_000,
  }).trim();
  pushgateway = execFileSync('bash', [SCRIPT, 'pushgateway', join(daemons, 'd'), String(await freePort())], {
    encoding: 'utf8',
    timeout: 300_000,
  }).trim();
});
after(() => {
  execFileSync('bash', [SCRIPT, 'stop', join(daemons, 'd')]);
});

test('Prometheus scrapes a local engine during a sweep (and a worker process); PromQL over its API sees stage counters and the histogram; promtool accepts the exposition', async () => {
  const store = tmp();
  // A Temporal worker with no server to reach keeps retrying and serves its metrics meanwhile.
  const worker = spawn(
    process.execPath,
    [BIN, 'worker', '--metrics-port', String(workerPort), '--address', '127.0.0.1:9'],
    { stdio: 'ignore' },
  );
  const run = spawn(
    process.execPath,
    [
      BIN,
      'run',
      TINY,
      '--store',
      store,
      '--workers',
      '2',
      '--metrics-port',
      String(metricsPort),
      '--metrics-linger',
      '4',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  run.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let exposition = '';
  const exited = new Promise<number | null>((resolve) => run.on('exit', resolve));
  // Capture one exposition mid-run for promtool.
  for (let i = 0; i < 100 && !exposition.includes('unprune_stages_total{'); i++) {
    await new Promise((r) => setTimeout(r, 200));
    exposition = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(
      (r) => r.text(),
      () => '',
    );
  }
  assert.equal(await exited, 0, stderr);
  const promtool = ensureDebianTool('/usr/bin/promtool', 'prometheus');
  execFileSync(promtool, ['check', 'metrics'], { input: exposition });

  const total = await promQuery(prometheus, 'sum(max_over_time(unprune_stages_total[5m]))');
  const byKind = await promQuery(
    prometheus,
    'sum by (kind) (max_over_time(unprune_stages_total{outcome="completed"}[5m]))',
  );
  const p90 = await promQuery(
    prometheus,
    'histogram_quantile(0.9, sum by (le) (max_over_time(unprune_stage_duration_seconds_bucket[5m])))',
  );
  const examples = await promQuery(prometheus, 'sum(max_over_time(unprune_training_examples_total[5m]))');
  console.log(
    `# Prometheus saw ${total[0]?.value[1]} finished stages, p90 stage time ${Number(p90[0]?.value[1]).toFixed(2)} s, ${examples[0]?.value[1]} training examples; kinds: ${byKind.map((r) => r.metric.kind).join(', ')}`,
  );
  const workerUp = await promQuery(prometheus, 'max_over_time(up{job="unprune-worker"}[5m])');
  const workerMemory = await promQuery(
    prometheus,
    'max_over_time(unprune_process_resident_memory_bytes{job="unprune-worker"}[5m])',
  );
  worker.kill('SIGINT');
  assert.equal(workerUp[0]?.value[1], '1', 'the worker process was scraped');
  assert.ok(Number(workerMemory[0]?.value[1]) > 0);
  assert.equal(Number(total[0]!.value[1]), TINY_STAGES);
  assert.ok(byKind.length >= 7);
  assert.ok(Number(p90[0]!.value[1]) > 0);
  assert.ok(Number(examples[0]!.value[1]) > 0);
});

test('a short run pushes its final metrics to the Pushgateway', () => {
  const store = tmp();
  const r = unprune(['run', TINY, '--store', store, '--workers', '2', '--pushgateway', pushgateway]);
  assert.equal(r.status, 0, r.stderr);
  return fetch(`${pushgateway}/metrics`)
    .then((res) => res.text())
    .then((text) => {
      assert.match(text, /unprune_stages_total\{.*job="unprune".*\} \d+/);
      assert.match(text, /unprune_result_iou_gold\{/);
    });
});

/** Metric names in a PromQL expression (labels, functions, keywords, strings and durations removed). */
function metricNames(expr: string): string[] {
  const cleaned = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'inf', 'nan']);
  return [...cleaned.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .filter((m) => cleaned[m.index! + m[0].length] !== '(' && !/^\s*\(/.test(cleaned.slice(m.index! + m[0].length)))
    .map((m) => m[0])
    .filter((n) => !keywords.has(n.toLowerCase()));
}

test('every metric named in the Grafana dashboard and the Prometheus rules is exported by the code; promtool checks the rules', async () => {
  const exported = new Set(await new UnpruneMetrics().names());
  const rules = parseYaml(readFileSync(join(INFRA, 'prometheus/rules.yml'), 'utf8')) as {
    groups: { rules: { record?: string; expr: string }[] }[];
  };
  const recorded = new Set(rules.groups.flatMap((g) => g.rules.map((r) => r.record).filter((x): x is string => !!x)));
  const exprs: [string, string][] = rules.groups.flatMap((g) =>
    g.rules.map((r) => [`rules.yml ${r.record ?? 'alert'}`, r.expr] as [string, string]),
  );
  for (const f of readdirSync(join(INFRA, 'grafana/dashboards'))) {
    const dash = JSON.parse(readFileSync(join(INFRA, 'grafana/dashboards', f), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
      templating: { list: { query: string }[] };
    };
    for (const p of dash.panels) for (const t of p.targets) exprs.push([`${f} "${p.title}"`, t.expr]);
    for (const v of dash.templating.list)
      exprs.push([`${f} $variable`, v.query.replace(/^label_values\(([^,]+),.*$/, '$1')]);
  }
  assert.ok(exprs.length >= 20);
  const unknown = exprs.flatMap(([where, e]) =>
    metricNames(e)
      .filter((n) => !exported.has(n) && !recorded.has(n))
      .map((n) => `${where}: ${n}`),
  );
  assert.deepEqual(unknown, []);
  // the checker itself: a misspelt name is caught
  assert.deepEqual(metricNames('sum by (kind) (rate(unprune_stage_totl{kind="x"}[5m]))'), ['unprune_stage_totl']);
  execFileSync(
    ensureDebianTool('/usr/bin/promtool', 'prometheus'),
    ['check', 'rules', join(INFRA, 'prometheus/rules.yml')],
    { stdio: 'pipe' },
  );
});

test('infra/docker-compose.yml passes docker-compose config', () => {
  const compose = ensureDebianTool('/usr/bin/docker-compose', 'docker-compose');
  execFileSync(compose, ['-f', join(INFRA, 'docker-compose.yml'), 'config', '-q'], { stdio: 'pipe' });
  const services = Object.keys(
    (parseYaml(readFileSync(join(INFRA, 'docker-compose.yml'), 'utf8')) as { services: object }).services,
  );
  for (const s of [
    'temporal',
    'temporal-ui',
    'postgresql',
    'minio',
    'minio-setup',
    'prometheus',
    'grafana',
    'worker-gpu',
    'worker-cpu',
  ])
    assert.ok(services.includes(s), s);
});

let s3: S3Server;
test(
  'a sweep stored on radosgw through --store s3://…: awscli lists and downloads manifests and blobs whose sha256 match',
  { timeout: 600_000 },
  async () => {
    s3 = await startS3();
    try {
      const r = unprune(['run', TINY, '--store', 's3://unprune-it/sweeps', '--workers', '2'], s3.env);
      assert.equal(r.status, 0, r.stderr);
      const aws = ensureDebianTool('/usr/bin/aws', 'awscli');
      const env = {
        ...process.env,
        AWS_ACCESS_KEY_ID: s3.env.UNPRUNE_S3_ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY: s3.env.UNPRUNE_S3_SECRET_KEY,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
      };
      const endpoint = ['--endpoint-url', s3.env.UNPRUNE_S3_ENDPOINT];
      const listing = execFileSync(aws, ['s3', 'ls', '--recursive', 's3://unprune-it/sweeps/', ...endpoint], {
        env,
        encoding: 'utf8',
      });
      const manifests = listing.split('\n').filter((l) => l.endsWith('/manifest.json'));
      assert.equal(manifests.filter((l) => l.includes('/stages/') && !l.includes('checkpoint')).length, TINY_STAGES);
      const dir = tmp();
      execFileSync(aws, ['s3', 'cp', '--recursive', '--quiet', 's3://unprune-it/sweeps/stages/', dir, ...endpoint], {
        env,
      });
      let blobs = 0;
      for (const kind of readdirSync(dir))
        for (const key of readdirSync(join(dir, kind))) {
          const m = JSON.parse(readFileSync(join(dir, kind, key, 'manifest.json'), 'utf8')) as {
            blobs: Record<string, { sha256: string; size: number }>;
          };
          for (const [name, e] of Object.entries(m.blobs)) {
            const bytes = readFileSync(join(dir, kind, key, name));
            assert.equal(bytes.length, e.size, `${kind}/${key}/${name}`);
            assert.equal(createHash('sha256').update(bytes).digest('hex'), e.sha256, `${kind}/${key}/${name}`);
            blobs++;
          }
        }
      console.log(`# awscli downloaded ${manifests.length} manifests and ${blobs} blobs; every sha256 matches`);
      assert.ok(listing.includes('sweeps/sweeps/tiny-') && listing.includes('rows.jsonl'));
    } finally {
      await s3.stop();
    }
  },
);
