import { channelSum, positiveChannelSum } from './maps.js';
import type { SeedFormulas } from './methods/method.js';
import type { Variant } from './types.js';

/**
 * A variant is a preset bundle of five independent choices (docs/PROTOCOL.md §1–§3): the `paper`
 * variant implements the paper's equations, `reference` what the authors' published code
 * computes. Each choice is data here, so the engine reads the preset instead of branching on the
 * variant's name, and a user can override the composite alone.
 */
export interface VariantPreset {
  readonly name: Variant;
  /** Default LRP composite (engine/composites.ts), overridable per explainer or run. */
  readonly composite: string;
  /** Seed formulas of the LRP family (engine/methods/). */
  readonly seeds: SeedFormulas;
  /** Signed H×W×C input relevance → H×W map. */
  readonly reduction: (raw: Float32Array, channels: number) => Float32Array;
  /**
   * Grad-CAM's default layer: `feature-map` steps back from the classifier's input over pooling to
   * the feature map it pools (VGG16: block5_conv3); `pooled` takes the pooled map (block5_pool).
   */
  readonly gradcamLayer: 'feature-map' | 'pooled';
  /** ReLU on Grad-CAM's weighted sum. */
  readonly gradcamRelu: boolean;
}

export const VARIANT_PRESETS: Readonly<Record<Variant, VariantPreset>> = {
  paper: {
    name: 'paper',
    composite: 'zplus-zb',
    seeds: 'paper',
    reduction: positiveChannelSum,
    gradcamLayer: 'feature-map',
    gradcamRelu: true,
  },
  reference: {
    name: 'reference',
    composite: 'zplus-bias-zb',
    seeds: 'reference',
    reduction: channelSum,
    gradcamLayer: 'pooled',
    gradcamRelu: false,
  },
};

export function variantPreset(variant: Variant): VariantPreset {
  const preset = VARIANT_PRESETS[variant];
  if (!preset) throw new Error(`unknown variant '${String(variant)}'; choose paper or reference`);
  return preset;
}
