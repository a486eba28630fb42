/** A TF.js LayersModel built from a normalised Keras topology (weights initialised, then replaced by the caller). */
import * as tf from '@tensorflow/tfjs';
import { checkSupportedLayers, ModelLoadError } from '../../engine/model-loader.js';
import { configLayers } from './topology.js';

export async function modelFromTopology(topology: Record<string, unknown>, source: string): Promise<tf.LayersModel> {
  // The same refusal, with the same message, as a TF.js model.json with these layers gets.
  checkSupportedLayers(configLayers(topology as never) as never, source);
  try {
    return await tf.models.modelFromJSON({ modelTopology: topology as tf.io.ModelJSON['modelTopology'] } as tf.io.ModelJSON);
  } catch (e) {
    throw new ModelLoadError(`cannot build the model in ${source}: ${(e as Error).message}`);
  }
}
