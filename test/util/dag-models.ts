import * as tf from '@tensorflow/tfjs';

/**
 * Small functional (DAG) models with the building blocks of ResNet, DenseNet and InceptionV3,
 * Keras layer names where the Grad-CAM default depends on them, and random weights (BatchNorm
 * statistics included, so that folding is not trivially the identity). 8×8×3 inputs keep the
 * float64 dense reference fast.
 */

export interface DagOpts {
  seed?: number;
  size?: number;
  classes?: number;
  /** BN with β = 0, μ = 0 and zero conv/dense biases: every layer is bias-free (conservation tests). */
  biasFree?: boolean;
}

function builder(opts: DagOpts) {
  let s = opts.seed ?? 11;
  const next = () => ++s;
  const conv = (
    name: string,
    filters: number,
    k: number | [number, number],
    o: { strides?: number; padding?: 'same' | 'valid'; bias?: boolean; activation?: 'relu' | 'linear' } = {},
  ) =>
    tf.layers.conv2d({
      name,
      filters,
      kernelSize: k,
      strides: o.strides ?? 1,
      padding: o.padding ?? 'same',
      useBias: o.bias ?? true,
      activation: o.activation ?? 'linear',
      kernelInitializer: tf.initializers.randomNormal({ seed: next(), stddev: 0.4 }),
      biasInitializer: opts.biasFree ? 'zeros' : tf.initializers.randomNormal({ seed: next(), stddev: 0.1 }),
    });
  const bn = (name: string, o: { scale?: boolean } = {}) =>
    tf.layers.batchNormalization({
      name,
      epsilon: 1.001e-5,
      scale: o.scale ?? true,
      gammaInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: next() }),
      betaInitializer: opts.biasFree ? 'zeros' : tf.initializers.randomNormal({ seed: next(), stddev: 0.2 }),
      movingMeanInitializer: opts.biasFree ? 'zeros' : tf.initializers.randomNormal({ seed: next(), stddev: 0.2 }),
      movingVarianceInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 2, seed: next() }),
    });
  const dense = (name: string, units: number, activation: 'softmax' | 'relu' | 'linear') =>
    tf.layers.dense({
      name,
      units,
      activation,
      kernelInitializer: tf.initializers.randomNormal({ seed: next(), stddev: 0.5 }),
      biasInitializer: opts.biasFree ? 'zeros' : tf.initializers.randomNormal({ seed: next(), stddev: 0.1 }),
    });
  const relu = (name: string) => tf.layers.activation({ name, activation: 'relu' });
  const apply = (l: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => l.apply(x) as tf.SymbolicTensor;
  return { conv, bn, dense, relu, apply };
}

/**
 * ResNet-style: ZeroPadding2D + conv + BN + relu + overlapping max pool (the stem), a projection
 * block and an identity block (conv-BN pairs, Add, relu), a pre-activation style BN after an Add
 * (cannot fold), GlobalAveragePooling2D, Dense softmax. The last block's output is
 * 'conv5_block2_out'.
 */
export function buildTinyResNet(opts: DagOpts = {}): tf.LayersModel {
  const { conv, bn, dense, relu, apply } = builder(opts);
  const size = opts.size ?? 8;
  const input = tf.input({ shape: [size, size, 3], name: 'input_1' });
  let x = apply(
    tf.layers.zeroPadding2d({
      name: 'conv1_pad',
      padding: [
        [1, 1],
        [1, 1],
      ],
    }),
    input,
  );
  x = apply(conv('conv1_conv', 4, 3, { padding: 'valid' }), x);
  x = apply(bn('conv1_bn'), x);
  x = apply(relu('conv1_relu'), x);
  x = apply(tf.layers.zeroPadding2d({ name: 'pool1_pad', padding: 1 }), x);
  x = apply(tf.layers.maxPooling2d({ name: 'pool1_pool', poolSize: 3, strides: 1 }), x);
  // Projection block: shortcut conv + BN, branch conv-BN-relu-conv-BN, Add, relu.
  const short = apply(bn('conv5_block1_0_bn'), apply(conv('conv5_block1_0_conv', 6, 1), x));
  let y = apply(relu('conv5_block1_1_relu'), apply(bn('conv5_block1_1_bn'), apply(conv('conv5_block1_1_conv', 4, 3), x)));
  y = apply(bn('conv5_block1_2_bn'), apply(conv('conv5_block1_2_conv', 6, 1), y));
  x = apply(relu('conv5_block1_out'), apply(tf.layers.add({ name: 'conv5_block1_add' }), [short, y]));
  // Identity block with a BN after the Add (pre-activation ResNets): stays an affine node.
  y = apply(relu('conv5_block2_1_relu'), apply(bn('conv5_block2_1_bn'), apply(conv('conv5_block2_1_conv', 4, 3), x)));
  y = apply(bn('conv5_block2_2_bn'), apply(conv('conv5_block2_2_conv', 6, 3), y));
  x = apply(tf.layers.add({ name: 'conv5_block2_add' }), [x, y]);
  x = apply(bn('post_bn'), x);
  x = apply(relu('conv5_block2_out'), x);
  x = apply(tf.layers.globalAveragePooling2d({ name: 'avg_pool' }), x);
  const out = apply(dense('predictions', opts.classes ?? 4, 'softmax'), x);
  return tf.model({ inputs: input, outputs: out, name: 'tiny_resnet' });
}

/**
 * DenseNet-style: stem (pad, conv without bias, BN, relu), two BN-ReLU-Conv layers concatenated
 * onto the block input (BN after Concatenate, and BN before a conv: both stay affine), a
 * transition (BN, relu, 1×1 conv, AveragePooling2D 2×2), final BN + relu named 'relu', GAP, Dense.
 */
export function buildTinyDenseNet(opts: DagOpts = {}): tf.LayersModel {
  const { conv, bn, dense, relu, apply } = builder(opts);
  const size = opts.size ?? 8;
  const input = tf.input({ shape: [size, size, 3], name: 'input_1' });
  let x = apply(tf.layers.zeroPadding2d({ name: 'zero_padding2d', padding: 1 }), input);
  x = apply(conv('conv1/conv', 4, 3, { padding: 'valid', bias: false }), x);
  x = apply(relu('conv1/relu'), apply(bn('conv1/bn'), x));
  for (let i = 1; i <= 2; i++) {
    let y = apply(relu(`conv2_block${i}_0_relu`), apply(bn(`conv2_block${i}_0_bn`), x));
    y = apply(conv(`conv2_block${i}_1_conv`, 4, 1, { bias: false }), y);
    y = apply(relu(`conv2_block${i}_1_relu`), apply(bn(`conv2_block${i}_1_bn`), y));
    y = apply(conv(`conv2_block${i}_2_conv`, 2, 3, { bias: false }), y);
    x = apply(tf.layers.concatenate({ name: `conv2_block${i}_concat`, axis: 3 }), [x, y]);
  }
  x = apply(relu('pool2_relu'), apply(bn('pool2_bn'), x));
  x = apply(conv('pool2_conv', 4, 1, { bias: false }), x);
  x = apply(tf.layers.averagePooling2d({ name: 'pool2_pool', poolSize: 2, strides: 2 }), x);
  x = apply(relu('relu'), apply(bn('bn'), x));
  x = apply(tf.layers.globalAveragePooling2d({ name: 'avg_pool' }), x);
  const out = apply(dense('predictions', opts.classes ?? 4, 'softmax'), x);
  return tf.model({ inputs: input, outputs: out, name: 'tiny_densenet' });
}

/**
 * Inception-style: conv2d_bn stems (conv without bias, BN without γ, relu; a strided valid conv
 * first), one mixed block (1×1; 1×3 then 3×1; 3×3 average pool 'same' stride 1 then 1×1)
 * concatenated as 'mixed10', GAP, Dense; a Cropping2D between stem and block.
 */
export function buildTinyInception(opts: DagOpts = {}): tf.LayersModel {
  const { conv, bn, dense, relu, apply } = builder(opts);
  const size = opts.size ?? 9;
  let k = 0;
  const convBn = (
    x: tf.SymbolicTensor,
    filters: number,
    kernel: number | [number, number],
    o: { strides?: number; padding?: 'same' | 'valid' } = {},
  ) => {
    k++;
    const c = apply(conv(`conv2d_${k}`, filters, kernel, { ...o, bias: false }), x);
    return apply(relu(`activation_${k}`), apply(bn(`batch_normalization_${k}`, { scale: false }), c));
  };
  const input = tf.input({ shape: [size, size, 3], name: 'input_1' });
  const stem = convBn(input, 4, 3, { strides: 2, padding: 'valid' });
  const x = apply(
    tf.layers.cropping2D({
      name: 'crop',
      cropping: [
        [1, 0],
        [0, 1],
      ],
    }),
    stem,
  );
  const b1 = convBn(x, 2, 1);
  const b2 = convBn(convBn(x, 3, [1, 3]), 2, [3, 1]);
  const b3 = convBn(apply(tf.layers.averagePooling2d({ name: 'average_pooling2d', poolSize: 3, strides: 1, padding: 'same' }), x), 2, 1);
  const m = apply(tf.layers.concatenate({ name: 'mixed10', axis: -1 }), [b1, b2, b3]);
  const g = apply(tf.layers.globalAveragePooling2d({ name: 'avg_pool' }), m);
  const out = apply(dense('predictions', opts.classes ?? 4, 'softmax'), g);
  return tf.model({ inputs: input, outputs: out, name: 'tiny_inception' });
}
