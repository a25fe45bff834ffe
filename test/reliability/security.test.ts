// Security: credentials never leak into outputs, artifacts or metrics; store paths cannot escape the store root; the
// S3 bucket is private; /metrics binds to loopback; specs are data, never code.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from 'minio';
import { openStore } from '../../store/artifact-store.js';
import { serveMetrics, UnpruneMetrics } from '../../worker/metrics.js';
import { unprune, unpruneAsync } from '../helpers/cli.js';
import { startS3 } from '../helpers/radosgw.js';
import { recordFigures, TINY, tmp } from '../helpers/sweep-runs.js';

test(
  'S3 keys and a Temporal API key never appear in logs, errors, results, manifests, blobs or metrics; the bucket is private',
  { timeout: 600_000 },
  async () => {
    const s3 = await startS3();
    try {
      const secrets = [s3.env.UNPRUNE_S3_ACCESS_KEY, s3.env.UNPRUNE_S3_SECRET_KEY];
      const child = unpruneAsync(
        [
          'run',
          TINY,
          '--store',
          's3://unprune-sec/p',
          '--workers',
          '2',
          '--format',
          'json',
          '--metrics-port',
          '0',
          '--metrics-linger',
          '5',
        ],
        s3.env,
      );
      let stdout = '';
      let stderr = '';
      let metrics = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      let done = false;
      void exited.then(() => (done = true));
      // Keep the newest exposition (the last ones are served while the run lingers after finishing).
      while (!done) {
        const url = /metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(stderr)?.[1];
        if (url)
          metrics = await fetch(url)
            .then((r) => r.text())
            .catch(() => metrics);
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.equal(await exited, 0, stderr);
      assert.match(metrics, /unprune_stages_total\{/);

      const u = new URL(s3.env.UNPRUNE_S3_ENDPOINT);
      const client = new Client({
        endPoint: u.hostname,
        port: Number(u.port),
        useSSL: false,
        accessKey: secrets[0]!,
        secretKey: secrets[1]!,
        pathStyle: true,
      });
      const objects: string[] = [];
      for await (const o of client.listObjectsV2('unprune-sec', '', true)) objects.push((o as { name: string }).name);
      let scanned = '';
      for (const name of objects) {
        const chunks: Buffer[] = [];
        for await (const c of await client.getObject('unprune-sec', name)) chunks.push(c as Buffer);
        scanned += Buffer.concat(chunks).toString('latin1');
      }
      // A wrong secret: the error names the endpoint and the problem, not the keys.
      const wrong = unprune(['run', TINY, '--store', 's3://unprune-sec/q', '--retries', '0'], {
        ...s3.env,
        UNPRUNE_S3_SECRET_KEY: 'wrong-secret-value-123',
      });
      assert.notEqual(wrong.status, 0);
      assert.ok(!wrong.stderr.includes('wrong-secret-value-123'));
      // A Temporal API key given on the command line is not echoed either.
      const temporal = unprune([
        'submit',
        TINY,
        '--store',
        's3://b/p',
        '--address',
        '127.0.0.1:9',
        '--api-key',
        'sk-TEST-TEMPORAL-KEY-42',
      ]);
      assert.equal(temporal.status, 2);
      const outputs = {
        stdout,
        stderr,
        metrics,
        artifacts: scanned,
        wrongStderr: wrong.stderr,
        temporal: temporal.stdout + temporal.stderr,
      };
      for (const [what, text] of Object.entries(outputs))
        for (const secret of [...secrets, 'sk-TEST-TEMPORAL-KEY-42'])
          assert.ok(!text.includes(secret), `${what} contains a credential`);
      console.log(
        `# scanned stdout, stderr, /metrics, ${objects.length} stored objects and two error outputs: no credential`,
      );

      // Private bucket: anonymous requests are refused, and there is no bucket policy.
      const anon = await fetch(
        `${s3.env.UNPRUNE_S3_ENDPOINT}/unprune-sec/${objects.find((o) => o.endsWith('rows.jsonl'))}`,
      );
      assert.equal(anon.status, 403);
      await assert.rejects(client.getBucketPolicy('unprune-sec'), /NoSuchBucketPolicy|policy/i);
      recordFigures('credentials and bucket privacy', { badInputs: 2 });
    } finally {
      await s3.stop();
    }
  },
);

test('store paths cannot escape the root: .., absolute paths, NUL and backslashes are refused', async () => {
  const root = tmp('paths');
  const store = openStore(root);
  const bad = ['../outside', '/etc/passwd', 'a/../../b', 'a\u0000b', 'a\\..\\b', '', 'a//b'];
  for (const p of bad)
    await assert.rejects(store.blobs.put(p, new Uint8Array(1)), /invalid object path/, JSON.stringify(p));
  await assert.rejects(store.readManifest('..', 'x'), /invalid object path/);
  await assert.rejects(
    store.writeStage('train', 'k', { '../escape.bin': new Uint8Array(1) }, { params: {}, inputs: {}, libraries: {} }),
    /invalid blob name/,
  );
  const r = unprune(['results', '../../no-such-sweep', '--store', root]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /invalid object path/);
  assert.deepEqual(
    readdirSync(join(root, '..')).filter((f) => f === 'escape.bin' || f === 'outside'),
    [],
  );
  recordFigures('path traversal', { badInputs: bad.length + 3 });
});

test('/metrics binds to 127.0.0.1 unless told otherwise', async () => {
  const { server, url } = await serveMetrics(new UnpruneMetrics({ defaultMetrics: false }), 0);
  try {
    assert.equal((server.address() as { address: string }).address, '127.0.0.1');
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  } finally {
    server.close();
  }
});

test('specs are data: no eval, no Function constructor, no dynamic import of anything a spec names', () => {
  const roots = ['sweep', 'cli', 'worker', 'activities', 'workflows', 'store', 'ml'].map(
    (d) => new URL(`../../${d}/`, import.meta.url).pathname,
  );
  const files = roots.flatMap((r) =>
    readdirSync(r, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(r, f)),
  );
  const offenders = files.filter((f) =>
    // The one computed import loads an optional tfjs-node package from a fixed table in ml/backend.ts.
    /\beval\s*\(|new\s+Function\s*\(|\bimport\s*\(\s*[^'"\s]/.test(
      readFileSync(f, 'utf8').replace('import(NODE_PACKAGES[flavour])', ''),
    ),
  );
  assert.deepEqual(offenders, []);
  assert.match(readFileSync(new URL('../../ml/backend.ts', import.meta.url), 'utf8'), /const NODE_PACKAGES[^=]*= \{/);
  assert.ok(files.length > 50);
});
