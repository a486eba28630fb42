/** DenseNet as keras.applications.densenet builds it (DenseNet121), and a tiny variant for fast tests. */
import * as tf from '@tensorflow/tfjs';
import { apply, bn, conv, Ctx, finish, head, relu, type ArchOptions, type T } from './common.js';

export interface DenseNetSpec {
  /** Building blocks per dense block (DenseNet121: 6, 12, 24, 16). */
  blocks: number[];
  /** Growth rate (Keras: 32); the bottleneck conv has 4× as many filters. */
  growth: number;
  /** Filters of the stem conv (Keras: 64). */
  stemFilters: number;
}

function denseConvBlock(ctx: Ctx, x: T, growth: number, name: string): T {
  const eps = { epsilon: 1.001e-5 };
  let y = bn(ctx, x, `${name}_0_bn`, eps);
  y = relu(y, `${name}_0_relu`);
  y = conv(ctx, y, `${name}_1_conv`, 4 * growth, 1, { useBias: false });
  y = bn(ctx, y, `${name}_1_bn`, eps);
  y = relu(y, `${name}_1_relu`);
  y = conv(ctx, y, `${name}_2_conv`, growth, 3, { padding: 'same', useBias: false });
  return apply(tf.layers.concatenate({ name: `${name}_concat`, axis: 3 }), [x, y]);
}

function transitionBlock(ctx: Ctx, x: T, reduction: number, name: string): T {
  const channels = x.shape[3]!;
  let y = bn(ctx, x, `${name}_bn`, { epsilon: 1.001e-5 });
  y = relu(y, `${name}_relu`);
  y = conv(ctx, y, `${name}_conv`, Math.floor(channels * reduction), 1, { useBias: false });
  return apply(tf.layers.averagePooling2d({ name: `${name}_pool`, poolSize: 2, strides: 2 }), y);
}

/** A DenseNet of any depth (Keras' `DenseNet(blocks)`). Grad-CAM layer: `relu` (after the final `bn`). */
export function buildDenseNet(spec: DenseNetSpec, opts: ArchOptions & { name?: string } = {}): tf.LayersModel {
  const size = opts.size ?? 224;
  const ctx = new Ctx(opts.seed ?? 1, opts.naming ?? 'keras2');
  const sep = ctx.naming === 'keras2' ? '/' : '_';
  const input = tf.input({ shape: [size, size, 3], name: ctx.inputName() });
  let x = apply(
    tf.layers.zeroPadding2d({
      name: ctx.auto('zero_padding2d'),
      padding: [
        [3, 3],
        [3, 3],
      ],
    }),
    input,
  );
  x = conv(ctx, x, `conv1${sep}conv`, spec.stemFilters, 7, { strides: 2, useBias: false });
  x = bn(ctx, x, `conv1${sep}bn`, { epsilon: 1.001e-5 });
  x = relu(x, `conv1${sep}relu`);
  x = apply(
    tf.layers.zeroPadding2d({
      name: ctx.auto('zero_padding2d'),
      padding: [
        [1, 1],
        [1, 1],
      ],
    }),
    x,
  );
  x = apply(tf.layers.maxPooling2d({ name: 'pool1', poolSize: 3, strides: 2 }), x);
  spec.blocks.forEach((n, i) => {
    for (let b = 1; b <= n; b++) x = denseConvBlock(ctx, x, spec.growth, `conv${i + 2}_block${b}`);
    if (i < spec.blocks.length - 1) x = transitionBlock(ctx, x, 0.5, `pool${i + 2}`);
  });
  x = bn(ctx, x, 'bn', { epsilon: 1.001e-5 });
  x = relu(x, 'relu');
  return finish(tf.model({ inputs: input, outputs: head(ctx, x, opts.classes ?? 1000), name: opts.name ?? 'densenet' }), opts, 'densenet');
}

/** keras.applications.DenseNet121 (224×224×3, 1000 classes; 8,062,504 parameters). */
export function buildDenseNet121(opts: ArchOptions = {}): tf.LayersModel {
  return buildDenseNet({ blocks: [6, 12, 24, 16], growth: 32, stemFilters: 64 }, { ...opts, name: 'densenet121' });
}

/** DenseNet121's layer kinds at 32×32: stem, dense block conv2 (2 blocks), transition pool2, dense block conv3 (2 blocks), bn, relu. */
export function buildTinyDenseNet(opts: ArchOptions = {}): tf.LayersModel {
  return buildDenseNet({ blocks: [2, 2], growth: 4, stemFilters: 8 }, { size: 32, classes: 10, ...opts, name: 'tiny_densenet' });
}
