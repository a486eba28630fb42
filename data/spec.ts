/**
 * The dataset part of a run: which images, which annotations, and how they become model inputs.
 * data/ owns these shapes; the run config (pipeline/config.ts) validates YAML into them and the
 * factory (data/factory.ts) turns them into a reader, without either side importing the other's
 * internals.
 */
import type { Geometry, Interpolation } from '../io/image.js';
import type { PreprocessPreset } from '../io/preprocess.js';

export type AnnotationsSpec = { kind: 'loc-csv'; path: string } | { kind: 'voc-xml'; dir: string };

export type DatasetSpec =
  /** `maxPixels`: images with more pixels are refused (an errors row), absent = DEFAULT_MAX_PIXELS. */
  | { kind: 'imagenet'; images: string; annotations?: AnnotationsSpec; synsets?: string; maxPixels?: number }
  | { kind: 'folder'; images: string; annotations?: AnnotationsSpec; synsets?: string; maxPixels?: number }
  /** `count` absent = the whole split. */
  | { kind: 'digits-pair'; split: 'test'; seed: number; count?: number };

/** What a reader needs to know about the model's input. */
export interface ModelInputSpec {
  size: number;
  geometry: Geometry;
  preprocess: PreprocessPreset;
  /** 'imagenet' | 'digits' | path of a class-name file (data/class-file.ts). */
  classes: string;
  /** Resampling kernel (io/image.ts); absent = bilinear. */
  interpolation?: Interpolation;
  /** Widen bilinear/bicubic kernels when shrinking (io/image.ts); absent = true. */
  antialias?: boolean;
}

/** The parts of a run config the dataset factory reads (a RunConfig is one). */
export interface DatasetRunSpec {
  dataset: DatasetSpec;
  model: ModelInputSpec;
}
