import { positiveChannelSum } from '../maps.js';
import type { GradientMethod } from './method.js';

/**
 * Guided Backprop (docs/PROTOCOL.md §3): the gradient of z_t with only positive gradient passed
 * back through each ReLU where its input was positive; map = Σ_c max(g, 0).
 */
export const guidedBackprop: GradientMethod<'gbp'> = {
  name: 'gbp',
  label: 'Guided Backprop',
  color: '#9467bd',
  family: 'gradient',
  producesRaw: true,
  guided: true,
  rowsPerTarget: () => 1,
  reduce: positiveChannelSum,
};
