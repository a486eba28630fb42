/**
 * Keras 2 full-model HDF5 (`model.save("x.h5")`; keras/src/legacy/saving/legacy_h5_format.py
 * `save_model_to_hdf5`): the root attribute `model_config` holds the model's JSON, the group
 * `model_weights` its weights in the layout of keras2-layout.ts.
 */
import type * as tf from '@tensorflow/tfjs';
import { resolve } from 'node:path';
import { ModelLoadError } from '../../engine/model-loader.js';
import { modelWithWeights } from './build-model.js';
import { childGroup, openHdf5, stringAttr } from './hdf5.js';
import { readKeras2Layers } from './keras2-layout.js';
import { tfjsTopology } from './topology.js';

export async function loadKerasH5(path: string): Promise<tf.LayersModel> {
  const source = resolve(path);
  const file = await openHdf5(source);
  try {
    const configText = stringAttr(file, 'model_config');
    if (configText === undefined) {
      throw new ModelLoadError(
        `${source} holds weights only (no 'model_config' attribute), as Keras application weight files do: load it into one of the project's architectures with --arch NAME --weights ${path} (run config: model: {arch: NAME, weights: ${path}})`,
      );
    }
    let config: unknown;
    try {
      config = JSON.parse(configText);
    } catch (e) {
      throw new ModelLoadError(`${source}: the 'model_config' attribute is not valid JSON (${(e as Error).message})`);
    }
    const weights = childGroup(file, 'model_weights');
    if (!weights) throw new ModelLoadError(`${source} has a model_config but no 'model_weights' group; save the model with its weights`);
    const layers = readKeras2Layers(weights, source);
    return await modelWithWeights(tfjsTopology(config, source), layers, source);
  } finally {
    file.close();
  }
}
