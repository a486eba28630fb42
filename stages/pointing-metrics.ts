/**
 * The extended pointing game (docs/PROTOCOL.md §5, paper Eq. 11–12) and the original one (arg-max in the box),
 * as pure functions of an H×W relevance map and the mask of the ground-truth box union.
 */

import type { Box } from '../data/types.js';
import { argmaxFirst } from './masking-geometry.js';

/** One point of a per-image energy curve (a `pointing` table row without the ids). */
export interface EnergyPoint {
  energy: number;
  /** Selected pixels inside the box union. */
  hits: number;
  /** Selected pixels outside it. */
  misses: number;
  /** hits / (hits + misses); 0 when the map has no positive value. */
  accuracy: number;
  /** True when the map has no positive value (|P| = 0), so the 0 above is a convention. */
  empty: boolean;
}

export interface PointingGameResult {
  /** The map's arg-max (first in row-major order) lies inside the box union. */
  hit: boolean;
  /** Some box pixel lies within Euclidean distance ≤ tolerance (pixels) of the arg-max. */
  hitTolerance: boolean;
}

/**
 * H×W mask (1 = inside) of the union of half-open boxes: pixel (r, c) is inside a box iff
 * x0 ≤ c < x1 and y0 ≤ r < y1 (data/types.ts). Fractional edges are honoured exactly by that
 * rule (first column ⌈x0⌉, last column ⌈x1⌉−1); boxes are clipped to the grid; a box with a NaN
 * edge is skipped.
 */
export function boxMask(boxes: readonly Box[], h: number, w: number): Uint8Array {
  const mask = new Uint8Array(h * w);
  for (const b of boxes) {
    if (![b.x0, b.y0, b.x1, b.y1].every((v) => !Number.isNaN(v))) continue;
    const c0 = Math.max(0, Math.ceil(b.x0));
    const c1 = Math.min(w, Math.ceil(b.x1));
    const r0 = Math.max(0, Math.ceil(b.y0));
    const r1 = Math.min(h, Math.ceil(b.y1));
    for (let r = r0; r < r1; r++) if (c1 > c0) mask.fill(1, r * w + c0, r * w + c1);
  }
  return mask;
}

/**
 * How many of the |P| positive values an energy level selects: ⌈E·|P|⌉. E·|P| is computed in
 * floating point, where 0.35·100 = 35.00000000000001; without the small tolerance the ceiling
 * would select 36 values instead of 35.
 */
export function selectionSize(energy: number, positives: number): number {
  const x = energy * positives;
  return Math.min(positives, Math.max(0, Math.ceil(x - 1e-9 * Math.max(1, x))));
}

/** Count of values ≥ τ in an ascending-sorted array (binary search for the first value ≥ τ). */
function countAtLeast(ascending: Float64Array, tau: number): number {
  let lo = 0;
  let hi = ascending.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ascending[mid]! < tau) lo = mid + 1;
    else hi = mid;
  }
  return ascending.length - lo;
}

/**
 * The per-image extended pointing game at each energy level (docs/PROTOCOL.md §5).
 *
 * P = the pixels with R > 0 (NaN is not positive). For energy E, k = ⌈E·|P|⌉ and the threshold τ_E
 * is the k-th largest positive value. **Tie rule:** every pixel with R ≥ τ_E is selected, so when
 * values tie at τ_E the selection can exceed k; this follows Eq. 12 (selection is by a threshold
 * on values, never by pixel position) and is deterministic. Hits/misses count selected pixels
 * inside/outside the box union. |P| = 0 gives accuracy 0 and `empty: true` at every level.
 *
 * Cost: the positive values are split by inside/outside and sorted once (typed-array numeric
 * sorts, O(|P| log |P|)); each energy level is then a lookup plus two binary searches.
 */
export function energyCurve(map: ArrayLike<number>, h: number, w: number, inBox: Uint8Array, energies: readonly number[]): EnergyPoint[] {
  if (map.length !== h * w) throw new RangeError(`map has ${map.length} values, expected ${h}×${w}`);
  if (inBox.length !== h * w) throw new RangeError(`box mask has ${inBox.length} values, expected ${h}×${w}`);
  for (const e of energies) {
    if (!(e > 0 && e <= 1)) throw new RangeError(`energy level must be in (0, 1], got ${e}`);
  }
  let nIn = 0;
  let nOut = 0;
  for (let i = 0; i < map.length; i++) {
    if (map[i]! > 0) {
      if (inBox[i]) nIn++;
      else nOut++;
    }
  }
  // Float64 so a float64 map keeps its exact values (float32 storage could create new ties).
  const inside = new Float64Array(nIn);
  const outside = new Float64Array(nOut);
  const all = new Float64Array(nIn + nOut);
  let a = 0;
  nIn = 0;
  nOut = 0;
  for (let i = 0; i < map.length; i++) {
    const v = map[i]!;
    if (v > 0) {
      if (inBox[i]) inside[nIn++] = v;
      else outside[nOut++] = v;
      all[a++] = v;
    }
  }
  inside.sort();
  outside.sort();
  all.sort();
  const p = all.length;
  return energies.map((energy) => {
    if (p === 0) return { energy, hits: 0, misses: 0, accuracy: 0, empty: true };
    const k = Math.max(1, selectionSize(energy, p));
    const tau = all[p - k]!;
    const hits = countAtLeast(inside, tau);
    const misses = countAtLeast(outside, tau);
    return { energy, hits, misses, accuracy: hits / (hits + misses), empty: false };
  });
}

/**
 * The original pointing game: is the map's arg-max (first in row-major order on ties) inside the
 * box union, and is it within `tolerancePx` (Euclidean, in pixels; default in the pipeline 15) of
 * some box pixel. A map without a comparable value (all NaN) misses both.
 */
export function pointingGameHit(map: ArrayLike<number>, h: number, w: number, inBox: Uint8Array, tolerancePx: number): PointingGameResult {
  if (inBox.length !== h * w) throw new RangeError(`box mask has ${inBox.length} values, expected ${h}×${w}`);
  if (!(tolerancePx >= 0)) throw new RangeError(`tolerance must be >= 0 pixels, got ${tolerancePx}`);
  const { row, col } = argmaxFirst(map, h, w);
  if (row < 0) return { hit: false, hitTolerance: false };
  const hit = inBox[row * w + col] === 1;
  if (hit) return { hit, hitTolerance: true };
  // Only the square of radius ⌊tolerance⌋ can hold pixels within that distance.
  const rad = Math.floor(tolerancePx);
  const tol2 = tolerancePx * tolerancePx;
  for (let r = Math.max(0, row - rad); r <= Math.min(h - 1, row + rad); r++) {
    const dr2 = (r - row) ** 2;
    for (let c = Math.max(0, col - rad); c <= Math.min(w - 1, col + rad); c++) {
      if (inBox[r * w + c] && dr2 + (c - col) ** 2 <= tol2) return { hit, hitTolerance: true };
    }
  }
  return { hit, hitTolerance: false };
}
