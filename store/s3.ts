// The S3 store through the npm `minio` client (MinIO in a deployment; any S3 server, e.g. Ceph radosgw in tests).
// An S3 PUT is atomic per object, so no temp-and-rename is needed.
import type { Client } from 'minio';
import { checkPath, InvalidStorePathError, StoreError, type BlobStore } from './blob-store.js';

export interface S3Settings {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  prefix: string;
  region?: string;
  /** Seconds an S3 request may go unanswered before it fails (a full or stalled server hangs requests for ever). */
  timeoutSeconds: number;
}

/** The default deadline of one S3 request: generous for a large checkpoint, finite for a server that stalls. */
export const S3_TIMEOUT_SECONDS = 120;

/**
 * Settings from `s3://bucket/prefix` and UNPRUNE_S3_ENDPOINT / UNPRUNE_S3_ACCESS_KEY / UNPRUNE_S3_SECRET_KEY
 * (UNPRUNE_S3_REGION, UNPRUNE_S3_TIMEOUT_SECONDS optional).
 */
export function s3SettingsFromUrl(url: string, env: NodeJS.ProcessEnv = process.env): S3Settings {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m)
    throw new InvalidStorePathError(
      `"${url}" is not an s3://bucket/prefix address (bucket: 3-63 lower-case letters, digits, "." or "-")`,
    );
  const missing = ['UNPRUNE_S3_ENDPOINT', 'UNPRUNE_S3_ACCESS_KEY', 'UNPRUNE_S3_SECRET_KEY'].filter((k) => !env[k]);
  if (missing.length) throw new InvalidStorePathError(`--store ${url} needs ${missing.join(', ')} in the environment`);
  return {
    endpoint: env.UNPRUNE_S3_ENDPOINT!,
    accessKey: env.UNPRUNE_S3_ACCESS_KEY!,
    secretKey: env.UNPRUNE_S3_SECRET_KEY!,
    bucket: m[1]!,
    prefix: (m[2] ?? '').replace(/\/+$/, ''),
    region: env.UNPRUNE_S3_REGION,
    timeoutSeconds:
      Number(env.UNPRUNE_S3_TIMEOUT_SECONDS) > 0 ? Number(env.UNPRUNE_S3_TIMEOUT_SECONDS) : S3_TIMEOUT_SECONDS,
  };
}

// minio and its XML stack take ~0.2 s to import; a process whose store is a folder (every local worker by
// default, every CLI command on one) never loads them.
type Minio = typeof import('minio');
let minio: Minio | undefined;
const loadMinio = async (): Promise<Minio> => (minio ??= await import('minio'));

/** An S3 error response with one of these codes (only minio's own errors carry them, so minio is loaded). */
const isS3Error = (err: unknown, codes: RegExp) =>
  minio !== undefined && err instanceof minio.S3Error && codes.test(err.code ?? '');
const isMissing = (err: unknown) => isS3Error(err, /^(NoSuchKey|NotFound|NoSuchBucket)$/);

export class S3BlobStore implements BlobStore {
  private readonly clientReady: Promise<Client>;
  private bucketReady: Promise<void> | undefined;

  constructor(private readonly settings: S3Settings) {
    const u = new URL(settings.endpoint);
    this.clientReady = loadMinio().then(
      ({ Client }) =>
        new Client({
          endPoint: u.hostname,
          port: u.port ? Number(u.port) : undefined,
          useSSL: u.protocol === 'https:',
          accessKey: settings.accessKey,
          secretKey: settings.secretKey,
          region: settings.region ?? 'us-east-1',
          pathStyle: true,
        }),
    );
    this.clientReady.catch(() => undefined); // reported by the first operation that awaits it
  }

  get location(): string {
    return `s3://${this.settings.bucket}${this.settings.prefix ? `/${this.settings.prefix}` : ''}`;
  }

  private object(path: string): string {
    checkPath(path);
    return this.settings.prefix ? `${this.settings.prefix}/${path}` : path;
  }

  /** `work` or a StoreError after the deadline: the stage fails (and is retried) instead of waiting for ever. */
  private async deadline<T>(op: string, path: string, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `no answer within ${this.settings.timeoutSeconds} s (is the server down, stalled or full? UNPRUNE_S3_TIMEOUT_SECONDS sets the limit)`,
            ),
          ),
        this.settings.timeoutSeconds * 1000,
      );
    });
    work.catch(() => undefined); // a late failure after the deadline has nobody to tell
    try {
      return await Promise.race([work, late]);
    } catch (err) {
      this.fail(op, path, err);
    } finally {
      clearTimeout(timer);
    }
  }

  private fail(op: string, path: string, err: unknown): never {
    throw new StoreError(
      `S3 ${op} ${this.location}/${path} failed (${this.settings.endpoint}): ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }

  /** Creates the bucket on first write if it does not exist. */
  private ensureBucket(): Promise<void> {
    this.bucketReady ??= (async () => {
      const { bucket, region } = this.settings;
      const client = await this.clientReady;
      if (!(await client.bucketExists(bucket))) {
        try {
          await client.makeBucket(bucket, region ?? 'us-east-1');
        } catch (err) {
          if (!isS3Error(err, /BucketAlreadyOwnedByYou|BucketAlreadyExists/)) throw err;
        }
      }
    })().catch((err) => {
      this.bucketReady = undefined;
      throw err;
    });
    return this.bucketReady;
  }

  async put(path: string, bytes: Uint8Array): Promise<void> {
    await this.deadline(
      'PUT',
      path,
      (async () => {
        await this.ensureBucket();
        await (
          await this.clientReady
        ).putObject(
          this.settings.bucket,
          this.object(path),
          Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
          bytes.byteLength,
        );
      })(),
    );
  }

  async get(path: string): Promise<Uint8Array | null> {
    return this.deadline(
      'GET',
      path,
      (async () => {
        try {
          const stream = await (await this.clientReady).getObject(this.settings.bucket, this.object(path));
          const chunks: Buffer[] = [];
          for await (const c of stream) chunks.push(c as Buffer);
          const b = Buffer.concat(chunks);
          return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
        } catch (err) {
          if (isMissing(err)) return null;
          throw err;
        }
      })(),
    );
  }

  async list(prefix: string): Promise<string[]> {
    const full = this.settings.prefix ? `${this.settings.prefix}/${prefix}` : prefix;
    const strip = this.settings.prefix ? this.settings.prefix.length + 1 : 0;
    return this.deadline(
      'LIST',
      prefix,
      (async () => {
        try {
          const out: string[] = [];
          for await (const o of (await this.clientReady).listObjectsV2(this.settings.bucket, full, true)) {
            const name = (o as { name?: string }).name;
            if (name) out.push(name.slice(strip));
          }
          return out.sort();
        } catch (err) {
          if (isMissing(err)) return [];
          throw err;
        }
      })(),
    );
  }

  async remove(path: string): Promise<void> {
    await this.deadline(
      'DELETE',
      path,
      (async () => {
        try {
          await (await this.clientReady).removeObject(this.settings.bucket, this.object(path));
        } catch (err) {
          if (!isMissing(err)) throw err;
        }
      })(),
    );
  }
}
