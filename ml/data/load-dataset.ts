// One entry point for every data set, by name.
import { loadCifar10 } from './cifar10.js';
import type { DatasetName } from '../catalog.js';
import type { Dataset, LoadOptions } from './dataset.js';
import { loadFashionMnist } from './fashion-mnist.js';
import { loadMnist } from './mnist.js';
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
