/**
 * The project's own builders of the Keras application networks, at Keras' layer names, so that a
 * Keras application weight file (weights only, no topology) can be loaded into them by name
 * (formats/keras/application-weights.ts). Each builder returns a model with seeded random weights
 * unless asked otherwise.
 */
import type * as tf from '@tensorflow/tfjs';
import { buildDenseNet121 } from './densenet.js';
import { buildInceptionV3 } from './inception.js';
import { buildResNet50 } from './resnet.js';
import { ARCHITECTURE_NAMES, type ArchitectureName } from './names.js';
import { buildVgg16, buildVgg19 } from './vgg.js';

export * from './common.js';
export * from './densenet.js';
export * from './inception.js';
export * from './resnet.js';
export * from './vgg.js';
export { seededUniform } from './seeded-noise.js';
export { ARCHITECTURE_NAMES, type ArchitectureName } from './names.js';

/**
 * `model.arch` / `--arch` name → a builder of that network for a weight file to fill (names as
 * keras.applications' functions, lower case): no BatchNormalization calibration, and VGG's 138M
 * weights left zero rather than drawn at random (every value is about to be replaced).
 */
export const ARCHITECTURES: Readonly<Record<ArchitectureName, () => tf.LayersModel>> = {
  vgg16: () => buildVgg16({ init: 'zeros' }),
  vgg19: () => buildVgg19({ init: 'zeros' }),
  resnet50: () => buildResNet50({ calibration: false }),
  densenet121: () => buildDenseNet121({ calibration: false }),
  inceptionv3: () => buildInceptionV3({ calibration: false }),
};

/** The builder called `name`, or an error listing the ones there are. */
export function architectureBuilder(name: string): () => tf.LayersModel {
  const key = name.toLowerCase();
  const build = (ARCHITECTURE_NAMES as readonly string[]).includes(key) ? ARCHITECTURES[key as ArchitectureName] : undefined;
  if (!build) throw new Error(`unknown architecture '${name}'; choose one of ${ARCHITECTURE_NAMES.join(', ')}`);
  return build;
}
