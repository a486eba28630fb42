/**
 * Resizing 8-bit pixels with a named kernel, computed here rather than by libvips so that each
 * choice means exactly what the library it imitates does (docs/PROTOCOL.md §6: interpolation is
 * a choice, and a config says which source it follows):
 *
 * - `nearest`: PIL's NEAREST, which Keras `load_img(target_size=…)` uses by default (the paper's
 *   notebook). Output pixel x takes source pixel ⌊(x + ½)·in/out⌋: no blending, no antialias.
 * - `bilinear` / `bicubic`: the triangle kernel and Keys' cubic with a = −½ (PIL's BILINEAR and
 *   BICUBIC; TF's `tf.image.resize` bilinear/bicubic), sampled at pixel centres (half-pixel).
 *   With `antialias` the kernel is widened by the reduction factor when shrinking, so every source
 *   pixel contributes (PIL always does this; TF with `antialias=True`). Without it the kernel keeps
 *   its width, as TF's default `antialias=False`: a shrink then samples only the pixels nearest
 *   each output centre. Taps outside the image are dropped and the weights renormalised (PIL; TF's
 *   half-pixel Keys cubic does the same).
 * - `area`: each output pixel is the mean of the source area it covers, partial pixels weighted by
 *   their overlap (TF's `area`, OpenCV's INTER_AREA when shrinking; PIL's BOX for whole-number
 *   factors). Area averaging is its own antialias, so `antialias` does not change it.
 *
 * Arithmetic is float64 with one rounding (half up) at the end. PIL rounds to 8 bits between its
 * horizontal and vertical passes and uses fixed-point weights, so its BILINEAR/BICUBIC output can
 * differ from this by one level; nearest and area on whole-number factors are exact.
 */

export const INTERPOLATIONS = ['nearest', 'bilinear', 'bicubic', 'area'] as const;

export type Interpolation = (typeof INTERPOLATIONS)[number];

export interface ResampleOptions {
  interpolation: Interpolation;
  /** Widen bilinear/bicubic kernels when shrinking (see the file comment); ignored by nearest and area. */
  antialias: boolean;
}

/** For one output pixel of one axis: the first source pixel and the weights of it and the next ones. */
interface Taps {
  first: number;
  weights: Float64Array;
}

const triangle = (t: number): number => Math.max(0, 1 - Math.abs(t));

/** Keys' cubic convolution kernel with a = −½ (PIL BICUBIC, TF bicubic). */
function keysCubic(t: number): number {
  const a = -0.5;
  const x = Math.abs(t);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

/** PIL's coefficient scheme (Resample.c precompute_coeffs) for a kernel of half-width `support`. */
function kernelTaps(inSize: number, outSize: number, kernel: (t: number) => number, support: number, antialias: boolean): Taps[] {
  const scale = inSize / outSize;
  const filterScale = antialias ? Math.max(scale, 1) : 1;
  const reach = support * filterScale;
  const taps: Taps[] = [];
  for (let x = 0; x < outSize; x++) {
    const centre = (x + 0.5) * scale;
    const first = Math.max(0, Math.trunc(centre - reach + 0.5));
    const end = Math.min(inSize, Math.trunc(centre + reach + 0.5));
    const weights = new Float64Array(Math.max(0, end - first));
    let sum = 0;
    for (let i = first; i < end; i++) {
      const w = kernel((i + 0.5 - centre) / filterScale);
      weights[i - first] = w;
      sum += w;
    }
    if (sum !== 0) for (let k = 0; k < weights.length; k++) weights[k]! /= sum;
    taps.push({ first, weights });
  }
  return taps;
}

function nearestTaps(inSize: number, outSize: number): Taps[] {
  const scale = inSize / outSize;
  return Array.from({ length: outSize }, (_, x) => ({ first: Math.min(inSize - 1, Math.floor((x + 0.5) * scale)), weights: Float64Array.of(1) }));
}

/** Output pixel x covers source [x·s, (x+1)·s); each source pixel weighs its overlap / s. */
function areaTaps(inSize: number, outSize: number): Taps[] {
  const scale = inSize / outSize;
  const taps: Taps[] = [];
  for (let x = 0; x < outSize; x++) {
    const lo = x * scale;
    const hi = Math.min(inSize, (x + 1) * scale);
    const first = Math.min(inSize - 1, Math.floor(lo));
    const end = Math.min(inSize, Math.ceil(hi - 1e-9));
    const weights = new Float64Array(Math.max(1, end - first));
    for (let i = first; i < first + weights.length; i++) weights[i - first] = Math.max(0, Math.min(hi, i + 1) - Math.max(lo, i)) / scale;
    taps.push({ first, weights });
  }
  return taps;
}

function tapsFor(inSize: number, outSize: number, o: ResampleOptions): Taps[] {
  switch (o.interpolation) {
    case 'nearest':
      return nearestTaps(inSize, outSize);
    case 'bilinear':
      return kernelTaps(inSize, outSize, triangle, 1, o.antialias);
    case 'bicubic':
      return kernelTaps(inSize, outSize, keysCubic, 2, o.antialias);
    case 'area':
      return areaTaps(inSize, outSize);
    default:
      throw new Error(`resample: interpolation must be one of ${INTERPOLATIONS.join(', ')}, got "${String(o.interpolation)}"`);
  }
}

/**
 * Resize row-major `height × width × channels` 8-bit pixels to `outHeight × outWidth`, rows and
 * columns separately (horizontal pass, then vertical), rounding once at the end.
 */
export function resample(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
  o: ResampleOptions,
): Uint8Array {
  for (const [name, v] of [['width', width], ['height', height], ['channels', channels], ['outWidth', outWidth], ['outHeight', outHeight]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`resample: ${name} must be a positive integer, got ${v}`);
  }
  if (pixels.length !== width * height * channels) {
    throw new Error(`resample: ${pixels.length} values given but ${height}×${width}×${channels} needs ${width * height * channels}`);
  }
  const across = tapsFor(width, outWidth, o);
  const down = tapsFor(height, outHeight, o);

  // Horizontal pass: height × outWidth × channels, in float64.
  const mid = new Float64Array(height * outWidth * channels);
  for (let y = 0; y < height; y++) {
    const row = y * width * channels;
    for (let x = 0; x < outWidth; x++) {
      const { first, weights } = across[x]!;
      const at = (y * outWidth + x) * channels;
      for (let k = 0; k < weights.length; k++) {
        const w = weights[k]!;
        const src = row + (first + k) * channels;
        for (let c = 0; c < channels; c++) mid[at + c]! += w * pixels[src + c]!;
      }
    }
  }
  // Vertical pass, then one rounding (half up) and clamping to 0…255 (cubic lobes can overshoot).
  const out = new Uint8Array(outHeight * outWidth * channels);
  const acc = new Float64Array(outWidth * channels);
  for (let y = 0; y < outHeight; y++) {
    const { first, weights } = down[y]!;
    acc.fill(0);
    for (let k = 0; k < weights.length; k++) {
      const w = weights[k]!;
      const row = (first + k) * outWidth * channels;
      for (let i = 0; i < acc.length; i++) acc[i]! += w * mid[row + i]!;
    }
    const base = y * outWidth * channels;
    for (let i = 0; i < acc.length; i++) {
      const v = Math.floor(acc[i]! + 0.5 + 1e-9);
      out[base + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}
