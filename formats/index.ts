import type * as tf from '@tensorflow/tfjs';
import { extname } from 'node:path';
import { loadLayersModelFromFile } from '../engine/model-loader.js';
import { ONNX_FORMAT } from './onnx/index.js';
import { KERAS_H5, KERAS_V3, loadApplicationWeights } from './keras/index.js';

/**
 * Where a model comes from. Every model format is turned into a TF.js LayersModel (NHWC, Keras
 * layer vocabulary) at load time, so that one path — engine/model-loader.ts → engine graph →
 * canonizer → relevance rules — serves every format, and `sglrp convert` is a save.
 */
export type ModelSource =
  /** A model file: TF.js `model.json`, ONNX `.onnx`, Keras `.h5` (full model) or `.keras`. */
  | { path: string }
  /** One of the project's own architecture builders, filled from a Keras application weight file. */
  | { arch: string; weights: string };

/** One model file format: how to recognise its files and how to load one as a LayersModel. */
export interface ModelFormat {
  /** Short name recorded in outputs (`tfjs`, `onnx`, `keras-h5`, …). */
  name: string;
  /** File extensions (lower case, with the dot) this format reads. */
  extensions: readonly string[];
  load(path: string): Promise<tf.LayersModel>;
}

const TFJS: ModelFormat = { name: 'tfjs', extensions: ['.json'], load: loadLayersModelFromFile };

/** Registered formats; a new format is one module plus one line here. */
export const MODEL_FORMATS: readonly ModelFormat[] = [TFJS, ONNX_FORMAT, KERAS_H5, KERAS_V3];

/** The format that reads `path`, by extension (TF.js for anything unknown, which then says what it expected). */
export function formatOf(path: string): ModelFormat {
  const ext = extname(path).toLowerCase();
  return MODEL_FORMATS.find((f) => f.extensions.includes(ext)) ?? TFJS;
}

/** Loads any supported model as a LayersModel. */
export async function loadModelSource(source: ModelSource | string): Promise<tf.LayersModel> {
  const s = typeof source === 'string' ? { path: source } : source;
  if ('arch' in s) return loadApplicationWeights(s.arch, s.weights);
  return formatOf(s.path).load(s.path);
}
