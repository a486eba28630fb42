import type { CombinedMethod } from './method.js';

/**
 * Guided Grad-CAM (docs/PROTOCOL.md §3): Guided Backprop's map times Grad-CAM's, pixel by pixel;
 * the raw signal is Guided Backprop's raw gradient times Grad-CAM at its pixel.
 */
export const guidedGradCam: CombinedMethod<'ggcam'> = {
  name: 'ggcam',
  label: 'Guided Grad-CAM',
  color: '#ff7f0e',
  family: 'combined',
  producesRaw: true,
  uses: ['gbp', 'gradcam'],
  rowsPerTarget: () => 0,
  combine(parts, channels) {
    const gbp = parts.get('gbp');
    const cam = parts.get('gradcam')?.map;
    if (!gbp?.raw || !cam) throw new Error('internal: Guided Grad-CAM needs the Guided Backprop raw gradient and the Grad-CAM map');
    const map = Float32Array.from(gbp.map);
    const raw = new Float32Array(gbp.raw.length);
    for (let p = 0; p < cam.length; p++) {
      map[p]! *= cam[p]!;
      for (let ch = 0; ch < channels; ch++) raw[p * channels + ch] = gbp.raw[p * channels + ch]! * cam[p]!;
    }
    return { map, raw };
  },
};
