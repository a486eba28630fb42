/**
 * The project's own builders of the Keras application networks, at Keras' layer names, so that a
 * Keras application weight file (weights only, no topology) can be loaded into them by name
 * (formats/keras/application-weights.ts). Each builder returns a model with seeded random weights.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ArchOptions } from './common.js';
import { buildDenseNet121 } from './densenet.js';
import { buildInceptionV3 } from './inception.js';
import { buildResNet50 } from './resnet.js';
import { buildVgg16, buildVgg19 } from './vgg.js';

export * from './common.js';
export * from './densenet.js';
export * from './inception.js';
export * from './resnet.js';
export * from './vgg.js';
export { seededUniform } from './seeded-noise.js';

/** `model.arch` / `--arch` name → builder (names as keras.applications' functions, lower case). */
export const ARCHITECTURES: Readonly<Record<string, (opts?: ArchOptions) => tf.LayersModel>> = {
  vgg16: (o) => buildVgg16({ ...(o?.classes !== undefined && { classes: o.classes }) }),
  vgg19: (o) => buildVgg19({ ...(o?.classes !== undefined && { classes: o.classes }) }),
  resnet50: buildResNet50,
  densenet121: buildDenseNet121,
  inceptionv3: buildInceptionV3,
};

export const ARCHITECTURE_NAMES = Object.keys(ARCHITECTURES);

/** The builder called `name`, or an error listing the ones there are. */
export function architectureBuilder(name: string): (opts?: ArchOptions) => tf.LayersModel {
  const build = ARCHITECTURES[name.toLowerCase()];
  if (!build) throw new Error(`unknown architecture '${name}'; choose one of ${ARCHITECTURE_NAMES.join(', ')}`);
  return build;
}
