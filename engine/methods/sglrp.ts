import { softmax64 } from '../seeds.js';
import type { RelevanceMethod } from './method.js';

/**
 * SGLRP (docs/PROTOCOL.md §2). Paper (Eq. 10): the softmax gradient ∂y_t/∂z_n as one signed seed,
 * y_t(1−y_t) at t and −y_t·y_n elsewhere. Reference: y' = softmax(max(z, 0)); target seed
 * y'_t(1−y'_t) + 1e-8 at t (0 when z_t ≤ 0: the logits' ReLU gate), dual seed y'_t·y'_n on every
 * other class with z_n > 0, contrasted after the pass.
 */
export const sglrp: RelevanceMethod<'sglrp'> = {
  name: 'sglrp',
  label: 'SGLRP',
  color: '#d62728',
  family: 'relevance',
  producesRaw: true,
  rowsPerTarget: (formulas) => (formulas === 'paper' ? 1 : 2),
  seeds(formulas, logits, t) {
    const n = logits.length;
    const v = new Float32Array(n);
    if (formulas === 'paper') {
      const y = softmax64(logits);
      for (let i = 0; i < n; i++) v[i] = -y[t]! * y[i]!;
      v[t] = y[t]! * (1 - y[t]!);
      return { vectors: [v], combine: 'single' };
    }
    const y = softmax64(Array.from(logits, (x) => Math.max(x, 0)));
    const d = new Float32Array(n);
    if (logits[t]! > 0) v[t] = y[t]! * (1 - y[t]!) + 1e-8;
    for (let i = 0; i < n; i++) if (i !== t && logits[i]! > 0) d[i] = y[t]! * y[i]!;
    return { vectors: [v, d], combine: 'contrast' };
  },
};
