// Stage artifacts on top of a blob store: `stages/<kind>/<key>/` holds the blobs and a manifest.json written
// LAST with the sha256 and size of every blob. A stage is done iff its manifest exists and its blobs check out;
// a checksum mismatch reads as "missing" (the stage is recomputed), never as data.
import { createHash } from 'node:crypto';
import { StoreError, type BlobStore } from './blob-store.js';
import { FsBlobStore } from './fs.js';
import { MeteredBlobStore, type StoreListener } from './metered-blob-store.js';
import { S3BlobStore, s3SettingsFromUrl } from './s3.js';

export const MANIFEST = 'manifest.json';

export interface BlobEntry {
  sha256: string;
  size: number;
}

export interface StageManifest {
  format: 1;
  kind: string;
  key: string;
  /** The stage's canonical parameters and input keys (what the key hashes). */
  params: unknown;
  inputs: Record<string, string>;
  blobs: Record<string, BlobEntry>;
  /** Library versions that produced the blobs (tfjs, backend, unprune). */
  libraries: Record<string, string>;
  /** Facts about the run that are not content (wall time, backend); excluded from comparisons. */
  run?: Record<string, unknown>;
}

export interface StageRecord {
  manifest: StageManifest;
  blobs: Record<string, Uint8Array>;
}

export const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Told of every artifact that exists but fails its check (wrong size or checksum, unreadable manifest). */
export type CorruptionListener = (path: string, reason: string) => void;

/**
 * Blobs this process has read and verified, by path and checksum, up to a budget of bytes (least recently used
 * first out). A stage process reads the same inputs stage after stage (a quickstart worker read a training's 1 MB
 * init 30 times: ~127 of its ~180 MB read were repeats, each read again and hashed again). A hit needs the manifest's
 * checksum to name the same bytes, so a recomputed stage with other content misses. The bytes are shared between
 * callers: the codecs copy out of them, and nothing may write into them.
 */
class VerifiedBlobs {
  private readonly entries = new Map<string, Uint8Array>(); // oldest use first
  private bytes = 0;

  constructor(private readonly budget: number) {}

  get(id: string): Uint8Array | undefined {
    const b = this.entries.get(id);
    if (b) {
      this.entries.delete(id);
      this.entries.set(id, b);
    }
    return b;
  }

  add(id: string, b: Uint8Array): void {
    if (b.byteLength > this.budget / 4 || this.entries.has(id)) return;
    this.entries.set(id, b);
    this.bytes += b.byteLength;
    for (const [oldest, ob] of this.entries) {
      if (this.bytes <= this.budget) break;
      this.entries.delete(oldest);
      this.bytes -= ob.byteLength;
    }
  }
}

export class ArtifactStore {
  private readonly verified?: VerifiedBlobs;

  constructor(
    readonly blobs: BlobStore,
    private readonly onCorrupt?: CorruptionListener,
    /** Keep verified blobs this many bytes (a stage process's inputs); 0: read and check every time. */
    verifiedCacheBytes = 0,
  ) {
    if (verifiedCacheBytes > 0) this.verified = new VerifiedBlobs(verifiedCacheBytes);
  }

  get location(): string {
    return this.blobs.location;
  }

  stageDir(kind: string, key: string): string {
    return `stages/${kind}/${key}`;
  }

  /** Writes the blobs, then the manifest. Rewriting a stage with the same bytes is harmless (idempotent). */
  async writeStage(
    kind: string,
    key: string,
    blobs: Record<string, Uint8Array>,
    meta: Pick<StageManifest, 'params' | 'inputs' | 'libraries' | 'run'>,
  ): Promise<StageManifest> {
    const dir = this.stageDir(kind, key);
    const entries: Record<string, BlobEntry> = {};
    for (const [name, bytes] of Object.entries(blobs)) {
      if (name === MANIFEST || name.includes('/')) throw new StoreError(`invalid blob name "${name}"`);
      await this.blobs.put(`${dir}/${name}`, bytes);
      entries[name] = { sha256: sha256Hex(bytes), size: bytes.byteLength };
    }
    const manifest: StageManifest = { format: 1, kind, key, ...meta, blobs: entries };
    await this.blobs.put(`${dir}/${MANIFEST}`, new TextEncoder().encode(JSON.stringify(manifest, null, 1)));
    return manifest;
  }

  async readManifest(kind: string, key: string): Promise<StageManifest | null> {
    const bytes = await this.blobs.get(`${this.stageDir(kind, key)}/${MANIFEST}`);
    if (!bytes) return null;
    try {
      const m = JSON.parse(new TextDecoder().decode(bytes)) as StageManifest;
      if (m && m.format === 1 && m.kind === kind && m.key === key && m.blobs) return m;
      this.onCorrupt?.(`${this.stageDir(kind, key)}/${MANIFEST}`, 'manifest does not describe this stage');
    } catch {
      this.onCorrupt?.(`${this.stageDir(kind, key)}/${MANIFEST}`, 'manifest is not JSON');
    }
    return null; // a corrupt manifest counts as missing
  }

  /**
   * Done iff the manifest exists and every blob verifies (size and sha256). A stage that fails the check is not
   * done, so it is recomputed; it is never used as data.
   */
  async isDone(kind: string, key: string): Promise<boolean> {
    const m = await this.readManifest(kind, key);
    if (!m) return false;
    for (const name of Object.keys(m.blobs)) if (!(await this.readBlob(kind, key, name, m))) return false;
    return true;
  }

  /** One blob, verified against the manifest; null when missing or not matching (recompute the stage). */
  async readBlob(kind: string, key: string, name: string, manifest?: StageManifest): Promise<Uint8Array | null> {
    const m = manifest ?? (await this.readManifest(kind, key));
    const entry = m?.blobs[name];
    if (!entry) return null;
    const path = `${this.stageDir(kind, key)}/${name}`;
    const id = `${path}\n${entry.sha256}\n${entry.size}`;
    const known = this.verified?.get(id);
    if (known) return known;
    const bytes = await this.blobs.get(path);
    if (!bytes) {
      this.onCorrupt?.(path, 'blob listed in the manifest is missing');
      return null;
    }
    if (bytes.byteLength !== entry.size) {
      this.onCorrupt?.(path, `size ${bytes.byteLength}, manifest says ${entry.size}`);
      return null;
    }
    if (sha256Hex(bytes) !== entry.sha256) {
      this.onCorrupt?.(path, 'sha256 does not match the manifest');
      return null;
    }
    this.verified?.add(id, bytes);
    return bytes;
  }

  /** The whole stage, every blob verified; null when anything is missing or does not match. */
  async readStage(kind: string, key: string): Promise<StageRecord | null> {
    const manifest = await this.readManifest(kind, key);
    if (!manifest) return null;
    const blobs: Record<string, Uint8Array> = {};
    for (const name of Object.keys(manifest.blobs)) {
      const b = await this.readBlob(kind, key, name, manifest);
      if (!b) return null;
      blobs[name] = b;
    }
    return { manifest, blobs };
  }

  /** Forgets a stage (its manifest first, so it reads as missing at once). */
  async removeStage(kind: string, key: string): Promise<void> {
    const dir = this.stageDir(kind, key);
    await this.blobs.remove(`${dir}/${MANIFEST}`);
    for (const p of await this.blobs.list(`${dir}/`)) await this.blobs.remove(p);
  }

  putText(path: string, text: string): Promise<void> {
    return this.blobs.put(path, new TextEncoder().encode(text));
  }

  async getText(path: string): Promise<string | null> {
    const b = await this.blobs.get(path);
    return b ? new TextDecoder().decode(b) : null;
  }
}

export const DEFAULT_STORE = '.unprune';

/** `--store` → a store: `s3://bucket/prefix` (S3 via minio) or a folder (default ./.unprune). */
export function openStore(
  location: string = DEFAULT_STORE,
  listener?: StoreListener,
  onCorrupt?: CorruptionListener,
  verifiedCacheBytes = 0,
): ArtifactStore {
  const blobs = location.startsWith('s3://') ? new S3BlobStore(s3SettingsFromUrl(location)) : new FsBlobStore(location);
  return new ArtifactStore(listener ? new MeteredBlobStore(blobs, listener) : blobs, onCorrupt, verifiedCacheBytes);
}

/** The store's kind for metric labels. */
export const storeKind = (location: string) => (location.startsWith('s3://') ? 's3' : 'fs');
