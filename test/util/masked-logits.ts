import * as tf from '@tensorflow/tfjs';
import { disposeCache, forwardWithCache } from '../../engine/forward.js';
import type { Graph } from '../../engine/graph.js';
import { incrementalSteps, type PixelRect } from '../../engine/incremental.js';
import { runSync } from '../../engine/reads.js';

/**
 * Tests' helper: logits of masked copies of `images` (each mask: an image index and an input
 * rectangle filled from `fill`), by one forward pass with cache per group of `imagesPerPass`
 * images and the incremental pass for their masks. The pipeline does the same inside `explain`'s
 * onGroup callback (stages/evaluate.ts); tests compare this against full forward passes of the
 * masked images, and blocked against plain graphs.
 */
export function maskedLogits(
  graph: Graph,
  images: Float32Array[],
  masks: (PixelRect & { image: number })[],
  fill: Float32Array,
  options: { imagesPerPass?: number } = {},
): Float32Array[] {
  const [h, w, c] = graph.inputShape;
  const per = h * w * c;
  const k = graph.numClasses;
  const out: Float32Array[] = new Array<Float32Array>(masks.length);
  const step = Math.max(1, options.imagesPerPass ?? 1);
  for (let s = 0; s < images.length; s += step) {
    const idx = masks.map((_, i) => i).filter((i) => masks[i]!.image >= s && masks[i]!.image < s + step);
    if (idx.length === 0) continue;
    const part = images.slice(s, s + step);
    const data = new Float32Array(per * part.length);
    part.forEach((x, i) => data.set(x, i * per));
    const x = tf.tensor4d(data, [part.length, h, w, c]);
    const cache = forwardWithCache(graph, x);
    x.dispose();
    try {
      const zd = runSync(
        incrementalSteps(
          cache,
          idx.map((i) => ({ ...masks[i]!, image: masks[i]!.image - s, fill })),
        ),
      );
      idx.forEach((i, r) => (out[i] = zd.slice(r * k, (r + 1) * k)));
    } finally {
      disposeCache(cache);
    }
  }
  masks.forEach((m, i) => {
    if (!out[i]) throw new RangeError(`mask ${i}: image ${m.image} is not one of the ${images.length} images`);
  });
  return out;
}
