/** The architectures a Keras application weight file can be loaded into (`model.arch`, `--arch`); no TF.js import, so configs can validate against it. */
export const ARCHITECTURE_NAMES = ['vgg16', 'vgg19', 'resnet50', 'densenet121', 'inceptionv3'] as const;
export type ArchitectureName = (typeof ARCHITECTURE_NAMES)[number];
