/** InceptionV3 as keras.applications.inception_v3 builds it, and a tiny variant for fast tests. */
import * as tf from '@tensorflow/tfjs';
import { apply, bn, conv, Ctx, finish, head, relu, type ArchOptions, type T } from './common.js';

/** Keras' conv2d_bn: Conv2D (no bias) → BatchNormalization(scale=False, epsilon 1e-3) → relu, all auto-named. */
function conv2dBn(
  ctx: Ctx,
  x: T,
  filters: number,
  rows: number,
  cols: number,
  o: { strides?: number; padding?: 'valid' | 'same' } = {},
): T {
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
