/**
 * The heatmap colour scale: matplotlib's perceptually uniform 'inferno', sampled at 31 evenly
 * spaced stops (the values vega ships as its `inferno` scheme), linearly interpolated between.
 * The first stop is pinned to pure black (inferno's is #000004) so "no relevance" is exactly black.
 */
const INFERNO: readonly (readonly [number, number, number])[] = [
  [0, 0, 0],
  [4, 3, 19],
  [12, 8, 38],
  [23, 12, 59],
  [36, 12, 79],
  [51, 10, 95],
  [66, 10, 104],
  [80, 13, 108],
  [93, 18, 110],
  [107, 23, 110],
  [120, 28, 109],
  [134, 33, 107],
  [147, 38, 103],
  [161, 43, 98],
  [174, 48, 92],
  [187, 55, 85],
  [199, 62, 76],
  [210, 70, 68],
  [221, 81, 58],
  [230, 92, 48],
  [237, 105, 37],
  [243, 119, 26],
  [248, 133, 15],
  [251, 149, 6],
  [252, 165, 10],
  [252, 181, 25],
  [250, 198, 45],
  [246, 214, 69],
  [242, 230, 97],
  [243, 244, 132],
  [252, 255, 164],
];

/** Number of stops in the table (for tests that pick exact stop positions). */
export const COLORMAP_STOPS = INFERNO.length;

/**
 * Colour of `t` in [0, 1] (clamped; NaN counts as 0), written into `out` at `offset` as 8-bit RGB.
 */
export function colormapInto(t: number, out: Uint8Array, offset: number): void {
  const x = t > 0 ? (t < 1 ? t : 1) : 0;
  const pos = x * (INFERNO.length - 1);
  const i = Math.min(INFERNO.length - 2, Math.floor(pos));
  const f = pos - i;
  const a = INFERNO[i]!;
  const b = INFERNO[i + 1]!;
  for (let k = 0; k < 3; k++) out[offset + k] = Math.round(a[k]! + (b[k]! - a[k]!) * f);
}

/** Colour of `t` in [0, 1] as `[r, g, b]`. */
export function colormap(t: number): [number, number, number] {
  const out = new Uint8Array(3);
  colormapInto(t, out, 0);
  return [out[0]!, out[1]!, out[2]!];
}
