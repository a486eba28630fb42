/** The Keras model formats (formats/index.ts registers them). */
import type { ModelFormat } from '../index.js';
import { loadKerasH5 } from './keras2-h5.js';
import { loadKerasArchive } from './keras3.js';

export { loadApplicationWeights, loadWeightsInto } from './application-weights.js';

/** Keras 2 `model.save("x.h5")`: topology and weights in one HDF5 file. */
export const KERAS_H5: ModelFormat = { name: 'keras-h5', extensions: ['.h5', '.hdf5'], load: loadKerasH5 };

/** Keras 3 `model.save("x.keras")`: a zip of config.json, metadata.json and model.weights.h5. */
export const KERAS_V3: ModelFormat = { name: 'keras', extensions: ['.keras'], load: loadKerasArchive };
