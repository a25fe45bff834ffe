// The S3 store through the npm `minio` client (MinIO in a deployment; any S3 server, e.g. Ceph radosgw in tests).
// An S3 PUT is atomic per object, so no temp-and-rename is needed.
import { Client, S3Error } from 'minio';
import { checkPath, InvalidStorePathError, StoreError, type BlobStore } from './blob-store.js';

export interface S3Settings {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  prefix: string;
  region?: string;
}

/** Settings from `s3://bucket/prefix` and UNPRUNE_S3_ENDPOINT / UNPRUNE_S3_ACCESS_KEY / UNPRUNE_S3_SECRET_KEY. */
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
  };
}

const isMissing = (err: unknown) =>
  err instanceof S3Error && (err.code === 'NoSuchKey' || err.code === 'NotFound' || err.code === 'NoSuchBucket');

export class S3BlobStore implements BlobStore {
  private readonly client: Client;
  private bucketReady: Promise<void> | undefined;

  constructor(private readonly settings: S3Settings) {
    const u = new URL(settings.endpoint);
    this.client = new Client({
      endPoint: u.hostname,
      port: u.port ? Number(u.port) : undefined,
      useSSL: u.protocol === 'https:',
      accessKey: settings.accessKey,
      secretKey: settings.secretKey,
      region: settings.region ?? 'us-east-1',
      pathStyle: true,
    });
  }

  get location(): string {
    return `s3://${this.settings.bucket}${this.settings.prefix ? `/${this.settings.prefix}` : ''}`;
  }

  private object(path: string): string {
    checkPath(path);
    return this.settings.prefix ? `${this.settings.prefix}/${path}` : path;
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
      if (!(await this.client.bucketExists(bucket))) {
        try {
          await this.client.makeBucket(bucket, region ?? 'us-east-1');
        } catch (err) {
          if (!(err instanceof S3Error && /BucketAlreadyOwnedByYou|BucketAlreadyExists/.test(err.code ?? '')))
            throw err;
        }
      }
    })().catch((err) => {
      this.bucketReady = undefined;
      throw err;
    });
    return this.bucketReady;
  }

  async put(path: string, bytes: Uint8Array): Promise<void> {
    try {
      await this.ensureBucket();
      await this.client.putObject(
        this.settings.bucket,
        this.object(path),
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        bytes.byteLength,
      );
    } catch (err) {
      this.fail('PUT', path, err);
    }
  }

  async get(path: string): Promise<Uint8Array | null> {
    try {
      const stream = await this.client.getObject(this.settings.bucket, this.object(path));
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      const b = Buffer.concat(chunks);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (err) {
      if (isMissing(err)) return null;
      this.fail('GET', path, err);
    }
  }

  async size(path: string): Promise<number | null> {
    try {
      return (await this.client.statObject(this.settings.bucket, this.object(path))).size;
    } catch (err) {
      if (isMissing(err)) return null;
      this.fail('HEAD', path, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const full = this.settings.prefix ? `${this.settings.prefix}/${prefix}` : prefix;
    const strip = this.settings.prefix ? this.settings.prefix.length + 1 : 0;
    try {
      const out: string[] = [];
      for await (const o of this.client.listObjectsV2(this.settings.bucket, full, true)) {
        const name = (o as { name?: string }).name;
        if (name) out.push(name.slice(strip));
      }
      return out.sort();
    } catch (err) {
      if (isMissing(err)) return [];
      this.fail('LIST', prefix, err);
    }
  }

  async remove(path: string): Promise<void> {
    try {
      await this.client.removeObject(this.settings.bucket, this.object(path));
    } catch (err) {
      if (!isMissing(err)) this.fail('DELETE', path, err);
    }
  }
}
