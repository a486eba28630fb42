/**
 * Keras application weight files (`vgg16_weights_tf_dim_ordering_tf_kernels.h5`, …): weights only,
 * in the Keras 2 layout at the root of the file (keras2-layout.ts), loaded into the project's own
 * builder of that architecture (architectures/), whose layers carry Keras' names.
 */
import type * as tf from '@tensorflow/tfjs';
import { resolve } from 'node:path';
import { architectureBuilder } from '../../architectures/index.js';
import { ModelLoadError } from '../../engine/model-loader.js';
import { childGroup, openHdf5, stringAttr } from './hdf5.js';
import { readKeras2Layers } from './keras2-layout.js';
import { assignLayerWeights } from './layer-weights.js';

/** Loads the weight file at `path` into an existing model (shapes checked layer by layer). */
export async function loadWeightsInto(model: tf.LayersModel, path: string): Promise<void> {
  const source = resolve(path);
  const file = await openHdf5(source);
  try {
    // A full-model save keeps the same layout under model_weights/.
    const group = (stringAttr(file, 'model_config') !== undefined && childGroup(file, 'model_weights')) || file;
    assignLayerWeights(model, readKeras2Layers(group, source), source);
  } finally {
    file.close();
  }
}

/** Builds architecture `arch` (vgg16, vgg19, resnet50, densenet121, inceptionv3) and fills it from `weightsPath`. */
export async function loadApplicationWeights(arch: string, weightsPath: string): Promise<tf.LayersModel> {
  let build;
  try {
    build = architectureBuilder(arch);
  } catch (e) {
    throw new ModelLoadError(`model {arch: ${arch}, weights: ${weightsPath}}: ${(e as Error).message}`);
  }
  const model = build();
  try {
    await loadWeightsInto(model, weightsPath);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
