/**
 * Decoding an image file into the model's square input grid (docs/PROTOCOL.md §6 geometry), with sharp.
 *
 * Conventions, chosen to match how ImageNet models were trained and evaluated (PIL / OpenCV
 * pipelines), and documented here because each one changes pixel values:
 * - Format is detected from the content, never the extension (ImageNet has PNGs named .JPEG).
 * - EXIF orientation is NOT applied: ImageNet's labels and boxes refer to the stored pixel grid,
 *   and PIL/OpenCV training code did not rotate either. `originalWidth/Height` are stored sizes.
 * - Embedded ICC profiles are ignored by default (PIL/OpenCV ignore them too); `applyIcc: true`
 *   converts through them instead. CMYK is always converted to sRGB (through the embedded
 *   profile if applied, else libvips' built-in CMYK profile).
 * - 16-bit images are reduced to 8 bits (v·255/65535, rounded). Grayscale is repeated into R=G=B.
 * - Alpha is DROPPED (not composited), as PIL's `convert('RGB')` in Keras `load_img` does. It is
 *   dropped before resizing, so colours are never premultiplied by alpha.
 * - Resampling: sharp decodes the whole stored image (no JPEG shrink-on-load, so the result does
 *   not depend on DCT scaling), the geometry crops it, and io/resample.ts resizes it with the
 *   chosen kernel: `nearest` (PIL NEAREST, Keras `load_img(target_size=…)`'s default), `bilinear`
 *   and `bicubic` with or without antialiasing (PIL / TF), or `area` (TF area). Default bilinear
 *   with antialias, like PIL's BILINEAR. See io/resample.ts for exactly what each one computes.
 * - `channels: 1` is ITU-R 601 luma of the 8-bit sRGB values, round((299R+587G+114B)/1000)
 *   (PIL's `convert('L')`); for a gray source this is the gray value itself.
 * - A truncated or undecodable file is an error (sharp `failOn: 'truncated'` by default), never a
 *   partial image.
 */
import { stat } from 'node:fs/promises';
import sharp, { type Sharp } from 'sharp';

import type { Box } from '../data/types.js';
import { INTERPOLATIONS, resample, type Interpolation } from './resample.js';

export { INTERPOLATIONS, type Interpolation } from './resample.js';
export type Geometry = 'resize' | 'center-crop' | 'resize256-crop224';

export const GEOMETRIES: readonly Geometry[] = ['resize', 'center-crop', 'resize256-crop224'];

/** Default pixel limit: 20000 × 20000. Far above any ImageNet image, far below what exhausts memory outright. */
export const DEFAULT_MAX_PIXELS = 20000 * 20000;

export interface DecodeOptions {
  /** Side of the square output, in pixels. */
  size: number;
  geometry: Geometry;
  channels: 1 | 3;
  /** Resampling kernel (default `bilinear`; io/resample.ts). */
  interpolation?: Interpolation;
  /** Widen bilinear/bicubic kernels when shrinking (default true; io/resample.ts). */
  antialias?: boolean;
  /** Refuse images with more pixels than this (default `DEFAULT_MAX_PIXELS`). */
  maxPixels?: number;
  /**
   * Where the user sets `maxPixels` (e.g. `dataset.maxPixels`), named in the over-size error so
   * its advice can be followed; absent = the caller offers no setting, so none is suggested.
   */
  maxPixelsSetting?: string;
  /** Convert through an embedded ICC profile (default false: ignore it, like PIL/OpenCV). */
  applyIcc?: boolean;
  /**
   * How damaged a file may be before it is an error, from sharp's scale. Default `truncated`:
   * truncated or undecodable data fails, while files libjpeg merely warns about (e.g. stray
   * bytes before a marker), which PIL-based pipelines also accepted, still decode. `warning` is
   * stricter (any decoder warning fails).
   */
  failOn?: 'truncated' | 'error' | 'warning';
  /** Name used in error messages when `source` is a Buffer (default `<buffer>`). */
  name?: string;
}

export interface DecodedImage {
  /** Row-major size × size × channels, 8-bit. */
  pixels: Uint8Array;
  /** Stored size of the source, before any EXIF orientation (which is not applied). */
  originalWidth: number;
  originalHeight: number;
}

/** A file that cannot be turned into pixels. The message names the file and the reason. */
export class ImageReadError extends Error {
  override readonly name = 'ImageReadError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`cannot read image ${file}: ${reason}`);
  }
}

/** A square crop window in source pixels. */
export interface CropWindow {
  left: number;
  top: number;
  side: number;
}

/**
 * The largest centred square of a width × height image. When the leftover is odd the extra
 * pixel goes to the right/bottom: left = floor((W − side) / 2), top likewise. (`mapBox` uses
 * the same window, so boxes follow the pixels exactly.)
 */
export function centerCropWindow(width: number, height: number): CropWindow {
  const side = Math.min(width, height);
  return { left: Math.floor((width - side) / 2), top: Math.floor((height - side) / 2), side };
}

/**
 * torchvision's standard evaluation geometry, `Resize(256)` then `CenterCrop(224)`, for an input
 * of `size` (the shorter side goes to round(size·256/224), 256 at 224): the resized image's
 * dimensions and the crop's top-left corner in it. Resize keeps the aspect ratio and truncates
 * the longer side (`int(256·long/short)`); the crop starts at round((side − size)/2), as
 * torchvision computes both.
 */
export function resizeCropWindow(
  width: number,
  height: number,
  size: number,
): { width: number; height: number; left: number; top: number } {
  const shorter = Math.round((size * 256) / 224);
  const [w, h] = width <= height ? [shorter, Math.trunc((shorter * height) / width)] : [Math.trunc((shorter * width) / height), shorter];
  return { width: w, height: h, left: roundHalfEven((w - size) / 2), top: roundHalfEven((h - size) / 2) };
}

/** The `width × height` window at (`left`, `top`) of an interleaved `stride`-wide image with `c` channels. */
function cropRows(src: Uint8Array, stride: number, c: number, left: number, top: number, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * stride + left) * c;
    out.set(src.subarray(from, from + width * c), y * width * c);
  }
  return out;
}

/** Python's round(), which torchvision's CenterCrop uses: halves go to the even neighbour. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Turn whatever sharp/fs threw into a short reason. */
function reasonOf(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/unsupported image format/i.test(msg)) return 'not an image (unsupported or unrecognised format)';
  if (/premature end|truncated|Not a JPEG|corrupt|bad huffman|decode/i.test(msg)) {
    return `corrupt or truncated image data (${msg.trim()})`;
  }
  return msg.trim();
}

/**
 * Decode `source` (a path or the file's bytes) to size × size × channels 8-bit pixels with the
 * given geometry. Throws `ImageReadError` for anything unreadable.
 */
export async function decodeImage(source: string | Buffer, opts: DecodeOptions): Promise<DecodedImage> {
  const file = typeof source === 'string' ? source : (opts.name ?? '<buffer>');
  const { size, geometry, channels } = opts;
  if (!Number.isInteger(size) || size <= 0) {
    throw new Error(`decodeImage: size ${size} must be a positive integer (the input side in pixels)`);
  }
  if (!GEOMETRIES.includes(geometry)) {
    throw new Error(`decodeImage: geometry '${String(geometry)}' must be one of ${GEOMETRIES.join(', ')}`);
  }
  if (channels !== 1 && channels !== 3) throw new Error(`decodeImage: channels ${String(channels)} must be 1 or 3`);
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!Number.isInteger(maxPixels) || maxPixels < 0) {
    throw new Error(`decodeImage: maxPixels ${maxPixels} must be a non-negative integer (0 = no limit)`);
  }
  const interpolation = opts.interpolation ?? 'bilinear';
  if (!INTERPOLATIONS.includes(interpolation)) {
    throw new Error(`decodeImage: interpolation '${String(interpolation)}' must be one of ${INTERPOLATIONS.join(', ')}`);
  }
  const resampling = { interpolation, antialias: opts.antialias ?? true };

  // Clear reasons for the common file-level failures before sharp gives vaguer ones.
  if (typeof source === 'string') {
    let bytes: number;
    try {
      bytes = (await stat(source)).size;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ImageReadError(file, code === 'ENOENT' ? 'file not found' : reasonOf(err));
    }
    if (bytes === 0) throw new ImageReadError(file, 'file is empty (0 bytes)');
  } else if (source.length === 0) {
    throw new ImageReadError(file, 'empty buffer (0 bytes)');
  }

  const input = {
    failOn: opts.failOn ?? 'truncated',
    // Our own check below gives the clear message; sharp's limit is the backstop (0 = none).
    limitInputPixels: maxPixels > 0 ? maxPixels : false,
    autoOrient: false,
    ignoreIcc: !opts.applyIcc,
  };

  try {
    // Header only, without sharp's limit, so an oversized image gets our clearer message.
    const meta = await sharp(source, { ...input, limitInputPixels: false }).metadata();
    const W = meta.width;
    const H = meta.height;
    if (!W || !H) throw new ImageReadError(file, 'the image has no width/height');
    if (maxPixels > 0 && W * H > maxPixels) {
      const advice = opts.maxPixelsSetting
        ? `raise ${opts.maxPixelsSetting} if this image is wanted`
        : 'images this large are refused to protect memory';
      throw new ImageReadError(file, `${W}×${H} = ${W * H} pixels is over the limit of ${maxPixels} (${advice})`);
    }

    // Full-size 8-bit sRGB without alpha (dropped, never composited or premultiplied), cropped
    // by the geometry; the resize is ours (io/resample.ts).
    let pipeline: Sharp = sharp(source, input);
    if (geometry === 'center-crop') {
      const crop = centerCropWindow(W, H);
      pipeline = pipeline.extract({ left: crop.left, top: crop.top, width: crop.side, height: crop.side });
    }
    const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) {
      throw new ImageReadError(file, `decoder produced ${info.channels} channels, expected 3 (unusual colour space?)`);
    }
    const full = new Uint8Array(data.buffer, data.byteOffset, data.length);
    let rgb: Uint8Array;
    if (geometry === 'resize256-crop224') {
      // torchvision: shorter side to 256/224 of the size, then the centred size × size window.
      const win = resizeCropWindow(info.width, info.height, size);
      const resized = resample(full, info.width, info.height, 3, win.width, win.height, resampling);
      rgb = cropRows(resized, win.width, 3, win.left, win.top, size, size);
    } else {
      rgb = resample(full, info.width, info.height, 3, size, size, resampling);
    }
    return { pixels: channels === 3 ? rgb : luma(rgb), originalWidth: W, originalHeight: H };
  } catch (err) {
    if (err instanceof ImageReadError) throw err;
    throw new ImageReadError(file, reasonOf(err));
  }
}

/** ITU-R 601 luma in integer arithmetic (PIL's `convert('L')`): exact for R=G=B. */
function luma(rgb: Uint8Array): Uint8Array {
  const n = rgb.length / 3;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = Math.floor((rgb[3 * i]! * 299 + rgb[3 * i + 1]! * 587 + rgb[3 * i + 2]! * 114 + 500) / 1000);
  }
  return out;
}

/** A box in original pixel coordinates, inclusive pixel indices, 0-based (ImageNet/VOC style after −1). */
export interface PixelBox {
  xMin: number;
  yMin: number;
  xMax: number;
  yMax: number;
}

/**
 * Map an original-image box through the same geometry as `decodeImage` into the size × size
 * input, as a half-open `Box`, clipped to the input. Returns null when the box is empty or
 * inverted, or falls entirely outside the input (e.g. cropped away).
 *
 * The inclusive box covers the continuous area [xMin, xMax + 1) × [yMin, yMax + 1). That area is
 * cropped, scaled and clipped; an input pixel belongs to the box when its centre lies inside
 * (edges rounded to the nearest pixel boundary, so a box on whole pixels maps exactly and a box
 * covering the whole image maps to the whole input). A box too thin to contain any pixel centre
 * after shrinking keeps the one pixel under its middle rather than vanishing.
 */
export function mapBox(box: PixelBox, originalWidth: number, originalHeight: number, size: number, geometry: Geometry): Box | null {
  const { xMin, yMin, xMax, yMax } = box;
  if (![xMin, yMin, xMax, yMax].every(Number.isFinite)) return null;
  if (xMax < xMin || yMax < yMin) return null;
  let left = 0;
  let top = 0;
  let srcW = originalWidth;
  let srcH = originalHeight;
  if (geometry === 'center-crop') {
    const crop = centerCropWindow(originalWidth, originalHeight);
    left = crop.left;
    top = crop.top;
    srcW = srcH = crop.side;
  }
  let [scaleX, scaleY] = [size / srcW, size / srcH];
  if (geometry === 'resize256-crop224') {
    // Scale to the resized image, then shift by the crop (expressed in original pixels).
    const win = resizeCropWindow(originalWidth, originalHeight, size);
    [scaleX, scaleY] = [win.width / originalWidth, win.height / originalHeight];
    left = win.left / scaleX;
    top = win.top / scaleY;
  }
  const xs = mapInterval(xMin - left, xMax + 1 - left, scaleX, size);
  const ys = mapInterval(yMin - top, yMax + 1 - top, scaleY, size);
  if (!xs || !ys) return null;
  return { x0: xs[0], y0: ys[0], x1: xs[1], y1: ys[1] };
}

/** One axis of `mapBox`: continuous [a, b) in source pixels → half-open pixel range in [0, size). */
function mapInterval(a: number, b: number, scale: number, size: number): [number, number] | null {
  const lo = Math.min(size, Math.max(0, a * scale));
  const hi = Math.min(size, Math.max(0, b * scale));
  // Nothing left after clipping (tolerance absorbs float noise of an edge exactly on the border).
  if (hi - lo <= 1e-9) return null;
  const p0 = Math.round(lo);
  const p1 = Math.round(hi);
  if (p1 > p0) return [p0, p1];
  const mid = Math.min(size - 1, Math.floor((lo + hi) / 2));
  return [mid, mid + 1];
}
