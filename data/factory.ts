import type { RunConfig } from '../pipeline/config.js';
import { readClassFile } from '../pipeline/explain-classes.js';
import { DIGITS_PAIR_DEFAULT_COUNT, digitsPairDataset } from './digits-pair.js';
import { folderDataset } from './folder.js';
import { loadImageNetClasses, loadSynsetMapping, type ImageNetClasses } from './imagenet-classes.js';
import { imagenetDataset } from './imagenet.js';
import type { DatasetReader } from './types.js';

/** Builds the dataset reader a run config names (in the main thread and in every worker). */
export function datasetFromConfig(config: RunConfig): DatasetReader {
  const d = config.dataset;
  const m = config.model;
  // Photo datasets are decoded to RGB; the presets that take one channel are for digits only.
  const image = { size: m.size, geometry: m.geometry, preset: m.preprocess, channels: 3 as const };
  switch (d.kind) {
    case 'digits-pair':
      return digitsPairDataset({ split: d.split, seed: d.seed, count: d.count ?? DIGITS_PAIR_DEFAULT_COUNT });
    case 'imagenet':
      return imagenetDataset({ ...image, imagesDir: d.images, annotations: d.annotations ?? { kind: 'none' }, classes: classesFor(config, d.synsets) });
    case 'folder':
      return folderDataset({ ...image, dir: d.images, recursive: true, classes: classesFor(config, d.synsets) });
  }
}

/** The model's class order: the dataset's own synset mapping, else the model's class list. */
function classesFor(config: RunConfig, synsets: string | undefined): ImageNetClasses {
  if (synsets) return loadSynsetMapping(synsets);
  const spec = config.model.classes;
  return spec === 'imagenet' ? loadImageNetClasses() : readClassFile(spec);
}
