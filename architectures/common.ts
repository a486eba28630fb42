/**
 * The pieces every architecture builder shares: per-layer seeds and Keras' automatic layer names,
 * Conv2D / BatchNormalization / ReLU / classifier-head helpers with seeded initializers, and the
 * data-dependent BatchNormalization statistics that keep a deep random network numerically sane.
 */
import * as tf from '@tensorflow/tfjs';
import { seededUniform } from './seeded-noise.js';

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

export type T = tf.SymbolicTensor;

/** Hands out per-layer seeds and Keras-style automatic names. */
export class Ctx {
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

export function apply(layer: tf.layers.Layer, x: T | T[]): T {
  return layer.apply(x) as T;
}

export function conv(
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

export function bn(ctx: Ctx, x: T, name: string, o: { epsilon?: number; scale?: boolean } = {}): T {
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

export function relu(x: T, name: string): T {
  return apply(tf.layers.activation({ name, activation: 'relu' }), x);
}

export function head(ctx: Ctx, x: T, classes: number): T {
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
  return seededUniform(n, (seed * 2654435761) >>> 0, lo, hi);
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

export function finish(model: tf.LayersModel, opts: ArchOptions, family: keyof typeof FAMILY_INPUT_BOUNDS): tf.LayersModel {
  const cal = opts.calibration ?? FAMILY_INPUT_BOUNDS[family];
  return cal === false ? model : calibrateBatchNorm(model, cal, opts.seed ?? 1);
}
