/**
 * Output-layer relevance seeds (docs/PROTOCOL.md §2): what an LRP-family method hands the
 * relevance pass. Each method's formulas live in its module (engine/methods/); they are computed
 * in float64 and handed over as float32, and no epsilon is added to any seed (except the
 * reference SGLRP target's +1e-8, as the authors' code).
 */

/**
 * `single`: the map is the input relevance of the one seed.
 * `contrast` (reference CLRP/SGLRP): two seeds, target T and dual D; map = T − D·ΣT/ΣD.
 */
export interface SeedSet {
  vectors: Float32Array[];
  combine: 'single' | 'contrast';
}

export function softmax64(z: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < z.length; i++) max = Math.max(max, z[i]!);
  const e = new Float64Array(z.length);
  let sum = 0;
  for (let i = 0; i < z.length; i++) sum += e[i] = Math.exp(z[i]! - max);
  for (let i = 0; i < z.length; i++) e[i]! /= sum;
  return e;
}
