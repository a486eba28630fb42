import type * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { buildLayersModel, nameLayers } from './build.js';
import { planOnnxModel } from './convert.js';
import { modelDirOf, readOnnxModel } from './proto.js';
import { setLayerAliases, setMaxPoolPads } from '../layer-aliases.js';

export { OnnxLoadError } from './proto.js';
export { SUPPORTED_OPS } from './convert.js';

/** What an ONNX model file becomes: the LayersModel and the extra names of its layers. */
export interface OnnxImport {
  model: tf.LayersModel;
  /** Keras layer name → ONNX node names, output names and PyTorch module paths that mean its output. */
  aliases: Map<string, string[]>;
  /** Names of the ZeroPadding2D layers that stand for a MaxPool's −∞ padding (docs/PROTOCOL.md §7). */
  maxPoolPads: Set<string>;
}

/**
 * Loads an ONNX model (e.g. from torch.onnx.export) as a TF.js LayersModel in NHWC layout, with
 * its external data files (if any) read from the model's folder.
 */
export function importOnnx(path: string): OnnxImport {
  const file = resolve(path);
  const plan = planOnnxModel(readOnnxModel(file), file, modelDirOf(file));
  nameLayers(plan);
  const model = buildLayersModel(plan, basename(file).replace(/\.onnx$/i, ''));
  const aliases = new Map<string, string[]>();
  for (const [alias, i] of plan.aliases) {
    const name = plan.layers[i]!.name!;
    if (alias === name) continue;
    aliases.set(name, [...(aliases.get(name) ?? []), alias]);
  }
  const maxPoolPads = new Set(plan.layers.filter((l) => l.maxPoolPad).map((l) => l.name!));
  return { model, aliases, maxPoolPads };
}

/** The registered ONNX format (formats/index.ts). */
export const ONNX_FORMAT = {
  name: 'onnx',
  extensions: ['.onnx'],
  load: async (path: string): Promise<tf.LayersModel> => {
    const { model, aliases, maxPoolPads } = importOnnx(path);
    setLayerAliases(model, aliases);
    setMaxPoolPads(model, maxPoolPads);
    return model;
  },
} as const;

/**
 * What is wrong with an ONNX model's files, without building the model (the run checks this
 * before any worker starts): the file must decode, and every external data file it names must
 * exist next to it. Null when nothing is.
 */
/** The external data files an .onnx file's initializers name (absolute paths, each once), for hashing a run's model. */
export function onnxExternalDataFiles(path: string): string[] {
  const file = resolve(path);
  const dir = modelDirOf(file);
  const files = new Set<string>();
  for (const t of readOnnxModel(file).graph?.initializer ?? []) {
    const location = (t.externalData ?? []).find((e) => e.key === 'location')?.value;
    if (location) files.add(join(dir, location));
  }
  return [...files];
}

export function onnxFileProblem(path: string): string | null {
  const file = resolve(path);
  let model;
  try {
    model = readOnnxModel(file);
  } catch (e) {
    return (e as Error).message;
  }
  const dir = modelDirOf(file);
  const missing = new Set<string>();
  for (const t of model.graph?.initializer ?? []) {
    const location = (t.externalData ?? []).find((e) => e.key === 'location')?.value;
    if (location && !existsSync(join(dir, location))) missing.add(location);
  }
  return missing.size > 0
    ? `external data file(s) ${[...missing].join(', ')} named by ${file} are missing; keep them next to the .onnx file`
    : null;
}
