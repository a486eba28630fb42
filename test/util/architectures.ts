import * as tf from '@tensorflow/tfjs';
import { randomImage } from './models.js';

/**
 * ResNet50, DenseNet121 and InceptionV3 as `keras.applications` defines them (same layers, order,
 * hyper-parameters and layer names; channels_last; 1000-class softmax head), with seeded random
 * weights, plus small variants with the same layer kinds for fast tests.
 *
 * Layer names follow Keras. Two naming generations exist, chosen by `naming`:
 * - `keras2` (default; tf.keras ≤ 2.15 / tf_keras, what `tensorflowjs_converter` reads): DenseNet's
 *   stem is `conv1/conv`, `conv1/bn`, `conv1/relu`; the input layer is `input_1`.
 * - `keras3` (keras ≥ 3): DenseNet's stem is `conv1_conv`, `conv1_bn`, `conv1_relu`; the input
 *   layer is `input_layer`.
 * Every other name is the same in both. TF.js (4.22) accepts '/' in layer names, and weights are
 * then named `conv1/conv/kernel` as in converted models. Layers Keras leaves unnamed get the names
 * Keras' per-class counters give them in a fresh session (`zero_padding2d`, `zero_padding2d_1`;
 * InceptionV3's `conv2d` … `conv2d_93`, `batch_normalization_…`, `activation_…`,
 * `max_pooling2d_…`, `average_pooling2d_…`, `concatenate`, `concatenate_1`), since TF.js' own
 * automatic names differ (`conv2d_Conv2D1`).
 *
 * Weights: conv kernels He-normal, dense kernels Glorot-uniform, biases small uniform, and every
 * BatchNormalization has random gamma, beta, moving mean and moving variance (so folding BN into
 * the neighbouring conv changes the weights). Each weight has its own seed, derived from `seed`
 * and the layer's position, so a builder returns the same model every time.
 */

export type KerasNaming = 'keras2' | 'keras3';

export interface ArchOptions {
  /** Input side (default: the family's ImageNet size; tiny variants: 32). */
  size?: number;
  /** Output classes (default 1000; tiny variants: 10). */
  classes?: number;
  /** Base seed of all initializers (default 1). */
  seed?: number;
  /** Keras generation whose names to use (default 'keras2'). */
  naming?: KerasNaming;
  /**
   * Input range of the seeded random image that sets the BatchNormalization statistics (see
   * calibrateBatchNorm); default: the family's preprocessing range (ResNet50 caffe, DenseNet torch,
   * InceptionV3 tf). `false` keeps the purely random statistics (activations then grow with depth).
   */
  calibration?: { low: number; high: number } | false;
}

/** [low, high] of one preprocessed pixel per Keras preprocessing mode (as pipeline/config.ts' presets). */
export const FAMILY_INPUT_BOUNDS = {
  resnet: { low: -123.68, high: 151.061 }, // caffe
  densenet: { low: -0.485 / 0.229, high: (1 - 0.406) / 0.225 }, // torch
  inception: { low: -1, high: 1 }, // tf
} as const;

type T = tf.SymbolicTensor;

/** Hands out per-layer seeds and Keras-style automatic names. */
class Ctx {
  private next: number;
  private readonly counts = new Map<string, number>();
  constructor(
    seed: number,
    readonly naming: KerasNaming,
  ) {
    this.next = seed * 100_003;
  }
  /** A fresh seed (unique within the model). */
  seed(): number {
    this.next += 1;
    return this.next;
  }
  /** Keras' automatic name for the n-th unnamed layer of a class: `conv2d`, `conv2d_1`, … */
  auto(base: string): string {
    const n = this.counts.get(base) ?? 0;
    this.counts.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  }
  inputName(): string {
    return this.naming === 'keras2' ? 'input_1' : 'input_layer';
  }
}

function apply(layer: tf.layers.Layer, x: T | T[]): T {
  return layer.apply(x) as T;
}

function conv(
  ctx: Ctx,
  x: T,
  name: string,
  filters: number,
  kernel: number | [number, number],
  o: { strides?: number; padding?: 'valid' | 'same'; useBias?: boolean } = {},
): T {
  const useBias = o.useBias ?? true;
  return apply(
    tf.layers.conv2d({
      name,
      filters,
      kernelSize: kernel,
      strides: o.strides ?? 1,
      padding: o.padding ?? 'valid',
      useBias,
      kernelInitializer: tf.initializers.heNormal({ seed: ctx.seed() }),
      ...(useBias && { biasInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: ctx.seed() }) }),
    }),
    x,
  );
}

function bn(ctx: Ctx, x: T, name: string, o: { epsilon?: number; scale?: boolean } = {}): T {
  const scale = o.scale ?? true;
  return apply(
    tf.layers.batchNormalization({
      name,
      axis: 3,
      momentum: 0.99,
      epsilon: o.epsilon ?? 1e-3,
      center: true,
      scale,
      ...(scale && { gammaInitializer: tf.initializers.randomUniform({ minval: 0.6, maxval: 1.4, seed: ctx.seed() }) }),
      betaInitializer: tf.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: ctx.seed() }),
      movingMeanInitializer: tf.initializers.randomUniform({ minval: -0.3, maxval: 0.3, seed: ctx.seed() }),
      movingVarianceInitializer: tf.initializers.randomUniform({ minval: 0.6, maxval: 1.6, seed: ctx.seed() }),
    }),
    x,
  );
}

function relu(x: T, name: string): T {
  return apply(tf.layers.activation({ name, activation: 'relu' }), x);
}

function head(ctx: Ctx, x: T, classes: number): T {
  x = apply(tf.layers.globalAveragePooling2d({ name: 'avg_pool' }), x);
  return apply(
    tf.layers.dense({
      name: 'predictions',
      units: classes,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: ctx.seed() }),
      biasInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: ctx.seed() }),
    }),
    x,
  );
}

/** Seeded uniform noise in [lo, hi) (one xorshift32 stream per seed, seeds spread by a multiplicative hash). */
function noise(n: number, seed: number, lo: number, hi: number): Float32Array {
  return randomImage(n, (seed * 2654435761) >>> 0, lo, hi);
}

/**
 * Data-dependent BatchNormalization statistics, so that a deep random network stays numerically
 * sane (unit-scale activations, logits of a few units, a softmax that is not one-hot): runs one
 * seeded random image in [low, high] through the model layer by layer, in topological order, and
 * sets each BN layer's moving mean and variance from the per-channel moments of its actual input,
 * perturbed at random (mean + 0.2·σ·U(−1, 1), variance · U(0.7, 1.4), at least 1e-2), before the
 * layers after it see its output. Gamma and beta keep their random values. Returns the model.
 */
export function calibrateBatchNorm(model: tf.LayersModel, bounds: { low: number; high: number }, seed = 1): tf.LayersModel {
  const [h, w, c] = model.inputs[0]!.shape.slice(1) as number[];
  const values = new Map<number, tf.Tensor>();
  const uses = new Map<number, number>();
  type LayerNodes = { inboundNodes: { inputTensors: tf.SymbolicTensor[]; outputTensors: tf.SymbolicTensor[] }[] };
  for (const layer of model.layers) {
    for (const t of (layer as unknown as LayerNodes).inboundNodes[0]?.inputTensors ?? []) uses.set(t.id, (uses.get(t.id) ?? 0) + 1);
  }
  values.set(model.inputs[0]!.id, tf.tensor4d(noise(h! * w! * c!, seed, bounds.low, bounds.high), [1, h!, w!, c!]));
  let k = 0;
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const node = (layer as unknown as LayerNodes).inboundNodes[0]!;
    const ins = node.inputTensors.map((t) => values.get(t.id)!);
    if (layer.getClassName() === 'BatchNormalization') {
      k += 1;
      const { mean, variance } = tf.moments(ins[0]!, [0, 1, 2]);
      const m = mean.dataSync() as Float32Array;
      const v = variance.dataSync() as Float32Array;
      mean.dispose();
      variance.dispose();
      const n = m.length;
      const dm = noise(n, seed * 7919 + 2 * k, -0.2, 0.2);
      const fv = noise(n, seed * 7919 + 2 * k + 1, 0.7, 1.4);
      const newMean = m.map((mu, i) => mu + dm[i]! * Math.sqrt(v[i]!));
      const newVar = v.map((s2, i) => Math.max(s2, 1e-2) * fv[i]!);
      const vars = layer.weights;
      const current = layer.getWeights();
      layer.setWeights(
        current.map((t, i) => {
          const name = vars[i]!.originalName;
          if (name.endsWith('moving_mean')) return tf.tensor1d(newMean);
          if (name.endsWith('moving_variance')) return tf.tensor1d(newVar);
          return t;
        }),
      );
    }
    const out = tf.tidy(() => layer.apply(ins.length === 1 ? ins[0]! : ins) as tf.Tensor);
    values.set(node.outputTensors[0]!.id, out);
    for (const t of node.inputTensors) {
      const left = (uses.get(t.id) ?? 1) - 1;
      uses.set(t.id, left);
      if (left === 0) {
        values.get(t.id)?.dispose();
        values.delete(t.id);
      }
    }
  }
  for (const v of values.values()) v.dispose();
  return model;
}

function finish(model: tf.LayersModel, opts: ArchOptions, family: keyof typeof FAMILY_INPUT_BOUNDS): tf.LayersModel {
  const cal = opts.calibration ?? FAMILY_INPUT_BOUNDS[family];
  return cal === false ? model : calibrateBatchNorm(model, cal, opts.seed ?? 1);
}

// ---------------------------------------------------------------------------------------------
// ResNet (v1: keras.applications.resnet.ResNet50/101/152)

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
  let x = apply(tf.layers.zeroPadding2d({ name: 'conv1_pad', padding: [[3, 3], [3, 3]] }), input);
  x = conv(ctx, x, 'conv1_conv', spec.stemFilters, 7, { strides: 2 });
  x = bn(ctx, x, 'conv1_bn', { epsilon: 1.001e-5 });
  x = relu(x, 'conv1_relu');
  x = apply(tf.layers.zeroPadding2d({ name: 'pool1_pad', padding: [[1, 1], [1, 1]] }), x);
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

// ---------------------------------------------------------------------------------------------
// DenseNet (keras.applications.densenet)

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
  let x = apply(tf.layers.zeroPadding2d({ name: ctx.auto('zero_padding2d'), padding: [[3, 3], [3, 3]] }), input);
  x = conv(ctx, x, `conv1${sep}conv`, spec.stemFilters, 7, { strides: 2, useBias: false });
  x = bn(ctx, x, `conv1${sep}bn`, { epsilon: 1.001e-5 });
  x = relu(x, `conv1${sep}relu`);
  x = apply(tf.layers.zeroPadding2d({ name: ctx.auto('zero_padding2d'), padding: [[1, 1], [1, 1]] }), x);
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

// ---------------------------------------------------------------------------------------------
// InceptionV3 (keras.applications.inception_v3)

/** Keras' conv2d_bn: Conv2D (no bias) → BatchNormalization(scale=False, epsilon 1e-3) → relu, all auto-named. */
function conv2dBn(ctx: Ctx, x: T, filters: number, rows: number, cols: number, o: { strides?: number; padding?: 'valid' | 'same' } = {}): T {
  x = conv(ctx, x, ctx.auto('conv2d'), filters, [rows, cols], { strides: o.strides ?? 1, padding: o.padding ?? 'same', useBias: false });
  x = bn(ctx, x, ctx.auto('batch_normalization'), { scale: false });
  return relu(x, ctx.auto('activation'));
}

function maxPool3s2(ctx: Ctx, x: T): T {
  return apply(tf.layers.maxPooling2d({ name: ctx.auto('max_pooling2d'), poolSize: [3, 3], strides: [2, 2] }), x);
}

function avgPool3s1(ctx: Ctx, x: T): T {
  return apply(tf.layers.averagePooling2d({ name: ctx.auto('average_pooling2d'), poolSize: [3, 3], strides: [1, 1], padding: 'same' }), x);
}

function concat(ctx: Ctx, xs: T[], name?: string): T {
  return apply(tf.layers.concatenate({ name: name ?? ctx.auto('concatenate'), axis: 3 }), xs);
}

/** Filter counts of one Inception module (every count divided by `div` in the tiny variant). */
type F = (n: number) => number;

/** mixed0–2: 1×1 | 1×1→5×5 | 1×1→3×3→3×3 | avgpool→1×1. */
function moduleA(ctx: Ctx, x: T, f: F, poolFilters: number, name: string): T {
  const b1 = conv2dBn(ctx, x, f(64), 1, 1);
  let b5 = conv2dBn(ctx, x, f(48), 1, 1);
  b5 = conv2dBn(ctx, b5, f(64), 5, 5);
  let b3 = conv2dBn(ctx, x, f(64), 1, 1);
  b3 = conv2dBn(ctx, b3, f(96), 3, 3);
  b3 = conv2dBn(ctx, b3, f(96), 3, 3);
  let bp = avgPool3s1(ctx, x);
  bp = conv2dBn(ctx, bp, f(poolFilters), 1, 1);
  return concat(ctx, [b1, b5, b3, bp], name);
}

/** mixed3: 3×3/2 | 1×1→3×3→3×3/2 | maxpool 3×3/2. */
function moduleB(ctx: Ctx, x: T, f: F, name: string): T {
  const b3 = conv2dBn(ctx, x, f(384), 3, 3, { strides: 2, padding: 'valid' });
  let bd = conv2dBn(ctx, x, f(64), 1, 1);
  bd = conv2dBn(ctx, bd, f(96), 3, 3);
  bd = conv2dBn(ctx, bd, f(96), 3, 3, { strides: 2, padding: 'valid' });
  const bp = maxPool3s2(ctx, x);
  return concat(ctx, [b3, bd, bp], name);
}

/** mixed4–7: 1×1 | 1×1→1×7→7×1 | 1×1→7×1→1×7→7×1→1×7 | avgpool→1×1. */
function moduleC(ctx: Ctx, x: T, f: F, c7: number, name: string): T {
  const b1 = conv2dBn(ctx, x, f(192), 1, 1);
  let b7 = conv2dBn(ctx, x, f(c7), 1, 1);
  b7 = conv2dBn(ctx, b7, f(c7), 1, 7);
  b7 = conv2dBn(ctx, b7, f(192), 7, 1);
  let bd = conv2dBn(ctx, x, f(c7), 1, 1);
  bd = conv2dBn(ctx, bd, f(c7), 7, 1);
  bd = conv2dBn(ctx, bd, f(c7), 1, 7);
  bd = conv2dBn(ctx, bd, f(c7), 7, 1);
  bd = conv2dBn(ctx, bd, f(192), 1, 7);
  let bp = avgPool3s1(ctx, x);
  bp = conv2dBn(ctx, bp, f(192), 1, 1);
  return concat(ctx, [b1, b7, bd, bp], name);
}

/** mixed8: 1×1→3×3/2 | 1×1→1×7→7×1→3×3/2 | maxpool 3×3/2. */
function moduleD(ctx: Ctx, x: T, f: F, name: string): T {
  let b3 = conv2dBn(ctx, x, f(192), 1, 1);
  b3 = conv2dBn(ctx, b3, f(320), 3, 3, { strides: 2, padding: 'valid' });
  let b7 = conv2dBn(ctx, x, f(192), 1, 1);
  b7 = conv2dBn(ctx, b7, f(192), 1, 7);
  b7 = conv2dBn(ctx, b7, f(192), 7, 1);
  b7 = conv2dBn(ctx, b7, f(192), 3, 3, { strides: 2, padding: 'valid' });
  const bp = maxPool3s2(ctx, x);
  return concat(ctx, [b3, b7, bp], name);
}

/** mixed9–10: 1×1 | 1×1→(1×3 ‖ 3×1) as mixed9_i | 1×1→3×3→(1×3 ‖ 3×1) | avgpool→1×1. */
function moduleE(ctx: Ctx, x: T, f: F, i: number, name: string): T {
  const b1 = conv2dBn(ctx, x, f(320), 1, 1);
  const b3 = conv2dBn(ctx, x, f(384), 1, 1);
  const b31 = conv2dBn(ctx, b3, f(384), 1, 3);
  const b32 = conv2dBn(ctx, b3, f(384), 3, 1);
  const b3c = concat(ctx, [b31, b32], `mixed9_${i}`);
  let bd = conv2dBn(ctx, x, f(448), 1, 1);
  bd = conv2dBn(ctx, bd, f(384), 3, 3);
  const bd1 = conv2dBn(ctx, bd, f(384), 1, 3);
  const bd2 = conv2dBn(ctx, bd, f(384), 3, 1);
  const bdc = concat(ctx, [bd1, bd2]);
  let bp = avgPool3s1(ctx, x);
  bp = conv2dBn(ctx, bp, f(192), 1, 1);
  return concat(ctx, [b1, b3c, bdc, bp], name);
}

/** keras.applications.InceptionV3 (299×299×3, 1000 classes; 23,851,784 parameters). Grad-CAM layer: mixed10. */
export function buildInceptionV3(opts: ArchOptions = {}): tf.LayersModel {
  const ctx = new Ctx(opts.seed ?? 1, opts.naming ?? 'keras2');
  const size = opts.size ?? 299;
  const f: F = (n) => n;
  const input = tf.input({ shape: [size, size, 3], name: ctx.inputName() });
  let x = conv2dBn(ctx, input, 32, 3, 3, { strides: 2, padding: 'valid' });
  x = conv2dBn(ctx, x, 32, 3, 3, { padding: 'valid' });
  x = conv2dBn(ctx, x, 64, 3, 3);
  x = maxPool3s2(ctx, x);
  x = conv2dBn(ctx, x, 80, 1, 1, { padding: 'valid' });
  x = conv2dBn(ctx, x, 192, 3, 3, { padding: 'valid' });
  x = maxPool3s2(ctx, x);
  x = moduleA(ctx, x, f, 32, 'mixed0');
  x = moduleA(ctx, x, f, 64, 'mixed1');
  x = moduleA(ctx, x, f, 64, 'mixed2');
  x = moduleB(ctx, x, f, 'mixed3');
  x = moduleC(ctx, x, f, 128, 'mixed4');
  x = moduleC(ctx, x, f, 160, 'mixed5');
  x = moduleC(ctx, x, f, 160, 'mixed6');
  x = moduleC(ctx, x, f, 192, 'mixed7');
  x = moduleD(ctx, x, f, 'mixed8');
  x = moduleE(ctx, x, f, 0, 'mixed9');
  x = moduleE(ctx, x, f, 1, 'mixed10');
  return finish(tf.model({ inputs: input, outputs: head(ctx, x, opts.classes ?? 1000), name: 'inception_v3' }), opts, 'inception');
}

/**
 * InceptionV3's layer kinds at 32×32, filters divided by 16: stem (3×3/2 valid, 3×3 same, max pool),
 * one module of each kind — mixed0 (A: avg-pool branch), mixed1 (B: reduction with a max-pool
 * branch), mixed2 (C: 1×7/7×1), mixed3 (E: nested concatenates mixed9_0 and concatenate). Grad-CAM
 * layer: mixed3.
 */
export function buildTinyInception(opts: ArchOptions = {}): tf.LayersModel {
  const ctx = new Ctx(opts.seed ?? 1, opts.naming ?? 'keras2');
  const size = opts.size ?? 32;
  const f: F = (n) => Math.max(2, Math.round(n / 16));
  const input = tf.input({ shape: [size, size, 3], name: ctx.inputName() });
  let x = conv2dBn(ctx, input, 8, 3, 3, { strides: 2, padding: 'valid' });
  x = conv2dBn(ctx, x, 8, 3, 3);
  x = maxPool3s2(ctx, x);
  x = moduleA(ctx, x, f, 32, 'mixed0');
  x = moduleB(ctx, x, f, 'mixed1');
  x = moduleC(ctx, x, f, 128, 'mixed2');
  x = moduleE(ctx, x, f, 0, 'mixed3');
  return finish(tf.model({ inputs: input, outputs: head(ctx, x, opts.classes ?? 10), name: 'tiny_inception' }), opts, 'inception');
}
