/**
 * Builds the dataset reader a run names (in the main thread and in every worker). Errors are
 * plain `Error`s whose message starts with the run-config field at fault (`model.classes: …`,
 * `dataset.synsets: …`), so any caller (CLI, pipeline, library) can show them as they are.
 */
import { classListFromSpec } from './class-file.js';
import { DIGITS_PAIR_DEFAULT_COUNT, digitsPairDataset } from './digits-pair.js';
import { folderDataset } from './folder.js';
import { loadSynsetMapping, type ImageNetClasses } from './imagenet-classes.js';
import { imagenetDataset } from './imagenet.js';
import type { DatasetRunSpec } from './spec.js';
import type { DatasetReader } from './types.js';

export function datasetFromConfig(config: DatasetRunSpec): DatasetReader {
  const d = config.dataset;
  const m = config.model;
  // Photo datasets are decoded to RGB; the presets that take one channel are for digits only.
  const image = {
    size: m.size,
    geometry: m.geometry,
    preset: m.preprocess,
    channels: 3 as const,
    ...(m.interpolation !== undefined && { interpolation: m.interpolation }),
    ...(m.antialias !== undefined && { antialias: m.antialias }),
  };
  switch (d.kind) {
    case 'digits-pair':
      return digitsPairDataset({ split: d.split, seed: d.seed, count: d.count ?? DIGITS_PAIR_DEFAULT_COUNT });
    case 'imagenet':
      return imagenetDataset({
        ...image,
        ...(d.maxPixels !== undefined && { maxPixels: d.maxPixels }),
        maxPixelsSetting: 'dataset.maxPixels',
        imagesDir: d.images,
        annotations: d.annotations ?? { kind: 'none' },
        classes: classesFor(m.classes, d.synsets),
      });
    case 'folder':
      return folderDataset({
        ...image,
        ...(d.maxPixels !== undefined && { maxPixels: d.maxPixels }),
        maxPixelsSetting: 'dataset.maxPixels',
        dir: d.images,
        recursive: true,
        classes: classesFor(m.classes, d.synsets),
      });
  }
}

/** The model's class order: the dataset's own synset mapping, else the model's class list. */
function classesFor(spec: string, synsets: string | undefined): ImageNetClasses {
  if (synsets) return named('dataset.synsets', () => loadSynsetMapping(synsets));
  return named('model.classes', () => classListFromSpec(spec));
}

function named<T>(field: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw new Error(`${field}: ${(e as Error).message}`);
  }
}
