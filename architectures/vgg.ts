/** VGG16 and VGG19 as keras.applications.vgg16 / vgg19 build them (224×224×3, 1000 classes), with seeded random weights. */
import * as tf from '@tensorflow/tfjs';

export interface VggOptions {
  /** Output classes (default 1000). */
  classes?: number;
  /** Input side (default 224; fc1's input size follows it). */
  size?: number;
  /** Offset of the conv kernels' seeds (default 1). */
  seed?: number;
  /**
   * 'random' (default): seeded random weights. 'zeros': every weight zero, for a caller that
   * replaces them all from a file (drawing 138M random numbers takes seconds).
   */
  init?: 'random' | 'zeros';
}

/**
 * A VGG with Keras' layer names (`block1_conv1` … `block5_pool`, `flatten`, `fc1`, `fc2`,
 * `predictions`): five blocks of 3×3 same-padded relu convolutions (64, 128, 256, 512, 512
 * filters), each followed by a 2×2 max pool, then two 4096-unit relu Dense layers and the softmax.
 * `convsPerBlock` is [2, 2, 3, 3, 3] for VGG16 and [2, 2, 4, 4, 4] for VGG19.
 */
export function buildVgg(convsPerBlock: readonly number[], name: string, opts: VggOptions = {}): tf.Sequential {
  const size = opts.size ?? 224;
  const m = tf.sequential({ name });
  const filters = [64, 128, 256, 512, 512];
  const zeros = opts.init === 'zeros';
  const init = (random: () => ReturnType<typeof tf.initializers.zeros>) => (zeros ? tf.initializers.zeros() : random());
  let first = true;
  convsPerBlock.forEach((convs, b) => {
    for (let i = 1; i <= convs; i++) {
      m.add(
        tf.layers.conv2d({
          name: `block${b + 1}_conv${i}`,
          filters: filters[b]!,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: init(() => tf.initializers.heNormal({ seed: (opts.seed ?? 1) + b * 10 + i })),
          biasInitializer: init(() => tf.initializers.randomUniform({ minval: -0.01, maxval: 0.01, seed: b * 10 + i })),
          ...(first ? { inputShape: [size, size, 3] } : {}),
        }),
      );
      first = false;
    }
    m.add(tf.layers.maxPooling2d({ name: `block${b + 1}_pool`, poolSize: 2, strides: 2 }));
  });
  m.add(tf.layers.flatten({ name: 'flatten' }));
  m.add(
    tf.layers.dense({
      name: 'fc1',
      units: 4096,
      activation: 'relu',
      kernelInitializer: init(() => tf.initializers.heNormal({ seed: 91 })),
    }),
  );
  m.add(
    tf.layers.dense({
      name: 'fc2',
      units: 4096,
      activation: 'relu',
      kernelInitializer: init(() => tf.initializers.heNormal({ seed: 92 })),
    }),
  );
  m.add(
    tf.layers.dense({
      name: 'predictions',
      units: opts.classes ?? 1000,
      activation: 'softmax',
      kernelInitializer: init(() => tf.initializers.glorotUniform({ seed: 93 })),
    }),
  );
  return m;
}

/** keras.applications.VGG16 (138,357,544 parameters). Grad-CAM layer: block5_conv3. */
export function buildVgg16(opts: VggOptions = {}): tf.Sequential {
  return buildVgg([2, 2, 3, 3, 3], 'vgg16', opts);
}

/** keras.applications.VGG19 (143,667,240 parameters). Grad-CAM layer: block5_conv4. */
export function buildVgg19(opts: VggOptions = {}): tf.Sequential {
  return buildVgg([2, 2, 4, 4, 4], 'vgg19', opts);
}
