// The IDX format of MNIST and Fashion-MNIST (optionally gzip-compressed): a magic number giving the element type
// and rank, the dimension sizes, then the data.
import { PermanentError } from '../errors.js';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export class DataFileError extends PermanentError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'DataFileError';
  }
}

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parses IDX bytes holding unsigned bytes (type 0x08), the only type the image data sets use. */
export function parseIdx(bytes: Uint8Array, path: string, expectedRank?: number): IdxArray {
  let buf = bytes;
  if (isGzip(buf)) {
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      throw new DataFileError(path, `corrupt gzip data (${(err as Error).message})`);
    }
  }
  const { dims, headerLen, size } = parseIdxHeader(buf, path, expectedRank, buf.length);
  return { dims, data: buf.subarray(headerLen, headerLen + size) };
}

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** An IDX header from the file's first bytes, checked against the file's length. */
function parseIdxHeader(buf: Uint8Array, path: string, expectedRank: number | undefined, fileLength: number) {
  if (fileLength < 4) throw new DataFileError(path, `too short for an IDX header (${fileLength} bytes)`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new DataFileError(path, `wrong magic number: not an IDX file (first bytes ${hex(buf.subarray(0, 4))})`);
  }
  if (buf[2] !== 0x08) {
    throw new DataFileError(
      path,
      `unsupported IDX element type 0x${buf[2]!.toString(16)} (expected 0x08, unsigned byte)`,
    );
  }
  const rank = buf[3]!;
  if (expectedRank !== undefined && rank !== expectedRank) {
    throw new DataFileError(path, `IDX rank ${rank}, expected ${expectedRank}`);
  }
  const headerLen = 4 + 4 * rank;
  if (buf.length < headerLen) throw new DataFileError(path, `truncated IDX header`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  if (fileLength - headerLen < size) {
    throw new DataFileError(
      path,
      `truncated: header promises ${size} bytes of data, file has ${fileLength - headerLen}`,
    );
  }
  return { dims, headerLen, size };
}

/**
 * An IDX file's rows that `pick` chooses from its row count (ascending; null: all), read a megabyte at a time:
 * reading MNIST's 47 MB of training images whole to keep 6,000 rows cost ~0.2 s in every process that loads it
 * (fresh memory is slow to touch on the VMs measured). A gzipped file is read and decompressed whole.
 */
export function readIdxRows(
  path: string,
  expectedRank: number,
  pick: (rows: number) => Int32Array | null,
): IdxArray & { total: number } {
  const fd = openSync(path, 'r');
  try {
    const fileLength = fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(fileLength, 4 + 4 * 255));
    readSync(fd, head, 0, head.length, 0);
    if (isGzip(head)) {
      const whole = parseIdx(readFileSync(path), path, expectedRank);
      const total = whole.dims[0]!;
      const rows = pick(total);
      const width = whole.data.length / Math.max(1, total);
      if (!rows) return { ...whole, total };
      const data = new Uint8Array(rows.length * width);
      rows.forEach((r, i) => data.set(whole.data.subarray(r * width, (r + 1) * width), i * width));
      return { dims: [rows.length, ...whole.dims.slice(1)], data, total };
    }
    const { dims, headerLen, size } = parseIdxHeader(head, path, expectedRank, fileLength);
    const total = dims[0]!;
    const width = size / Math.max(1, total);
    const rows = pick(total);
    if (!rows) {
      const data = new Uint8Array(size);
      readSync(fd, data, 0, size, headerLen);
      return { dims, data, total };
    }
    const data = new Uint8Array(rows.length * width);
    const chunkRows = Math.max(1, Math.floor((1 << 20) / Math.max(1, width)));
    const chunk = Buffer.allocUnsafe(chunkRows * width);
    let i = 0;
    while (i < rows.length) {
      const first = rows[i]!;
      const count = Math.min(chunkRows, total - first);
      readSync(fd, chunk, 0, count * width, headerLen + first * width);
      for (; i < rows.length && rows[i]! < first + count; i++)
        data.set(chunk.subarray((rows[i]! - first) * width, (rows[i]! - first + 1) * width), i * width);
    }
    return { dims: [rows.length, ...dims.slice(1)], data, total };
  } finally {
    closeSync(fd);
  }
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}
