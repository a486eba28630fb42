/** A TF.js LayersModel built from a normalised Keras topology (weights initialised, then replaced by the caller). */
import * as tf from '@tensorflow/tfjs';
import { checkSupportedLayers, ModelLoadError } from '../../engine/model-loader.js';
import { assignLayerWeights, type FileLayer } from './layer-weights.js';
import { configLayers, type Obj } from './topology.js';

export async function modelFromTopology(topology: Obj, source: string): Promise<tf.LayersModel> {
  // The same refusal, with the same message, as a TF.js model.json with these layers gets.
  const layers = configLayers(topology).map((l) => ({
    class_name: String(l['class_name']),
    config: (l['config'] ?? {}) as Record<string, unknown> & { name?: string },
  }));
  checkSupportedLayers(layers, source);
  try {
    return await tf.models.modelFromJSON({ modelTopology: topology as tf.io.ModelJSON['modelTopology'] } as tf.io.ModelJSON);
  } catch (e) {
    throw new ModelLoadError(`cannot build the model in ${source}: ${(e as Error).message}`);
  }
}

/** The model of `topology` holding the file's layer weights (shapes checked; nothing leaks on a mismatch). */
export async function modelWithWeights(topology: Obj, fileLayers: FileLayer[], source: string): Promise<tf.LayersModel> {
  const model = await modelFromTopology(topology, source);
  try {
    assignLayerWeights(model, fileLayers, source);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
