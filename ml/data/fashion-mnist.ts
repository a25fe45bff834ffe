// Fashion-MNIST from a directory of IDX or IDX.gz files; by default where Debian's `dataset-fashion-mnist` puts them.
import type { Dataset, LoadOptions } from './dataset.js';
import { checkIdxFiles, loadIdxDataset } from './mnist.js';

export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

const HOW_TO_GET =
  'Install it with `apt-get install dataset-fashion-mnist` (Debian), or put the four IDX files in a folder and ' +
  'set UNPRUNE_FASHION_MNIST_DIR (or the dataset `dir` field) to it.';

export function loadFashionMnist(opts: LoadOptions = {}, dir?: string): Dataset {
  return loadIdxDataset('fashion-mnist', dir ?? FASHION_MNIST_DEFAULT_DIR, opts, HOW_TO_GET);
}

export function checkFashionMnist(dir?: string): void {
  checkIdxFiles(dir ?? FASHION_MNIST_DEFAULT_DIR, HOW_TO_GET);
}
