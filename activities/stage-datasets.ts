// The data sets stages train and evaluate on: loaded once per process (keyed by what they contain), and the
// architecture and the training view built over them.
import { fullView, type Dataset, type DataView } from '../ml/data/dataset.js';
import { loadDataset } from '../ml/data/load-dataset.js';
import type { ArchName } from '../ml/catalog.js';
import { buildArch } from '../ml/models/architectures.js';
import type { ArchDefinition } from '../ml/models/network.js';
import type { DatasetRef, StageNode } from '../sweep/stage-kinds.js';
import type { StageContext } from './stage-context.js';

/** Data sets kept per process, most recently used last: a long-lived worker's memory stays bounded. */
const datasets = new Map<string, Dataset>();
const KEPT_DATASETS = 4;

/** Loads (once per process, while it stays among the recently used) the data set a stage names. */
export function stageDataset(ref: DatasetRef, runtime?: StageNode['runtime'], ctx?: StageContext): Dataset {
  const id = JSON.stringify(ref);
  let ds = datasets.get(id);
  datasets.delete(id);
  if (!ds) {
    ds = loadDataset({
      name: ref.name,
      train: ref.train ?? undefined,
      test: ref.test ?? undefined,
      subsetSeed: ref.subsetSeed,
      dir: runtime?.datasetDir ?? ctx?.datasetDirs?.[ref.name],
    });
  }
  datasets.set(id, ds);
  while (datasets.size > KEPT_DATASETS) datasets.delete(datasets.keys().next().value!);
  return ds;
}

export function stageArch(ds: Dataset, arch: string): ArchDefinition {
  return buildArch(arch as ArchName, ds.inputShape, ds.numClasses);
}

export function trainView(ds: Dataset): DataView {
  return fullView(ds, 'train');
}
