/**
 * Resizing 8-bit pixels with a named kernel, computed here rather than by libvips so that each
 * choice means exactly what the library it imitates does (docs/PROTOCOL.md §6: interpolation is
 * a choice, and a config says which source it follows):
 *
 * - `nearest`: PIL's NEAREST, which Keras `load_img(target_size=…)` uses by default (the paper's
 *   notebook): output pixel x takes source pixel ⌊x₀⌋ with x₀ = ½·s + x·s, s = in/out, summed
 *   step by step in float64 as PIL does (so ties on whole numbers fall exactly as in PIL). No
 *   blending; `antialias` does not apply.
 * - `bilinear` / `bicubic`: the triangle kernel and Keys' cubic with a = −½ (PIL's BILINEAR and
 *   BICUBIC, which Keras `load_img(interpolation=…)` uses; the same kernels as TF's
 *   `tf.image.resize`), sampled at pixel centres. With `antialias` the kernel is widened by the
 *   reduction factor when shrinking, so every source pixel contributes (PIL always does this, TF
 *   with `antialias=True`). Without it the kernel keeps its width, as TF's default
 *   `antialias=False`: a shrink then samples only the pixels nearest each output centre. Taps
 *   outside the image are dropped and the weights renormalised (PIL; TF's half-pixel kernels do
 *   the same). Arithmetic is PIL's: weights in 22-bit fixed point, the horizontal pass first,
 *   each pass rounded and clipped to 8 bits. So with `antialias` the result is PIL's byte for
 *   byte; TF keeps floats between passes, so TF's values can differ by about one level (more
 *   where a cubic overshoots 0…255 halfway).
 * - `area`: each output pixel is the mean of the source area it covers, partial pixels weighted
 *   by their overlap (TF's `area`, which ignores antialias; OpenCV's INTER_AREA when shrinking;
 *   PIL's BOX only for whole-number factors). Float64, rounded half up once at the end.
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
    const ss = 1 / filterScale;
    for (let i = first; i < end; i++) {
      // PIL's exact expression order, so fixed-point rounding of the weights matches it.
      const w = kernel((i - centre + 0.5) * ss);
      weights[i - first] = w;
      sum += w;
    }
    if (sum !== 0) for (let k = 0; k < weights.length; k++) weights[k]! /= sum;
    taps.push({ first, weights });
  }
  return taps;
}

/** PIL's ImagingScaleAffine: the source position starts at ½·s and grows by s per output pixel. */
function nearestIndices(inSize: number, outSize: number): Int32Array {
  const scale = inSize / outSize;
  const out = new Int32Array(outSize);
  let at = scale * 0.5;
  for (let x = 0; x < outSize; x++) {
    out[x] = Math.min(inSize - 1, Math.trunc(at));
    at += scale;
  }
  return out;
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

/**
 * Resize row-major `height × width × channels` 8-bit pixels to `outHeight × outWidth`, columns
 * first, then rows (see the file comment for each kernel's arithmetic).
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
  for (const [name, v] of [
    ['width', width],
    ['height', height],
    ['channels', channels],
    ['outWidth', outWidth],
    ['outHeight', outHeight],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`resample: ${name} must be a positive integer, got ${v}`);
  }
  if (pixels.length !== width * height * channels) {
    throw new Error(`resample: ${pixels.length} values given but ${height}×${width}×${channels} needs ${width * height * channels}`);
  }
  switch (o.interpolation) {
    case 'nearest':
      return nearest(pixels, width, channels, nearestIndices(width, outWidth), nearestIndices(height, outHeight));
    case 'bilinear':
    case 'bicubic': {
      const [kernel, support] = o.interpolation === 'bilinear' ? [triangle, 1] : [keysCubic, 2];
      const across = kernelTaps(width, outWidth, kernel, support, o.antialias);
      const down = kernelTaps(height, outHeight, kernel, support, o.antialias);
      const mid = width === outWidth ? pixels : fixedPointPass(pixels, height, width, channels, across, 'columns');
      if (height !== outHeight) return fixedPointPass(mid, height, outWidth, channels, down, 'rows');
      return mid === pixels ? pixels.slice() : mid; // always a new array, never the caller's
    }
    case 'area':
      return areaResample(pixels, width, height, channels, areaTaps(width, outWidth), areaTaps(height, outHeight));
    default:
      throw new Error(`resample: interpolation must be one of ${INTERPOLATIONS.join(', ')}, got "${String(o.interpolation)}"`);
  }
}

function nearest(pixels: Uint8Array, width: number, channels: number, cols: Int32Array, rows: Int32Array): Uint8Array {
  const out = new Uint8Array(rows.length * cols.length * channels);
  let at = 0;
  for (const r of rows) {
    for (const c of cols) {
      const src = (r * width + c) * channels;
      for (let k = 0; k < channels; k++) out[at++] = pixels[src + k]!;
    }
  }
  return out;
}

/** PIL's PRECISION_BITS for 8-bit images: weights are integers scaled by 2^22. */
const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;

/** PIL's normalize_coeffs_8bpc: round each weight to fixed point, away from zero at ½. */
function fixedWeights(weights: Float64Array): Int32Array {
  return Int32Array.from(weights, (w) => (w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE)));
}

/**
 * One PIL resampling pass over `columns` (each row filtered across) or `rows` (each column
 * filtered down), in integer arithmetic: sum + ½, shifted back, clipped to 0…255 (PIL's clip8).
 */
function fixedPointPass(
  src: Uint8Array,
  height: number,
  width: number,
  channels: number,
  taps: Taps[],
  along: 'columns' | 'rows',
): Uint8Array {
  const fixed = taps.map((t) => ({ first: t.first, weights: fixedWeights(t.weights) }));
  const outW = along === 'columns' ? taps.length : width;
  const outH = along === 'rows' ? taps.length : height;
  const out = new Uint8Array(outH * outW * channels);
  const step = along === 'columns' ? channels : width * channels;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const { first, weights } = fixed[along === 'columns' ? x : y]!;
      const base = along === 'columns' ? (y * width + first) * channels : (first * width + x) * channels;
      for (let c = 0; c < channels; c++) {
        let sum = ONE / 2;
        for (let k = 0; k < weights.length; k++) sum += src[base + k * step + c]! * weights[k]!;
        out[(y * outW + x) * channels + c] = sum >= 256 * ONE ? 255 : sum <= 0 ? 0 : Math.floor(sum / ONE);
      }
    }
  }
  return out;
}

/** Area averaging in float64 (TF keeps floats throughout), rounded half up once at the end. */
function areaResample(pixels: Uint8Array, width: number, height: number, channels: number, across: Taps[], down: Taps[]): Uint8Array {
  const outW = across.length;
  const mid = new Float64Array(height * outW * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outW; x++) {
      const { first, weights } = across[x]!;
      const at = (y * outW + x) * channels;
      for (let k = 0; k < weights.length; k++) {
        const src = (y * width + first + k) * channels;
        for (let c = 0; c < channels; c++) mid[at + c]! += weights[k]! * pixels[src + c]!;
      }
    }
  }
  const out = new Uint8Array(down.length * outW * channels);
  for (let y = 0; y < down.length; y++) {
    const { first, weights } = down[y]!;
    for (let i = 0; i < outW * channels; i++) {
      let v = 0;
      for (let k = 0; k < weights.length; k++) v += weights[k]! * mid[(first + k) * outW * channels + i]!;
      // The tolerance keeps an exact .5 that float sums put a hair below it rounding up.
      const r = Math.floor(v + 0.5 + 1e-9);
      out[y * outW * channels + i] = r < 0 ? 0 : r > 255 ? 255 : r;
    }
  }
  return out;
}
