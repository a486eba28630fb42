import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../engine/backend.js';
import {
  canRouteByMask,
  offsetWinners,
  routeByMask,
  routeByOffsets,
  winnerMask,
  winnerMaskByOps,
  winnerMaskOnHost,
} from '../../engine/pool-routing.js';
import { routeByGradient } from '../util/pool-reference.js';
import { POOL_WINDOW_CASES, randomImage } from '../util/models.js';

test('winner mask routes each window to its first maximum (hand-computed, with ties)', async () => {
  await initBackend('wasm');
  // One 4×4 channel, 2×2 windows. Window (0,0) ties at 5 (first = top-left); (0,1) single max;
  // (1,0) all equal (first = top-left); (1,1) ties between bottom-left and bottom-right.
  const a = tf.tensor4d([5, 1, 2, 9, 0, 5, 3, 4, 7, 7, 1, 2, 7, 7, 8, 8], [1, 4, 4, 1]);
  const g = { poolSize: [2, 2] as [number, number], strides: [2, 2] as [number, number], padding: 'valid' as const };
  const mask = winnerMask(a, g);
  const want = [1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0];
  assert.deepEqual(Array.from(mask.dataSync()), want);
  assert.deepEqual(Array.from(winnerMaskOnHost(a, g).dataSync()), want, 'host scan');
  assert.deepEqual(Array.from(winnerMaskByOps(a, g).dataSync()), want, 'tensor ops (the GPU path)');
  const r = tf.tensor4d([10, 20, 30, 40], [1, 2, 2, 1]);
  const routed = routeByMask(r, mask, g);
  assert.deepEqual(Array.from(routed.dataSync()), [10, 0, 0, 20, 0, 0, 0, 0, 30, 0, 0, 0, 0, 0, 40, 0]);
});

test('mask routing equals MaxPoolGrad (cpu reference) for positive and negative inputs, K seeds, odd sizes', async () => {
  for (const [h, w] of [
    [8, 8],
    [7, 9],
  ] as const) {
    const c = 3;
    const b = 2;
    const k = 3;
    const g = { poolSize: [2, 2] as [number, number], strides: [2, 2] as [number, number], padding: 'valid' as const };
    const data = randomImage(b * h * w * c, 5, -1, 1);
    const rData = randomImage(b * k * Math.floor(h / 2) * Math.floor(w / 2) * c, 9, -1, 1);
    await initBackend('cpu');
    const aCpu = tf.tensor4d(data, [b, h, w, c]);
    const rCpu = tf.tensor4d(rData, [b * k, Math.floor(h / 2), Math.floor(w / 2), c]);
    const expected = Array.from(routeByGradient(rCpu, aCpu, g).dataSync());
    await initBackend('wasm');
    const a = tf.tensor4d(data, [b, h, w, c]);
    const r = tf.tensor4d(rData, [b * k, Math.floor(h / 2), Math.floor(w / 2), c]);
    assert.ok(canRouteByMask(g, h, w));
    const got = Array.from(routeByMask(r, winnerMask(a, g), g).dataSync());
    assert.equal(got.length, expected.length);
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - expected[i]!) < 1e-6, `element ${i}: ${got[i]} vs ${expected[i]}`);
  }
});

test('offset routing (overlapping windows, padding) equals MaxPoolGrad (cpu reference) on wasm, for negative inputs and K seeds', async () => {
  const cases = [
    { pool: 3, stride: 2, padding: 'valid', h: 9, w: 8 }, // ResNet/DenseNet/Inception stem pools
    { pool: 3, stride: 2, padding: 'same', h: 7, w: 6 },
    { pool: 3, stride: 1, padding: 'same', h: 5, w: 5 },
    { pool: 2, stride: 1, padding: 'valid', h: 4, w: 5 },
  ] as const;
  for (const cs of cases) {
    const g = {
      poolSize: [cs.pool, cs.pool] as [number, number],
      strides: [cs.stride, cs.stride] as [number, number],
      padding: cs.padding,
    };
    const [b, k, c] = [2, 3, 2];
    const data = randomImage(b * cs.h * cs.w * c, 17, -1, 1);
    await initBackend('cpu');
    const aCpu = tf.tensor4d(data, [b, cs.h, cs.w, c]);
    const [, ho, wo] = tf.maxPool(aCpu, g.poolSize, g.strides, g.padding).shape;
    const rData = randomImage(b * k * ho * wo * c, 23, -1, 1);
    const expected = routeByGradient(tf.tensor4d(rData, [b * k, ho, wo, c]), aCpu, g).dataSync();
    await initBackend('wasm');
    assert.ok(!canRouteByMask(g, cs.h, cs.w));
    const a = tf.tensor4d(data, [b, cs.h, cs.w, c]);
    const wins = offsetWinners(a, g);
    const got = routeByOffsets(tf.tensor4d(rData, [b * k, ho, wo, c]), wins, g, cs.h, cs.w).dataSync();
    assert.equal(got.length, expected.length);
    for (let i = 0; i < got.length; i++)
      assert.ok(Math.abs(got[i]! - expected[i]!) < 1e-6, `${JSON.stringify(cs)} element ${i}: ${got[i]} vs ${expected[i]}`);
    tf.dispose(wins);
  }
});

test('host-scan and tensor-op winner masks agree: many ties, odd sizes, 3×3 windows, −∞ windows', async () => {
  await initBackend('wasm');
  for (const [h, w, k] of POOL_WINDOW_CASES) {
    const [b, c] = [2, 5];
    // Values on a coarse grid (0, 0.5, 1, 1.5) so that most windows hold ties.
    const data = Float32Array.from(randomImage(b * h * w * c, 31 + h, 0, 2), (v) => Math.floor(v * 2) / 2);
    data[0] = -Infinity; // a window with −∞ in its first cell still picks a real maximum
    if (k === 2) for (const i of [c, w * c, w * c + c]) data[1 + i] = data[1] = -Infinity; // channel 1 of window (0,0): all −∞ → first cell
    const a = tf.tensor4d(data, [b, h, w, c]);
    const g = { poolSize: [k, k] as [number, number], strides: [k, k] as [number, number], padding: 'valid' as const };
    const host = Array.from(winnerMaskOnHost(a, g).dataSync());
    const ops = Array.from(winnerMaskByOps(a, g).dataSync());
    assert.deepEqual(host, ops, `h=${h} w=${w} pool=${k}`);
    // Exactly one winner per window and channel.
    const windows = b * Math.floor(h / k) * Math.floor(w / k) * c;
    assert.equal(
      host.reduce((s, v) => s + v, 0),
      windows,
      'one winner per window',
    );
  }
});
