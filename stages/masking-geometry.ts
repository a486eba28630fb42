/**
 * Geometry of maximal patch masking (docs/PROTOCOL.md §4): where the map peaks, which p×p patch around it is
 * replaced, and what it is replaced with. Pure functions on row-major Float32Arrays.
 */

export interface Pixel {
  row: number;
  col: number;
}

/** Half-open pixel rectangle: rows r0 ≤ r < r1, columns c0 ≤ c < c1. */
export interface PatchBounds {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
}

export type FillKind = 'dataset-mean' | 'channel-mean' | 'zero';

function checkSize(what: string, arr: ArrayLike<number>, expected: number): void {
  if (arr.length !== expected) {
    throw new RangeError(`${what} has ${arr.length} values, expected ${expected}`);
  }
}

/**
 * Arg-max of an H×W map, the first maximum in row-major order on ties (docs/PROTOCOL.md §4 step 2), so every
 * backend and every run picks the same pixel. NaN never wins (a NaN comparison is always false, so
 * a naive loop would make the result depend on where the NaN sits). A map with no comparable value
 * (all NaN, or empty) gives {row: -1, col: -1}: the caller must record an error, not mask (0,0).
 */
export function argmaxFirst(map: ArrayLike<number>, h: number, w: number): Pixel {
  checkSize('map', map, h * w);
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < map.length; i++) {
    const v = map[i]!;
    // `best < 0` admits a first value of -Infinity; strict `>` keeps the earliest of equal values.
    if (v > bestValue || (best < 0 && v === -Infinity)) {
      best = i;
      bestValue = v;
    }
  }
  return best < 0 ? { row: -1, col: -1 } : { row: Math.floor(best / w), col: best % w };
}

/**
 * The p×p patch centred at (row, col), clipped to the H×W grid. For odd p the patch spans
 * row − (p−1)/2 … row + (p−1)/2 inclusive; for even p the extra pixel goes below/right. Clipping
 * only cuts what falls outside, so a centre on the last row masks the last row (no off-by-one),
 * and p = 9 at a corner gives a 5×5 patch.
 */
export function patchBounds(row: number, col: number, p: number, h: number, w: number): PatchBounds {
  if (!Number.isInteger(p) || p < 1) throw new RangeError(`patch size must be a positive integer, got ${p}`);
  if (!Number.isInteger(row) || !Number.isInteger(col) || row < 0 || row >= h || col < 0 || col >= w) {
    throw new RangeError(`patch centre (${row}, ${col}) is outside the ${h}×${w} image`);
  }
  const before = Math.floor((p - 1) / 2);
  const r0 = row - before;
  const c0 = col - before;
  return {
    r0: Math.max(0, r0),
    r1: Math.min(h, r0 + p),
    c0: Math.max(0, c0),
    c1: Math.min(w, c0 + p),
  };
}

/**
 * A copy of the H×W×C `input` whose pixels inside `bounds` take the values of `fill` (an H×W×C
 * image: the mean image, or a broadcast channel mean). The input is left untouched because the
 * same image is masked once per method, target and patch size.
 */
export function applyPatch(input: Float32Array, h: number, w: number, c: number, bounds: PatchBounds, fill: Float32Array): Float32Array {
  checkSize('input', input, h * w * c);
  checkSize('fill', fill, h * w * c);
  const out = new Float32Array(input);
  const r0 = Math.max(0, bounds.r0);
  const r1 = Math.min(h, bounds.r1);
  const c0 = Math.max(0, bounds.c0);
  const c1 = Math.min(w, bounds.c1);
  for (let r = r0; r < r1; r++) {
    // Pixels of one patch row are contiguous in H×W×C: copy the row in one go.
    const start = (r * w + c0) * c;
    const end = (r * w + c1) * c;
    if (end > start) out.set(fill.subarray(start, end), start);
  }
  return out;
}

/**
 * The H×W×C image a patch is filled from, in preprocessed space (docs/PROTOCOL.md §4 step 3):
 * - `dataset-mean`: the per-pixel, per-channel mean image of the evaluated dataset (a copy);
 * - `channel-mean`: each channel's average over that mean image (= the dataset's per-channel
 *   mean), broadcast to every pixel;
 * - `zero`: all zeros (`mean` may be null).
 */
export function fillImage(kind: FillKind, mean: Float32Array | null, h: number, w: number, c: number): Float32Array {
  const size = h * w * c;
  if (kind === 'zero') return new Float32Array(size);
  if (!mean) throw new Error(`fill '${kind}' needs the dataset mean image (run the stats phase first, or use fill 'zero')`);
  checkSize('mean image', mean, size);
  if (kind === 'dataset-mean') return new Float32Array(mean);
  if (kind !== 'channel-mean') throw new RangeError(`unknown fill kind '${String(kind)}' (dataset-mean | channel-mean | zero)`);
  // Float64 sums: 224·224 float32 additions would lose ~4 digits.
  const sums = new Float64Array(c);
  for (let i = 0; i < size; i++) sums[i % c]! += mean[i]!;
  const pixels = h * w;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = sums[i % c]! / pixels;
  return out;
}
