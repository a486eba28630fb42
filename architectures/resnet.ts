/** ResNet v1 as keras.applications.resnet builds it (ResNet50/101/152), and a tiny variant for fast tests. */
import * as tf from '@tensorflow/tfjs';
import { apply, bn, conv, Ctx, finish, head, relu, type ArchOptions, type T } from './common.js';

export interface ResNetSpec {
  /** Filters of conv1_conv (Keras: 64). */
  stemFilters: number;
  /** Per stack conv2, conv3, …: bottleneck filters, blocks, stride of the first block. */
  stacks: { filters: number; blocks: number; stride: number }[];
}

/** One v1 bottleneck block: 1×1 (strided) → 3×3 → 1×1 (4·filters), BN after each, Add with the shortcut, relu. */
function residualBlockV1(ctx: Ctx, x: T, filters: number, stride: number, convShortcut: boolean, name: string): T {
  const eps = { epsilon: 1.001e-5 };
  let shortcut = x;
  if (convShortcut) {
    shortcut = conv(ctx, x, `${name}_0_conv`, 4 * filters, 1, { strides: stride });
    shortcut = bn(ctx, shortcut, `${name}_0_bn`, eps);
  }
  let y = conv(ctx, x, `${name}_1_conv`, filters, 1, { strides: stride });
  y = bn(ctx, y, `${name}_1_bn`, eps);
  y = relu(y, `${name}_1_relu`);
  y = conv(ctx, y, `${name}_2_conv`, filters, 3, { padding: 'same' });
  y = bn(ctx, y, `${name}_2_bn`, eps);
  y = relu(y, `${name}_2_relu`);
  y = conv(ctx, y, `${name}_3_conv`, 4 * filters, 1);
  y = bn(ctx, y, `${name}_3_bn`, eps);
  y = apply(tf.layers.add({ name: `${name}_add` }), [shortcut, y]);
  return relu(y, `${name}_out`);
}

/** A ResNet v1 of any depth (Keras' `ResNet(stack_fn, preact=False, use_bias=True)`). */
export function buildResNet(spec: ResNetSpec, opts: ArchOptions & { name?: string } = {}): tf.LayersModel {
  const size = opts.size ?? 224;
  const ctx = new Ctx(opts.seed ?? 1, opts.naming ?? 'keras2');
  const input = tf.input({ shape: [size, size, 3], name: ctx.inputName() });
  let x = apply(
    tf.layers.zeroPadding2d({
      name: 'conv1_pad',
      padding: [
        [3, 3],
        [3, 3],
      ],
    }),
    input,
  );
  x = conv(ctx, x, 'conv1_conv', spec.stemFilters, 7, { strides: 2 });
  x = bn(ctx, x, 'conv1_bn', { epsilon: 1.001e-5 });
  x = relu(x, 'conv1_relu');
  x = apply(
    tf.layers.zeroPadding2d({
      name: 'pool1_pad',
      padding: [
        [1, 1],
        [1, 1],
      ],
    }),
    x,
  );
  x = apply(tf.layers.maxPooling2d({ name: 'pool1_pool', poolSize: 3, strides: 2 }), x);
  spec.stacks.forEach((s, i) => {
    const stack = `conv${i + 2}`;
    x = residualBlockV1(ctx, x, s.filters, s.stride, true, `${stack}_block1`);
    for (let b = 2; b <= s.blocks; b++) x = residualBlockV1(ctx, x, s.filters, 1, false, `${stack}_block${b}`);
  });
  return finish(tf.model({ inputs: input, outputs: head(ctx, x, opts.classes ?? 1000), name: opts.name ?? 'resnet' }), opts, 'resnet');
}

/** keras.applications.ResNet50 (224×224×3, 1000 classes; 25,636,712 parameters). Grad-CAM layer: conv5_block3_out. */
export function buildResNet50(opts: ArchOptions = {}): tf.LayersModel {
  const stacks = [
    { filters: 64, blocks: 3, stride: 1 },
    { filters: 128, blocks: 4, stride: 2 },
    { filters: 256, blocks: 6, stride: 2 },
    { filters: 512, blocks: 3, stride: 2 },
  ];
  return buildResNet({ stemFilters: 64, stacks }, { ...opts, name: 'resnet50' });
}

/** ResNet50's layer kinds at 32×32: stem, conv2 (2 blocks: conv and identity shortcut), conv3 (1 strided block). Last block output: conv3_block1_out. */
export function buildTinyResNet(opts: ArchOptions = {}): tf.LayersModel {
  return buildResNet(
    {
      stemFilters: 8,
      stacks: [
        { filters: 4, blocks: 2, stride: 1 },
        { filters: 6, blocks: 1, stride: 2 },
      ],
    },
    { size: 32, classes: 10, ...opts, name: 'tiny_resnet' },
  );
}
