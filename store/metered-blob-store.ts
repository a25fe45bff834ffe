// A blob store that reports every operation's latency and bytes to a listener (the worker's metrics), without the
// store knowing about metrics.
import type { BlobStore } from './blob-store.js';

export type StoreOp = 'get' | 'put' | 'list' | 'remove';
export type StoreListener = (op: StoreOp, seconds: number, bytes: number) => void;

export class MeteredBlobStore implements BlobStore {
  constructor(
    private readonly inner: BlobStore,
    private readonly listener: StoreListener,
  ) {}

  get location(): string {
    return this.inner.location;
  }

  private async timed<T>(op: StoreOp, run: () => Promise<T>, bytes: (r: T) => number): Promise<T> {
    const start = performance.now();
    const r = await run();
    this.listener(op, (performance.now() - start) / 1000, bytes(r));
    return r;
  }

  put(path: string, data: Uint8Array): Promise<void> {
    return this.timed(
      'put',
      () => this.inner.put(path, data),
      () => data.byteLength,
    );
  }
  get(path: string): Promise<Uint8Array | null> {
    return this.timed(
      'get',
      () => this.inner.get(path),
      (r) => r?.byteLength ?? 0,
    );
  }
  list(prefix: string): Promise<string[]> {
    return this.timed(
      'list',
      () => this.inner.list(prefix),
      () => 0,
    );
  }
  remove(path: string): Promise<void> {
    return this.timed(
      'remove',
      () => this.inner.remove(path),
      () => 0,
    );
  }
}
