/**
 * The image-file form of `explain`: decode a file (JPEG, PNG, WebP…), apply the model's
 * geometry and preprocessing (io/image.ts, io/preprocess.ts; docs/PROTOCOL.md §6), and explain
 * the result. Works with any explainer that takes a preprocessed `{ data, shape }` image.
 */
import { decodeImage, type Geometry, type Interpolation } from '../io/image.js';
import { preprocess, type PreprocessPreset } from '../io/preprocess.js';
import type { ImageInput } from '../engine/explainer.js';

/** How to turn the file into the model's input; the explain options (methods, targets, …) go beside them. */
export interface ImageFileOptions {
  /** The preprocessing the model was trained with (`caffe` for Keras VGG16/ResNet50, `torch`, `tf`, `unit`). */
  preprocess: PreprocessPreset;
  /** `resize` (straight to the input size) or `center-crop` (largest centred square, then resize). */
  geometry: Geometry;
  /** Resampling kernel (default `bilinear`). */
  interpolation?: Interpolation;
}

/** What `explainImageFile` needs of an explainer: its input shape and the preprocessed-image `explain`. */
export interface ImageExplainer<ExplainOptions, Result> {
  readonly inputShape: readonly [number, number, number];
  explain(image: ImageInput, options: ExplainOptions): Promise<Result>;
}

/** The explainer's result, plus the preprocessed input and the 8-bit pixels it came from (for overlays). */
export type ImageFileResult<Result> = Result & { input: ImageInput; pixels: Uint8Array };

export async function explainImageFile<ExplainOptions, Result extends object>(
  explainer: ImageExplainer<ExplainOptions, Result>,
  path: string,
  options: ImageFileOptions & ExplainOptions,
): Promise<ImageFileResult<Result>> {
  const { preprocess: preset, geometry, interpolation, ...explainOptions } = options;
  const [h, w, c] = explainer.inputShape;
  // decodeImage makes square images; a model with another input shape needs its own decoding.
  if (h !== w)
    throw new Error(
      `explainImageFile: the model's input is ${h}×${w}; image files are decoded to a square, so preprocess this model's inputs yourself and call explain`,
    );
  if (c !== 1 && c !== 3) throw new Error(`explainImageFile: the model takes ${c} channels; image files give 1 (gray) or 3 (RGB)`);
  const { pixels } = await decodeImage(path, { size: h, geometry, channels: c, ...(interpolation ? { interpolation } : {}) });
  const input: ImageInput = { data: preprocess(pixels, h, w, c, preset), shape: [h, w, c] };
  // What is left after the image fields is the caller's explain options (TypeScript cannot see through the rest).
  const result = await explainer.explain(input, explainOptions as unknown as ExplainOptions);
  return { ...result, input, pixels };
}
