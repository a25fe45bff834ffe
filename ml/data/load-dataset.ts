// One entry point for every data set, by name.
import { checkCifar10, loadCifar10 } from './cifar10.js';
import type { DatasetName } from '../catalog.js';
import type { Dataset, LoadOptions } from './dataset.js';
import { checkFashionMnist, loadFashionMnist } from './fashion-mnist.js';
import { checkMnist, DatasetMissingError, loadMnist } from './mnist.js';
import { makeSynthetic } from './synthetic.js';

export interface DatasetRequest extends LoadOptions {
  name: DatasetName;
  /** Folder for data sets read from the file system (Fashion-MNIST, CIFAR-10). */
  dir?: string;
}

export function loadDataset(req: DatasetRequest): Dataset {
  switch (req.name) {
    case 'mnist':
      return loadMnist(req, req.dir);
    case 'fashion-mnist':
      return loadFashionMnist(req, req.dir);
    case 'cifar10':
      return loadCifar10(req, req.dir);
    case 'synthetic':
      return makeSynthetic({ train: req.train, test: req.test, seed: req.subsetSeed });
  }
}

/**
 * Why a data set cannot be loaded (its files are missing), in the words loading it would fail with; null when its
 * files are there. Checks presence only (cheap enough for `validate`); a corrupt file still fails when read.
 */
export function datasetUnavailable(req: Pick<DatasetRequest, 'name' | 'dir'>): string | null {
  try {
    if (req.name === 'mnist') checkMnist(req.dir);
    else if (req.name === 'fashion-mnist') checkFashionMnist(req.dir);
    else if (req.name === 'cifar10') checkCifar10(req.dir);
    return null;
  } catch (err) {
    if (err instanceof DatasetMissingError) return err.message;
    throw err;
  }
}
