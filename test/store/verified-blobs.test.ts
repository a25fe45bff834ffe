// A stage process's store keeps the blobs it has verified (openStore's verifiedCacheBytes): a repeated read is
// served without reading or hashing the object again, but only while the manifest names the same bytes; the
// budget evicts the least recently used; without a budget every read is checked again.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ArtifactStore } from '../../store/artifact-store.js';
import { FsBlobStore } from '../../store/fs.js';

const root = mkdtempSync(join(tmpdir(), 'unprune-verified-'));
after(() => rmSync(root, { recursive: true, force: true }));
const meta = { params: {}, inputs: {}, libraries: {} };

/** A filesystem store that counts its object reads. */
function counting(dir: string, cacheBytes: number) {
  const blobs = new FsBlobStore(join(root, dir));
  let gets = 0;
  const get = blobs.get.bind(blobs);
  blobs.get = (path: string) => (path.endsWith('manifest.json') || gets++, get(path));
  const corrupt: string[] = [];
  const store = new ArtifactStore(blobs, (path) => corrupt.push(path), cacheBytes);
  return {
    store,
    file: (key: string, name: string) => join(root, dir, 'stages', 'k', key, name),
    gets: () => gets,
    corrupt,
  };
}

test('a verified blob is read from the object store once; the same bytes come back after', async () => {
  const { store, gets } = counting('once', 1024);
  await store.writeStage('k', 'a', { 'w.bin': Uint8Array.of(1, 2, 3) }, meta);
  assert.deepEqual(await store.readBlob('k', 'a', 'w.bin'), Uint8Array.of(1, 2, 3));
  assert.deepEqual(await store.readBlob('k', 'a', 'w.bin'), Uint8Array.of(1, 2, 3));
  assert.deepEqual((await store.readStage('k', 'a'))?.blobs['w.bin'], Uint8Array.of(1, 2, 3));
  assert.equal(gets(), 1);
});

test('a stage rewritten with other bytes misses (the manifest names another checksum)', async () => {
  const { store, gets } = counting('rewritten', 1024);
  await store.writeStage('k', 'a', { 'w.bin': Uint8Array.of(1, 2, 3) }, meta);
  await store.readBlob('k', 'a', 'w.bin');
  await store.writeStage('k', 'a', { 'w.bin': Uint8Array.of(7, 8, 9) }, meta);
  assert.deepEqual(await store.readBlob('k', 'a', 'w.bin'), Uint8Array.of(7, 8, 9));
  assert.equal(gets(), 2);
});

test('the budget keeps the most recently used blobs; one larger than a quarter of it is never kept', async () => {
  const { store, gets } = counting('budget', 400);
  const of = (v: number, n = 100) => new Uint8Array(n).fill(v);
  for (const k of ['a', 'b', 'c', 'd', 'e']) await store.writeStage('k', k, { 'w.bin': of(k.charCodeAt(0)) }, meta);
  await store.writeStage('k', 'big', { 'w.bin': of(1, 101) }, meta);
  for (const k of ['a', 'b', 'c', 'd']) await store.readBlob('k', k, 'w.bin'); // 4 reads, all kept (400 bytes)
  await store.readBlob('k', 'a', 'w.bin'); // a hit, and now the most recent
  await store.readBlob('k', 'e', 'w.bin'); // evicts b, the least recently used
  assert.equal(gets(), 5);
  for (const k of ['a', 'c', 'd', 'e']) assert.deepEqual(await store.readBlob('k', k, 'w.bin'), of(k.charCodeAt(0)));
  assert.equal(gets(), 5, 'a, c, d and e were kept');
  await store.readBlob('k', 'b', 'w.bin');
  assert.equal(gets(), 6, 'b was evicted');
  await store.readBlob('k', 'big', 'w.bin');
  await store.readBlob('k', 'big', 'w.bin');
  assert.equal(gets(), 8, 'a blob over a quarter of the budget is read every time');
});

test('kept bytes were verified: a copy damaged after the first read is not used; without a budget it is caught', async () => {
  const kept = counting('damaged-kept', 1024);
  await kept.store.writeStage('k', 'a', { 'w.bin': Uint8Array.of(1, 2, 3) }, meta);
  await kept.store.readBlob('k', 'a', 'w.bin');
  writeFileSync(kept.file('a', 'w.bin'), 'not the weights');
  assert.deepEqual(await kept.store.readBlob('k', 'a', 'w.bin'), Uint8Array.of(1, 2, 3), 'the verified bytes');
  assert.deepEqual(kept.corrupt, []);

  const plain = counting('damaged-plain', 0);
  await plain.store.writeStage('k', 'a', { 'w.bin': Uint8Array.of(1, 2, 3) }, meta);
  await plain.store.readBlob('k', 'a', 'w.bin');
  writeFileSync(plain.file('a', 'w.bin'), 'not the weights');
  assert.equal(await plain.store.readBlob('k', 'a', 'w.bin'), null);
  assert.equal(plain.corrupt.length, 1);
  assert.equal(await plain.store.isDone('k', 'a'), false);
});
