/**
 * Relevance maps → pictures, in the paper's style (§5.2): only positive contributions are shown,
 * normalised by 1 / max|R| over the whole map, through a perceptual colour scale (io/colormap.ts).
 * Pixel buffers are row-major 8-bit H×W×C (C = 3 unless said otherwise).
 */
import { colormapInto } from './colormap.js';
import { checkSize } from './raster.js';

// The picture-making API in one place: callers import everything from io/heatmap.js.
export { encodePng, upscaleNearest } from './raster.js';
export { gridPng, gridLayout, type GridRow, type GridTile, type GridOptions, type GridLayout } from './grid.js';

/**
 * A 2-D relevance map (H×W) → an RGB heatmap (H×W×3). Value v shows as colour(max(v, 0) / M)
 * with M = max |R| over the map, so a large negative relevance dims the positive part, exactly
 * as the paper normalises. Negative values, zeros and non-finite values are black, so a map with no
 * positive value (e.g. all zeros) is entirely black.
 */
export function heatmapRgb(map: Float32Array, h: number, w: number): Uint8Array {
  checkSize('heatmapRgb', map.length, h, w, 1);
  let maxAbs = 0;
  for (let i = 0; i < map.length; i++) {
    const a = Math.abs(map[i]!);
    if (a > maxAbs && a !== Infinity) maxAbs = a; // NaN fails `a > maxAbs`
  }
  const out = new Uint8Array(h * w * 3); // black
  if (maxAbs === 0) return out;
  for (let i = 0; i < map.length; i++) {
    const v = map[i]!;
    if (v > 0 && v !== Infinity) colormapInto(v / maxAbs, out, i * 3);
  }
  return out;
}

/** Blend a heatmap over the displayed image: round(alpha·heat + (1 − alpha)·display), per channel. */
export function overlayRgb(heat: Uint8Array, display: Uint8Array, h: number, w: number, alpha: number): Uint8Array {
  checkSize('overlayRgb (heat)', heat.length, h, w, 3);
  checkSize('overlayRgb (display)', display.length, h, w, 3);
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`overlayRgb: alpha ${alpha} must be in [0, 1]`);
  const out = new Uint8Array(heat.length);
  for (let i = 0; i < heat.length; i++) out[i] = Math.round(alpha * heat[i]! + (1 - alpha) * display[i]!);
  return out;
}
