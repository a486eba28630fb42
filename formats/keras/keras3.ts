/**
 * Keras 3 `.keras` archives (keras/src/saving/saving_lib.py `_save_model_to_fileobj`): a zip of
 * `config.json` (the serialised model), `metadata.json` and `model.weights.h5`, whose variables
 * sit at `layers/<path>/vars/<i>`. `<path>` is not the layer's name: `_save_container_state` names
 * each layer of `model.layers` by the snake-case of its class, with a per-class counter in layer
 * order (`conv2d`, `conv2d_1`, …; `naming.to_snake_case`), so the paths are rebuilt from the
 * config's layer list the same way.
 */
import type * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ModelLoadError } from '../../engine/model-loader.js';
import { modelWithWeights } from './build-model.js';
import { childDataset, childGroup, openHdf5, readFloat32, type Group } from './hdf5.js';
import type { FileLayer } from './layer-weights.js';
import { configLayers, tfjsTopology } from './topology.js';

/** keras/src/utils/naming.py `to_snake_case` (Conv2D → conv2d, BatchNormalization → batch_normalization, ReLU → re_lu). */
export function kerasSnakeCase(className: string): string {
  return className
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** The storage path saving_lib gives each layer, in layer order: `layers/conv2d`, `layers/conv2d_1`, … */
export function keras3LayerPaths(classNames: readonly string[]): string[] {
  const used = new Map<string, number>();
  return classNames.map((cls) => {
    const base = kerasSnakeCase(cls);
    const n = used.get(base);
    used.set(base, n === undefined ? 0 : n + 1);
    return `layers/${n === undefined ? base : `${base}_${n + 1}`}`;
  });
}

function readArchive(source: string): { config: unknown; weights: Uint8Array } {
  if (!existsSync(source)) throw new ModelLoadError(`model file not found: ${source}`);
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(readFileSync(source), { filter: (f) => f.name === 'config.json' || f.name === 'model.weights.h5' });
  } catch (e) {
    throw new ModelLoadError(`${source} is not a readable zip archive (${(e as Error).message}); Keras 3 .keras files are zips`);
  }
  const configBytes = entries['config.json'];
  const weights = entries['model.weights.h5'];
  if (!configBytes) throw new ModelLoadError(`${source} has no config.json; not a Keras 3 .keras archive`);
  if (!weights)
    throw new ModelLoadError(
      `${source} has no model.weights.h5 (saved with weights_format="npz"? only the h5 weights format is supported)`,
    );
  try {
    return { config: JSON.parse(new TextDecoder().decode(configBytes)), weights };
  } catch (e) {
    throw new ModelLoadError(`${source}: config.json is not valid JSON (${(e as Error).message})`);
  }
}

function readVars(file: Group, layerName: string, path: string, source: string): FileLayer {
  // A Sequential model's `layers` leave out its InputLayer, which then has no entry at all; a
  // layer that needs weights and has none is reported by assignLayerWeights, naming it.
  const vars = childGroup(file, `${path}/vars`);
  const count = vars ? vars.keys().length : 0;
  const datasets = Array.from({ length: count }, (_, i) => {
    const ds = childDataset(vars!, String(i));
    if (!ds) throw new ModelLoadError(`${source}: '${path}/vars/${i}' (layer '${layerName}') is missing or not a dataset`);
    return ds;
  });
  return {
    name: layerName,
    weights: datasets.map((ds, i) => ({ name: `${path}/vars/${i}`, shape: ds.shape ?? [] })),
    read: () => datasets.map((ds, i) => readFloat32(ds, `${source}: ${path}/vars/${i}`)),
  };
}

export async function loadKerasArchive(path: string): Promise<tf.LayersModel> {
  const source = resolve(path);
  const { config, weights } = readArchive(source);
  const topology = tfjsTopology(config, source);
  const layers = configLayers(topology);
  const names = layers.map((l) => String((l['config'] as Record<string, unknown>)?.['name'] ?? l['name']));
  const paths = keras3LayerPaths(layers.map((l) => String(l['class_name'])));
  // h5wasm's Node build reads files from disk, so the embedded weights go through a temporary file.
  const dir = mkdtempSync(join(tmpdir(), 'sglrp-keras-'));
  try {
    const h5Path = join(dir, 'model.weights.h5');
    writeFileSync(h5Path, weights);
    const file = await openHdf5(h5Path);
    try {
      const fileLayers = names.map((name, i) => readVars(file, name, paths[i]!, source));
      return await modelWithWeights(topology, fileLayers, source);
    } finally {
      file.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
