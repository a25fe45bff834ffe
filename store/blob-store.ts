// The one interface both stores implement: named byte objects under a root. Each put is atomic (a reader sees the
// old object, the new one, or none, never a torn one); stage semantics (manifests, checksums) sit on top of it.
export interface BlobStore {
  /** Where the store lives, for messages: a folder or s3://bucket/prefix. */
  readonly location: string;
  put(path: string, bytes: Uint8Array): Promise<void>;
  /** The object's bytes, or null if it does not exist. */
  get(path: string): Promise<Uint8Array | null>;
  /** Paths under a prefix (recursive), sorted. */
  list(prefix: string): Promise<string[]>;
  remove(path: string): Promise<void>;
}

/** The store could not be reached or refused an operation (not: an object is missing). */
export class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** A path or store address that is not acceptable (bad input, not a store failure). */
export class InvalidStorePathError extends StoreError {
  /** Bad input: retrying cannot help (ml/errors.ts's taxonomy). */
  readonly permanent = true;
  constructor(message: string) {
    super(message);
    this.name = 'InvalidStorePathError';
  }
}

/** Object paths are relative, '/'-separated, without '..' or empty segments. */
export function checkPath(path: string): string {
  if (
    !path ||
    path.startsWith('/') ||
    path.includes('\0') ||
    path.includes('\\') ||
    path.split('/').some((p) => p === '' || p === '.' || p === '..')
  )
    throw new InvalidStorePathError(`invalid object path ${JSON.stringify(path)}`);
  return path;
}
