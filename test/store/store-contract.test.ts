// One contract, two stores: the filesystem store and the S3 store against a real S3 server (Ceph radosgw, started
// by infra/scripts/radosgw.sh). Both must behave identically for everything the engines rely on.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ArtifactStore, MANIFEST, openStore } from '../../store/artifact-store.js';
import { StoreError, type BlobStore } from '../../store/blob-store.js';
import { encodeIndices, encodeMask, encodeWeights, decodeWeights } from '../../store/codec.js';
import { FsBlobStore } from '../../store/fs.js';
import { S3_TIMEOUT_SECONDS, S3BlobStore, s3SettingsFromUrl } from '../../store/s3.js';
import { startS3, type S3Server } from '../helpers/radosgw.js';

const bytes = (...v: number[]) => Uint8Array.from(v);
const meta = { params: { a: 1 }, inputs: { train: 'k0' }, libraries: { test: '1' } };

function contract(name: string, make: () => Promise<BlobStore>) {
  describe(`${name} store contract`, () => {
    let blobs: BlobStore;
    let store: ArtifactStore;
    before(async () => {
      blobs = await make();
      store = new ArtifactStore(blobs);
    });

    test('objects: put, get, overwrite, list by prefix (sorted), remove; missing reads as null', async () => {
      assert.equal(await blobs.get('a/missing.bin'), null);
      await blobs.put('a/x/2.bin', bytes(1, 2, 3));
      await blobs.put('a/x/1.bin', bytes());
      await blobs.put('b/1.bin', bytes(9));
      assert.deepEqual(await blobs.get('a/x/2.bin'), bytes(1, 2, 3));
      assert.deepEqual(await blobs.get('a/x/1.bin'), bytes());
      await blobs.put('a/x/2.bin', bytes(4, 5));
      assert.deepEqual(await blobs.get('a/x/2.bin'), bytes(4, 5));
      assert.deepEqual(await blobs.list('a/'), ['a/x/1.bin', 'a/x/2.bin']);
      assert.deepEqual(await blobs.list('nothing/'), []);
      await blobs.remove('a/x/2.bin');
      await blobs.remove('a/x/never-existed.bin');
      assert.equal(await blobs.get('a/x/2.bin'), null);
      assert.deepEqual(await blobs.list('a/'), ['a/x/1.bin']);
    });

    test('a 3 MB object round-trips', async () => {
      const big = Uint8Array.from({ length: 3 * 1024 * 1024 + 7 }, (_, i) => (i * 31) & 255);
      await blobs.put('big/blob.bin', big);
      assert.deepEqual(await blobs.get('big/blob.bin'), big);
    });

    test('paths that escape the root are refused', async () => {
      for (const p of ['../x', '/abs', 'a//b', 'a/./b', ''])
        await assert.rejects(() => blobs.put(p, bytes(1)), /invalid object path/);
    });

    test('stages: blobs then manifest; done only with the manifest; verified reads', async () => {
      const w = { 'l.w#1': Float32Array.from([1, 2, 3]) };
      const mask = { layers: [{ name: 'l.w#1', shape: [3], keep: bytes(1, 0, 1) }] };
      assert.equal(await store.isDone('prune', 'k1'), false);
      // A crash between blobs and manifest leaves a stage that is not done.
      await blobs.put('stages/prune/k1/weights.bin', encodeWeights(w));
      assert.equal(await store.isDone('prune', 'k1'), false);
      assert.equal(await store.readStage('prune', 'k1'), null);
      const m = await store.writeStage(
        'prune',
        'k1',
        { 'weights.bin': encodeWeights(w), 'mask.bin': encodeMask(mask) },
        meta,
      );
      assert.equal(await store.isDone('prune', 'k1'), true);
      assert.deepEqual(Object.keys(m.blobs).sort(), ['mask.bin', 'weights.bin']);
      const rec = await store.readStage('prune', 'k1');
      assert.ok(rec);
      assert.deepEqual(decodeWeights(rec.blobs['weights.bin']!), w);
      assert.deepEqual(rec.manifest.params, meta.params);
      // Idempotent: writing the same stage again gives the same manifest and bytes.
      const again = await store.writeStage(
        'prune',
        'k1',
        { 'weights.bin': encodeWeights(w), 'mask.bin': encodeMask(mask) },
        meta,
      );
      assert.deepEqual(again, m);
      assert.deepEqual(await blobs.list('stages/prune/k1/'), [
        'stages/prune/k1/manifest.json',
        'stages/prune/k1/mask.bin',
        'stages/prune/k1/weights.bin',
      ]);
    });

    test('a corrupted blob or manifest reads as missing, never as data', async () => {
      await store.writeStage('forget', 'k2', { 'indices.bin': encodeIndices([3, 1, 4]) }, meta);
      assert.ok(await store.readStage('forget', 'k2'));
      const good = (await blobs.get('stages/forget/k2/indices.bin'))!;
      const flipped = good.slice();
      flipped[flipped.length - 1]! ^= 1; // same size, different content
      await blobs.put('stages/forget/k2/indices.bin', flipped);
      assert.equal(await store.readBlob('forget', 'k2', 'indices.bin'), null);
      assert.equal(await store.readStage('forget', 'k2'), null);
      await blobs.put('stages/forget/k2/indices.bin', good.subarray(0, 5)); // truncated
      assert.equal(await store.isDone('forget', 'k2'), false);
      await blobs.put('stages/forget/k2/indices.bin', good);
      assert.ok(await store.readStage('forget', 'k2'));
      await blobs.put(`stages/forget/k2/${MANIFEST}`, bytes(123, 34)); // torn JSON
      assert.equal(await store.isDone('forget', 'k2'), false);
      assert.equal(await store.readStage('forget', 'k2'), null);
      await store.removeStage('forget', 'k2');
      assert.deepEqual(await blobs.list('stages/forget/k2/'), []);
    });

    test('text objects (rows, specs)', async () => {
      await store.putText('sweeps/s1/rows.jsonl', '{"a":1}\n');
      assert.equal(await store.getText('sweeps/s1/rows.jsonl'), '{"a":1}\n');
      assert.equal(await store.getText('sweeps/none/rows.jsonl'), null);
    });
  });
}

const fsRoot = mkdtempSync(join(tmpdir(), 'unprune-fs-store-'));
contract('filesystem', async () => new FsBlobStore(fsRoot));

test('filesystem store leaves no temp files behind', () => {
  const all = readdirSync(fsRoot, { recursive: true }).map(String);
  assert.ok(all.length > 0);
  assert.ok(
    all.every((f) => !f.includes('.tmp-')),
    all.join(', '),
  );
});

test('filesystem store writes into a folder removed since its last write there (it makes it again)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'unprune-fs-store-'));
  const blobs = new FsBlobStore(root);
  await blobs.put('stages/train/k/a.bin', bytes(1, 2));
  rmSync(join(root, 'stages/train'), { recursive: true });
  await blobs.put('stages/train/k/b.bin', bytes(3));
  assert.deepEqual(await blobs.list('stages/'), ['stages/train/k/b.bin']);
  assert.deepEqual(await blobs.get('stages/train/k/b.bin'), bytes(3));
  rmSync(root, { recursive: true });
});

let server: S3Server;
before(async () => {
  server = await startS3();
});
after(async () => {
  await server?.stop();
});
contract(
  'S3 (Ceph radosgw)',
  async () => new S3BlobStore(s3SettingsFromUrl('s3://unprune-contract/some/prefix', server.env)),
);

test('--store addresses: s3:// needs the endpoint and keys; anything else is a folder', () => {
  assert.throws(() => s3SettingsFromUrl('s3://bucket/p', {}), /needs UNPRUNE_S3_ENDPOINT, UNPRUNE_S3_ACCESS_KEY/);
  assert.throws(() => s3SettingsFromUrl('s3://B!/p', {}), /not an s3:\/\/bucket\/prefix address/);
  assert.equal(openStore(fsRoot).location, fsRoot);
});

test('an S3 server that accepts connections and never answers: each operation fails after its deadline', async () => {
  // A stalled server (a full Ceph OSD blocks every write this way): without a deadline a stage waits for ever.
  const silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as AddressInfo;
  const env = {
    UNPRUNE_S3_ENDPOINT: `http://127.0.0.1:${port}`,
    UNPRUNE_S3_ACCESS_KEY: 'a',
    UNPRUNE_S3_SECRET_KEY: 'b',
  };
  const store = new S3BlobStore(s3SettingsFromUrl('s3://stalled/p', { ...env, UNPRUNE_S3_TIMEOUT_SECONDS: '1' }));
  try {
    const start = performance.now();
    await assert.rejects(store.get('x.bin'), (err: Error) => {
      assert.ok(err instanceof StoreError);
      assert.match(err.message, /S3 GET s3:\/\/stalled\/p\/x\.bin failed .*no answer within 1 s/);
      return true;
    });
    await assert.rejects(store.put('x.bin', new Uint8Array(4)), /S3 PUT .*no answer within 1 s/);
    assert.ok(performance.now() - start < 5000);
    assert.equal(s3SettingsFromUrl('s3://bucket/p', env).timeoutSeconds, S3_TIMEOUT_SECONDS);
  } finally {
    silent.closeAllConnections();
    silent.close();
  }
});
