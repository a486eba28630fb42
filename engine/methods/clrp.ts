import type { RelevanceMethod } from './method.js';

/**
 * CLRP (docs/PROTOCOL.md §2). Paper (Eq. 7): z_t at t, −z_t/(N−1) on every other class, one
 * combined signed seed. Reference: target seed max(z_t, 0) and a dual seed max(z_t, 0)/(N−1) on
 * every other class with z_n > 0, contrasted after the pass (T − D·ΣT/ΣD).
 */
export const clrp: RelevanceMethod<'clrp'> = {
  name: 'clrp',
  label: 'CLRP',
  color: '#2ca02c',
  family: 'relevance',
  producesRaw: true,
  rowsPerTarget: (formulas) => (formulas === 'paper' ? 1 : 2),
  seeds(formulas, logits, t) {
    const n = logits.length;
    const zt = logits[t]!;
    const v = new Float32Array(n);
    if (formulas === 'paper') {
      v.fill(-zt / (n - 1));
      v[t] = zt;
      return { vectors: [v], combine: 'single' };
    }
    // The ReLU on the logits zeroes every entry of a class with z_n ≤ 0, the target's included.
    const ztPos = Math.max(zt, 0);
    const d = new Float32Array(n);
    v[t] = ztPos;
    for (let i = 0; i < n; i++) if (i !== t && logits[i]! > 0) d[i] = ztPos / (n - 1);
    return { vectors: [v, d], combine: 'contrast' };
  },
};
