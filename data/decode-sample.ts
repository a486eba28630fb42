/**
 * Decode one image file into the two arrays a Sample carries (model input + RGB display), with
 * the options every file-based reader shares. Unreadable files become a reason string, never an
 * exception, so a reader can turn them into `{ok: false}` rows.
 */
import { decodeImage, GEOMETRIES, ImageReadError, INTERPOLATIONS, type Geometry, type Interpolation } from '../io/image.js';
import { preprocess, presetBounds, PRESETS, type PreprocessPreset } from '../io/preprocess.js';
import { toDisplayRgb } from './display.js';

export interface ImageInputOptions {
  /** Side of the square model input (e.g. 224). */
  size: number;
  geometry: Geometry;
  preset: PreprocessPreset;
  channels: 1 | 3;
  /** Resampling kernel (default bilinear; see io/resample.ts). */
  interpolation?: Interpolation;
  /** Widen bilinear/bicubic kernels when shrinking (default true; see io/resample.ts). */
  antialias?: boolean;
  /** Refuse images with more pixels (default io/image.ts DEFAULT_MAX_PIXELS; 0 = no limit). */
  maxPixels?: number;
  /** The setting that raises `maxPixels`, named in the over-size error (e.g. `dataset.maxPixels`). */
  maxPixelsSetting?: string;
}

export type DecodedSample =
  { ok: true; input: Float32Array; display: Uint8Array; originalWidth: number; originalHeight: number } | { ok: false; reason: string };

/** Throws a configuration error naming the field when the options cannot work (checked once, up front). */
export function checkImageInputOptions(o: ImageInputOptions, where: string): void {
  if (!Number.isInteger(o.size) || o.size < 1) throw new Error(`${where}: "size" must be a positive integer (pixels), got ${o.size}`);
  if (!GEOMETRIES.includes(o.geometry))
    throw new Error(`${where}: "geometry" must be one of ${GEOMETRIES.join(', ')}, got "${String(o.geometry)}"`);
  if (!PRESETS.includes(o.preset)) throw new Error(`${where}: "preset" must be one of ${PRESETS.join(', ')}, got "${String(o.preset)}"`);
  if (o.channels !== 1 && o.channels !== 3) throw new Error(`${where}: "channels" must be 1 or 3, got ${String(o.channels)}`);
  if (o.interpolation !== undefined && !INTERPOLATIONS.includes(o.interpolation)) {
    throw new Error(`${where}: "interpolation" must be one of ${INTERPOLATIONS.join(', ')}, got "${String(o.interpolation)}"`);
  }
  if (o.antialias !== undefined && typeof o.antialias !== 'boolean')
    throw new Error(`${where}: "antialias" must be true or false, got ${String(o.antialias)}`);
  if (o.maxPixels !== undefined && (!Number.isSafeInteger(o.maxPixels) || o.maxPixels < 0)) {
    throw new Error(`${where}: "maxPixels" must be a non-negative integer (0 = no limit), got ${o.maxPixels}`);
  }
  try {
    presetBounds(o.preset, o.channels);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

export async function decodeSample(file: string, o: ImageInputOptions): Promise<DecodedSample> {
  try {
    const img = await decodeImage(file, {
      size: o.size,
      geometry: o.geometry,
      channels: o.channels,
      ...(o.interpolation !== undefined && { interpolation: o.interpolation }),
      ...(o.antialias !== undefined && { antialias: o.antialias }),
      ...(o.maxPixels !== undefined && { maxPixels: o.maxPixels }),
      ...(o.maxPixelsSetting !== undefined && { maxPixelsSetting: o.maxPixelsSetting }),
    });
    return {
      ok: true,
      input: preprocess(img.pixels, o.size, o.size, o.channels, o.preset),
      display: toDisplayRgb(img.pixels, o.channels),
      originalWidth: img.originalWidth,
      originalHeight: img.originalHeight,
    };
  } catch (e) {
    if (e instanceof ImageReadError) return { ok: false, reason: e.message };
    return { ok: false, reason: `cannot read image ${file}: ${e instanceof Error ? e.message : String(e)}` };
  }
}
