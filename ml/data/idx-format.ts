// The IDX format of MNIST and Fashion-MNIST (optionally gzip-compressed): a magic number giving the element type
// and rank, the dimension sizes, then the data.
import { PermanentError } from '../errors.js';
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
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      throw new DataFileError(path, `corrupt gzip data (${(err as Error).message})`);
    }
  }
  if (buf.length < 4) throw new DataFileError(path, `too short for an IDX header (${buf.length} bytes)`);
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
  if (buf.length - headerLen < size) {
    throw new DataFileError(
      path,
      `truncated: header promises ${size} bytes of data, file has ${buf.length - headerLen}`,
    );
  }
  return { dims, data: buf.subarray(headerLen, headerLen + size) };
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}
