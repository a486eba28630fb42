import * as tf from '@tensorflow/tfjs';

/** Model builders for tests and the bench: real layer shapes, random weights, Keras layer names. */
export { buildVgg16 } from '../../architectures/vgg.js';

/** A small CNN touching every supported layer kind (for fast numeric tests). */
export function buildTinyCnn(
  opts: { size?: number; channels?: number; classes?: number; seed?: number; stride2?: boolean } = {},
): tf.Sequential {
  const size = opts.size ?? 8;
  const s = opts.seed ?? 7;
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({
      name: 'c1',
      inputShape: [size, size, opts.channels ?? 3],
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: tf.initializers.randomNormal({ seed: s, stddev: 0.5 }),
      biasInitializer: tf.initializers.randomNormal({ seed: s + 1, stddev: 0.1 }),
    }),
  );
  m.add(
    tf.layers.conv2d({
      name: 'c2',
      filters: 5,
      kernelSize: 3,
      padding: opts.stride2 ? 'valid' : 'same',
      strides: opts.stride2 ? 2 : 1,
      activation: 'relu',
      kernelInitializer: tf.initializers.randomNormal({ seed: s + 2, stddev: 0.5 }),
      biasInitializer: tf.initializers.randomNormal({ seed: s + 3, stddev: 0.1 }),
    }),
  );
  m.add(tf.layers.maxPooling2d({ name: 'p1', poolSize: 2 }));
  m.add(tf.layers.flatten({ name: 'flat' }));
  m.add(
    tf.layers.dense({
      name: 'd1',
      units: 6,
      activation: 'relu',
      kernelInitializer: tf.initializers.randomNormal({ seed: s + 4, stddev: 0.5 }),
      biasInitializer: tf.initializers.randomNormal({ seed: s + 5, stddev: 0.1 }),
    }),
  );
  m.add(tf.layers.dropout({ name: 'drop', rate: 0.5 }));
  m.add(
    tf.layers.dense({
      name: 'out',
      units: opts.classes ?? 4,
      activation: 'softmax',
      kernelInitializer: tf.initializers.randomNormal({ seed: s + 6, stddev: 0.5 }),
      biasInitializer: tf.initializers.randomNormal({ seed: s + 7, stddev: 0.1 }),
    }),
  );
  return m;
}

/** Map sizes and pool windows [h, w, k] for winner-mask tests: even, odd (a cut-off border), 3×3. */
export const POOL_WINDOW_CASES = [
  [8, 8, 2],
  [7, 9, 2],
  [9, 10, 3],
] as const;

/** Deterministic pseudo-random image data in [lo, hi]. */
export { seededUniform as randomImage } from '../../architectures/seeded-noise.js';

/** Sets every bias of a model to zero (conservation holds exactly without biases). */
export function zeroBiases(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    const w = layer.getWeights();
    if (w.length === 2) layer.setWeights([w[0]!, tf.zerosLike(w[1]!)]);
  }
}
