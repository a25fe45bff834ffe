// Store faults: the S3 gateway dies mid-sweep and comes back; blobs and manifests are corrupted on disk and in S3;
// two sweeps sharing stages run at once on one store; the disk fills up or turns read-only.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { Client } from 'minio';
import { openStore } from '../../store/artifact-store.js';
import { unprune, unpruneAsync } from '../helpers/cli.js';
import { startS3 } from '../helpers/radosgw.js';
import {
  baselineRun,
  content,
  manifests,
  injectingFaults,
  recordFigures,
  rowsOf,
  summary,
  tempFiles,
  TINY,
  tmp,
} from '../helpers/sweep-runs.js';

let baseline: ReturnType<typeof content>;
let total = 0;
before(() => {
  ({ total, rows: baseline } = baselineRun());
});

function waitFor(child: ReturnType<typeof unpruneAsync>) {
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { exit, stderr: () => stderr };
}

test(
  'the S3 gateway dies mid-sweep and restarts: stages retry with backoff, the error names the endpoint, the sweep completes',
  { timeout: 600_000 },
  async () => {
    injectingFaults('S3 gateway down and back', 1);
    const s3 = await startS3();
    try {
      const child = unpruneAsync(['run', TINY, '--store', 's3://unprune-faults/sweep', '--workers', '2'], {
        ...s3.env,
        // A progress line per finished stage, which this test counts.
        UNPRUNE_PROGRESS_SECONDS: '0',
      });
      const run = waitFor(child);
      while ((run.stderr().match(/^\[\s*\d+\/\d+\]/gm) ?? []).length < 30) await new Promise((r) => setTimeout(r, 50));
      await s3.stopGateway();
      await new Promise((r) => setTimeout(r, 3000));
      await s3.startGateway();
      assert.equal(await run.exit, 0, run.stderr());
      const retries = run
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('retry '));
      console.log(`# while the gateway was down: ${retries.length} retries, e.g. ${retries[0]}`);
      assert.ok(retries.length > 0, run.stderr());
      const endpoint = s3.env.UNPRUNE_S3_ENDPOINT.replace('http://', '');
      assert.ok(retries.every((l) => /^retry \d+\/4 in \d+ s: /.test(l)));
      assert.ok(
        retries.some((l) => l.includes(endpoint)),
        'the error names the endpoint',
      );
      const text = await (async () => {
        process.env.UNPRUNE_S3_ENDPOINT = s3.env.UNPRUNE_S3_ENDPOINT;
        process.env.UNPRUNE_S3_ACCESS_KEY = s3.env.UNPRUNE_S3_ACCESS_KEY;
        process.env.UNPRUNE_S3_SECRET_KEY = s3.env.UNPRUNE_S3_SECRET_KEY;
        const st = openStore('s3://unprune-faults/sweep');
        const ids = [...new Set((await st.blobs.list('sweeps/')).map((p) => p.split('/')[1]))];
        return st.getText(`sweeps/${ids[0]}/rows.jsonl`);
      })();
      const got = text!
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      assert.deepEqual(content(got), baseline);
      recordFigures('S3 gateway down and back', {
        faultsSurvived: 1,
        rowsLost: baseline.length - got.length,
      });
    } finally {
      delete process.env.UNPRUNE_S3_ENDPOINT;
      await s3.stop();
    }
  },
);

test('a flipped byte, a truncated blob, a missing blob, a manifest that is not JSON: detected, logged, recomputed; never used', () => {
  injectingFaults('corrupt artifacts (fs)', 4);
  const store = tmp('corrupt');
  assert.equal(unprune(['run', TINY, '--store', store, '--workers', '2']).status, 0);
  const all = manifests(store);
  const pick = (kind: string, i = 0) => all.filter((m) => m.kind === kind)[i]!;
  const dir = (m: { kind: string; key: string }) => join(store, 'stages', m.kind, m.key);
  const flipped = pick('prune');
  const w = readFileSync(join(dir(flipped), 'weights.bin'));
  w[w.length - 3]! ^= 0x10;
  writeFileSync(join(dir(flipped), 'weights.bin'), w);
  truncateSync(join(dir(pick('forget')), 'indices.bin'), 10);
  rmSync(join(dir(pick('unlearn')), 'weights.bin'));
  writeFileSync(join(dir(pick('evaluate')), 'manifest.json'), '{"format": 1, "blobs": ');
  const r = unprune(['run', TINY, '--store', store, '--workers', '2', '--metrics-port', '0']);
  assert.equal(r.status, 0, r.stderr);
  const reports = r.stderr.split('\n').filter((l) => l.startsWith('unprune: corrupt artifact'));
  console.log(`# ${reports.join('\n# ')}`);
  assert.equal(reports.length, 4, r.stderr);
  assert.match(r.stderr, /sha256 does not match/);
  assert.match(r.stderr, /size 10, manifest says/);
  assert.match(r.stderr, /blob listed in the manifest is missing/);
  assert.match(r.stderr, /manifest is not JSON/);
  assert.deepEqual(summary(r.stderr), { total, run: 4, cached: total - 4, failed: 0 });
  assert.deepEqual(content(rowsOf(store)), baseline);
  recordFigures('corrupt artifacts (fs)', { faultsSurvived: 4, corruptReadsUsed: 0, rowsLost: 0 });
});

test('a flipped byte in S3 is detected and recomputed', { timeout: 600_000 }, async () => {
  injectingFaults('corrupt artifact (S3)', 1);
  const s3 = await startS3();
  try {
    const loc = 's3://unprune-corrupt/x';
    assert.equal(unprune(['run', TINY, '--store', loc, '--workers', '2'], s3.env).status, 0);
    const u = new URL(s3.env.UNPRUNE_S3_ENDPOINT);
    const client = new Client({
      endPoint: u.hostname,
      port: Number(u.port),
      useSSL: false,
      accessKey: s3.env.UNPRUNE_S3_ACCESS_KEY,
      secretKey: s3.env.UNPRUNE_S3_SECRET_KEY,
      pathStyle: true,
    });
    const names: string[] = [];
    for await (const o of client.listObjectsV2('unprune-corrupt', 'x/stages/gold/', true))
      names.push((o as { name: string }).name);
    const target = names.find((n) => n.endsWith('/mask.bin'))!;
    const chunks: Buffer[] = [];
    for await (const c of await client.getObject('unprune-corrupt', target)) chunks.push(c as Buffer);
    const bytes = Buffer.concat(chunks);
    bytes[bytes.length - 1]! ^= 1;
    await client.putObject('unprune-corrupt', target, bytes);
    const r = unprune(['run', TINY, '--store', loc, '--workers', '2'], s3.env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      /corrupt artifact stages\/gold\/.*\/mask\.bin \(sha256 does not match the manifest\); recomputing it/,
    );
    assert.equal(summary(r.stderr).run, 1);
    recordFigures('corrupt artifact (S3)', { faultsSurvived: 1, corruptReadsUsed: 0 });
  } finally {
    await s3.stop();
  }
});

test('two sweeps sharing stages run at once on one store: both complete, every artifact verifies, nothing torn', async () => {
  injectingFaults('two sweeps at once', 1);
  const store = tmp('concurrent');
  const specB = join(store, '..', `${store.split('/').pop()}-b.yaml`);
  writeFileSync(
    specB,
    readFileSync(TINY, 'utf8')
      .replace('name: tiny', 'name: tiny-b')
      .replace(
        '  - { method: ga, epochs: 1, lr: 0.001 }',
        '  - { method: ga, epochs: 1, lr: 0.001 }\n  - { method: rl, epochs: 1 }',
      ),
  );
  const a = waitFor(unpruneAsync(['run', TINY, '--store', store, '--workers', '2']));
  const b = waitFor(unpruneAsync(['run', specB, '--store', store, '--workers', '2']));
  assert.equal(await a.exit, 0, a.stderr());
  assert.equal(await b.exit, 0, b.stderr());
  const sa = summary(a.stderr());
  const sb = summary(b.stderr());
  const distinct = manifests(store).length;
  const twice = sa.run + sb.run - distinct;
  console.log(
    `# sweep A ran ${sa.run}, B ran ${sb.run}, ${distinct} distinct stages: ${twice} computed by both (identical bytes)`,
  );
  const st = openStore(store);
  for (const m of manifests(store)) assert.ok(await st.readStage(m.kind, m.key), `${m.kind}/${m.key}`);
  assert.deepEqual(tempFiles(store), []);
  const idA =
    manifests(store).length &&
    execFileSync('ls', [join(store, 'sweeps')], { encoding: 'utf8' })
      .split('\n')
      .find((d) => d.startsWith('tiny-') && !d.startsWith('tiny-b'))!;
  assert.deepEqual(content(rowsOf(store, idA as string)), baseline);
  recordFigures('two sweeps at once', { faultsSurvived: 1, rowsLost: 0, stagesRunTwice: twice });
});

test('disk full and a read-only file system: clear errors naming the path; nothing partial left as complete', async () => {
  injectingFaults('disk full, read-only store', 2);
  const mnt = tmp('diskfull');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
  try {
    const full = unprune(['run', TINY, '--store', join(mnt, 'store'), '--workers', '2', '--retries', '0']);
    assert.equal(full.status, 1, full.stderr);
    assert.ok(!full.stderr.includes('    at '), 'no stack trace');
    assert.match(
      full.stderr,
      /failed: \w+ (\([^)]*\) )?\S+: cannot write \/.*\/stages\/.*: ENOSPC: no space left on device/,
    );
    const st = openStore(join(mnt, 'store'));
    const present = manifests(join(mnt, 'store'));
    for (const m of present) assert.ok(await st.readStage(m.kind, m.key), `${m.kind}/${m.key} verifies`);
    assert.deepEqual(tempFiles(join(mnt, 'store')), []);
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
    const ro = unprune(['run', TINY, '--store', join(mnt, 'store'), '--workers', '2', '--retries', '0']);
    assert.notEqual(ro.status, 0);
    assert.match(ro.stderr, /cannot write \/.*: EROFS: read-only file system/);
    console.log(
      `# disk full: ${present.length} complete stages kept, all verify; read-only: "${/cannot write [^\n]*/.exec(ro.stderr)![0].slice(0, 120)}…"`,
    );
    recordFigures('disk full, read-only store', { faultsSurvived: 2, corruptReadsUsed: 0 });
  } finally {
    execFileSync('umount', ['-l', mnt]);
  }
});
