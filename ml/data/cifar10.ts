// CIFAR-10 from its binary batch files (data_batch_1..5.bin, test_batch.bin) in a user directory. Each record is
// one label byte then 3072 pixel bytes in channel-major (CHW) order; we transpose to HWC.
import { DATASET_FACTS } from '../catalog.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chooseRows, NORMALIZATION, splitFromBytes, type Dataset, type LoadOptions } from './dataset.js';
import { DataFileError } from './idx-format.js';
import { DatasetMissingError } from './mnist.js';

export const CIFAR10_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR10_TEST_FILE = 'test_batch.bin';
const RECORD = 1 + 32 * 32 * 3;
const HOW_TO_GET =
  'CIFAR-10 is not shipped with unprune: download the "CIFAR-10 binary version" on a machine with internet, ' +
  'unpack it, and set UNPRUNE_CIFAR10_DIR (or the dataset `dir` field) to the folder holding data_batch_1.bin.';

function readBatches(dir: string, files: string[]): { pixels: Uint8Array; labels: Uint8Array; rows: number } {
  const parts: Uint8Array[] = [];
  for (const f of files) {
    const path = join(dir, f);
    if (!existsSync(path)) throw new DatasetMissingError(`missing data file ${path}. ${HOW_TO_GET}`);
    const bytes = readFileSync(path);
    if (bytes.length === 0 || bytes.length % RECORD !== 0) {
      throw new DataFileError(path, `size ${bytes.length} is not a whole number of ${RECORD}-byte CIFAR-10 records`);
    }
    parts.push(bytes);
  }
  const rows = parts.reduce((s, p) => s + p.length / RECORD, 0);
  const pixels = new Uint8Array(rows * 3072);
  const labels = new Uint8Array(rows);
  let r = 0;
  for (const p of parts) {
    for (let off = 0; off < p.length; off += RECORD, r++) {
      const label = p[off]!;
      if (label > 9) throw new DataFileError(files.join(','), `record ${r} has label ${label}, expected 0..9`);
      labels[r] = label;
      const out = r * 3072;
      for (let c = 0; c < 3; c++) {
        for (let i = 0; i < 1024; i++) pixels[out + i * 3 + c] = p[off + 1 + c * 1024 + i]!;
      }
    }
  }
  return { pixels, labels, rows };
}

/** Throws the loader's own DatasetMissingError when the folder or its first training and test batches are missing. */
export function checkCifar10(dir?: string): string {
  if (!dir) throw new DatasetMissingError(`CIFAR-10: no folder given. ${HOW_TO_GET}`);
  for (const f of [CIFAR10_TRAIN_FILES[0]!, CIFAR10_TEST_FILE])
    if (!existsSync(join(dir, f))) throw new DatasetMissingError(`missing data file ${join(dir, f)}. ${HOW_TO_GET}`);
  return dir;
}

export function loadCifar10(opts: LoadOptions = {}, dir?: string): Dataset {
  const where = checkCifar10(dir);
  const train = readBatches(
    where,
    CIFAR10_TRAIN_FILES.filter((f, i) => i === 0 || existsSync(join(where, f))),
  );
  const test = readBatches(where, [CIFAR10_TEST_FILE]);
  const norm = opts.normalize === false ? null : NORMALIZATION.cifar10;
  const seed = opts.subsetSeed ?? 0;
  return {
    name: 'cifar10',
    inputShape: [32, 32, 3],
    numClasses: DATASET_FACTS.cifar10.numClasses,
    train: splitFromBytes(train.pixels, train.labels, 3072, chooseRows(train.rows, opts.train, seed, 'train'), norm),
    test: splitFromBytes(test.pixels, test.labels, 3072, chooseRows(test.rows, opts.test, seed + 1, 'test'), norm),
  };
}
