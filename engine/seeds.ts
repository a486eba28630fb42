import type { Variant } from './types.js';

/**
 * Output-layer relevance seeds (docs/PROTOCOL.md §2). Computed in float64 and handed to the pass as float32;
 * no epsilon is added to any seed (except the reference SGLRP target's +1e-8, as the authors' code).
 */

export type LrpMethod = 'lrp' | 'clrp' | 'sglrp';

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

export function seedsFor(method: LrpMethod, variant: Variant, logits: Float32Array, t: number): SeedSet {
  const n = logits.length;
  if (!(t >= 0 && t < n)) throw new Error(`target class ${t} is outside the model's ${n} classes`);
  const zt = logits[t]!;
  const v = new Float32Array(n);
  if (variant === 'paper') {
    if (method === 'lrp') v[t] = zt; // Eq. 3
    else if (method === 'clrp') {
      v.fill(-zt / (n - 1)); // Eq. 7
      v[t] = zt;
    } else {
      const y = softmax64(logits); // Eq. 10: ∂y_t/∂z_n
      for (let i = 0; i < n; i++) v[i] = -y[t]! * y[i]!;
      v[t] = y[t]! * (1 - y[t]!);
    }
    return { vectors: [v], combine: 'single' };
  }
  // The authors' code puts a ReLU on the logits before the head, and relevance flows back through
  // its gradient: every seed entry of a class with z_n ≤ 0 is zeroed, the target's included, so a
  // target with z_t ≤ 0 gets all-zero LRP, CLRP and SGLRP maps (docs/PROTOCOL.md §2).
  const targetLive = zt > 0;
  const ztPos = Math.max(zt, 0);
  if (method === 'lrp') {
    v[t] = ztPos;
    return { vectors: [v], combine: 'single' };
  }
  const d = new Float32Array(n);
  if (method === 'clrp') {
    v[t] = ztPos;
    for (let i = 0; i < n; i++) if (i !== t && logits[i]! > 0) d[i] = ztPos / (n - 1);
  } else {
    const y = softmax64(Array.from(logits, (x) => Math.max(x, 0)));
    if (targetLive) v[t] = y[t]! * (1 - y[t]!) + 1e-8;
    for (let i = 0; i < n; i++) if (i !== t && logits[i]! > 0) d[i] = y[t]! * y[i]!;
  }
  return { vectors: [v, d], combine: 'contrast' };
}
