import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodeImage, mapBox, resizeCropWindow } from '../../io/image.js';
import { presetBounds } from '../../io/preprocess.js';

/**
 * The PyTorch route's preprocessing: torchvision's Resize(256) + CenterCrop(224) geometry and the
 * torch preset's zB bounds (docs/PROTOCOL.md §6).
 */

test('resize256-crop224: a 448×256 image needs no resampling, so the input is exactly its crop at (112, 16)', async () => {
  const [W, H] = [448, 256];
  const raw = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) raw.set([x % 256, y, x >> 8], (y * W + x) * 3);
  const png = await sharp(raw, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toBuffer();
  const got = await decodeImage(png, { size: 224, geometry: 'resize256-crop224', channels: 3 });
  assert.equal(got.pixels.length, 224 * 224 * 3);
  for (const [i, j] of [
    [0, 0],
    [0, 223],
    [223, 0],
    [111, 57],
    [223, 223],
  ] as const) {
    const [x, y] = [112 + j, 16 + i];
    assert.deepEqual(Array.from(got.pixels.subarray((i * 224 + j) * 3, (i * 224 + j) * 3 + 3)), [x % 256, y, x >> 8], `pixel (${i}, ${j})`);
  }
  // Boxes follow: the crop window maps onto the whole input; what lies left of it is cut away.
  assert.deepEqual(mapBox({ xMin: 112, yMin: 16, xMax: 335, yMax: 239 }, W, H, 224, 'resize256-crop224'), {
    x0: 0,
    y0: 0,
    x1: 224,
    y1: 224,
  });
  assert.equal(mapBox({ xMin: 0, yMin: 0, xMax: 111, yMax: 255 }, W, H, 224, 'resize256-crop224'), null);
});

test('resize256-crop224 follows torchvision: shorter side 256, longer truncated, crop offset rounded half to even', () => {
  // 500×375 (a typical ImageNet photo): int(256·500/375) = 341; (341 − 224)/2 = 58.5 → 58.
  assert.deepEqual(resizeCropWindow(500, 375, 224), { width: 341, height: 256, left: 58, top: 16 });
  // Portrait 375×500, and another size: shorter side round(112·256/224) = 128.
  assert.deepEqual(resizeCropWindow(375, 500, 224), { width: 256, height: 341, left: 16, top: 58 });
  assert.deepEqual(resizeCropWindow(300, 200, 112), { width: 192, height: 128, left: 40, top: 8 });
  const box = mapBox({ xMin: 0, yMin: 0, xMax: 499, yMax: 374 }, 500, 375, 224, 'resize256-crop224');
  assert.deepEqual(box, { x0: 0, y0: 0, x1: 224, y1: 224 });
});

test('torch preset: zB bounds are the smallest and largest value over all channels (−2.1179, 2.6400)', () => {
  const b = presetBounds('torch', 3);
  assert.ok(Math.abs(b.low - -0.485 / 0.229) < 1e-6 && Math.abs(b.low - -2.1179) < 1e-4, `low ${b.low}`);
  assert.ok(Math.abs(b.high - (1 - 0.406) / 0.225) < 1e-6 && Math.abs(b.high - 2.64) < 1e-4, `high ${b.high}`);
});
