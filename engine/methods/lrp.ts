import type { RelevanceMethod } from './method.js';

/**
 * LRP (docs/PROTOCOL.md §2, Eq. 3): seed z_t at the target. Reference variant: max(z_t, 0), as
 * the authors' code passes the logits through a ReLU first (a target with z_t ≤ 0 gets 0).
 */
export const lrp: RelevanceMethod<'lrp'> = {
  name: 'lrp',
  label: 'LRP',
  color: '#1f77b4',
  family: 'relevance',
  producesRaw: true,
  rowsPerTarget: () => 1,
  seeds(formulas, logits, t) {
    const v = new Float32Array(logits.length);
    v[t] = formulas === 'paper' ? logits[t]! : Math.max(logits[t]!, 0);
    return { vectors: [v], combine: 'single' };
  },
};
