import type { CamMethod } from './method.js';

/**
 * Grad-CAM (docs/PROTOCOL.md §3): α_k = spatial mean of ∂z_t/∂A_k at a feature map A,
 * cam = ReLU(Σ_k α_k A_k) (the reference variant: no ReLU, the pooled map), resized to the input.
 * The layer policy and the ReLU come from the variant preset (engine/variants.ts).
 */
export const gradCam: CamMethod<'gradcam'> = {
  name: 'gradcam',
  label: 'Grad-CAM',
  color: '#8c564b',
  family: 'cam',
  producesRaw: false,
  rowsPerTarget: () => 1,
};
