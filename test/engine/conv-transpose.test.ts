import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../engine/backend.js';
import { conv2dTransposeByConv, rotateKernel } from '../../engine/conv-transpose.js';
import { randomImage } from '../util/models.js';

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

const CASES: { h: number; w: number; k: [number, number]; s: [number, number]; pad: 'same' | 'valid' }[] = [
  { h: 9, w: 9, k: [3, 3], s: [1, 1], pad: 'same' },
  { h: 8, w: 7, k: [3, 3], s: [1, 1], pad: 'valid' },
  { h: 10, w: 10, k: [3, 3], s: [2, 2], pad: 'same' },
  { h: 11, w: 9, k: [3, 3], s: [2, 2], pad: 'valid' },
  { h: 8, w: 8, k: [2, 2], s: [1, 1], pad: 'same' }, // even kernel: asymmetric TF padding
  { h: 7, w: 7, k: [4, 4], s: [2, 2], pad: 'same' },
  { h: 12, w: 12, k: [7, 7], s: [2, 2], pad: 'same' }, // ResNet-style stem
  { h: 6, w: 6, k: [1, 1], s: [1, 1], pad: 'valid' },
];

for (const backend of ['cpu', 'wasm'] as const) {
  test(`rotated-kernel forward conv equals tf.conv2dTranspose (${backend})`, async () => {
    await initBackend(backend);
    for (const c of CASES) {
      const cin = 3;
      const cout = 4;
      const kernel = tf.tensor4d(randomImage(c.k[0] * c.k[1] * cin * cout, 3, -1, 1), [c.k[0], c.k[1], cin, cout]);
      const y = tf.conv2d(tf.zeros([2, c.h, c.w, cin]) as tf.Tensor4D, kernel, c.s, c.pad);
      const dy = tf.tensor4d(randomImage(y.size, 11, -1, 1), y.shape as [number, number, number, number]);
      const expected = tf.conv2dTranspose(dy, kernel, [2, c.h, c.w, cin], c.s, c.pad);
      const got = conv2dTransposeByConv(dy, rotateKernel(kernel), [c.h, c.w], c.s, c.pad);
      assert.deepEqual(got.shape, expected.shape, JSON.stringify(c));
      assert.ok(maxAbsDiff(got, expected) < 1e-4, `${JSON.stringify(c)}: differs by ${maxAbsDiff(got, expected)}`);
    }
  });
}
