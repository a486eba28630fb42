import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { deprocessToRgb, preprocess, presetBounds, PRESETS, type PreprocessPreset } from '../../io/preprocess.js';

/** float32 results are compared to float64 hand arithmetic with a float32-sized tolerance. */
function close(actual: ArrayLike<number>, expected: number[], tol = 1e-5): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= tol * Math.max(1, Math.abs(expected[i]!)),
      `index ${i}: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

describe('preprocess', () => {
  test('caffe: RGB → BGR minus the BGR means, no scaling', () => {
    // Two pixels in a 1×2 image: RGB (10, 20, 30) and (255, 0, 128).
    const out = preprocess(new Uint8Array([10, 20, 30, 255, 0, 128]), 1, 2, 3, 'caffe');
    close(out, [30 - 103.939, 20 - 116.779, 10 - 123.68, 128 - 103.939, 0 - 116.779, 255 - 123.68]);
    close(out, [-73.939, -96.779, -113.68, 24.061, -116.779, 131.32]);
  });

  test('torch: /255 then (x − mean) / std, RGB order', () => {
    const out = preprocess(new Uint8Array([255, 0, 128]), 1, 1, 3, 'torch');
    // (1 − 0.485) / 0.229, (0 − 0.456) / 0.224, (128/255 − 0.406) / 0.225
    close(out, [2.2489082969432315, -2.0357142857142856, 0.42649237472766865]);
  });

  test('tf: x / 127.5 − 1, for RGB and grayscale', () => {
    close(preprocess(new Uint8Array([0, 51, 255]), 1, 1, 3, 'tf'), [-1, -0.6, 1]);
    close(preprocess(new Uint8Array([0, 51, 255, 127]), 2, 2, 1, 'tf'), [-1, -0.6, 1, 127 / 127.5 - 1]);
  });

  test('unit: x / 255, grayscale and RGB', () => {
    close(preprocess(new Uint8Array([0, 51, 255]), 3, 1, 1, 'unit'), [0, 0.2, 1]);
    close(preprocess(new Uint8Array([0, 51, 255]), 1, 1, 3, 'unit'), [0, 0.2, 1]);
  });

  test('refuses per-channel presets on grayscale, bad channel counts and wrong lengths', () => {
    assert.throws(() => preprocess(new Uint8Array(4), 2, 2, 1, 'caffe'), /'caffe'.*needs 3-channel/);
    assert.throws(() => preprocess(new Uint8Array(4), 2, 2, 1, 'torch'), /'torch'.*needs 3-channel/);
    assert.throws(() => preprocess(new Uint8Array(8), 2, 2, 2, 'unit'), /2 channels/);
    assert.throws(() => preprocess(new Uint8Array(11), 2, 2, 3, 'tf'), /11 values given but 2×2×3 needs 12/);
    assert.throws(() => preprocess(new Uint8Array(3), 1, 1, 3, 'imagenet' as PreprocessPreset), /unknown preset 'imagenet'/);
  });
});

describe('presetBounds', () => {
  test('hand-computed bounds', () => {
    const caffe = presetBounds('caffe', 3);
    assert.ok(Math.abs(caffe.low - -123.68) < 1e-12);
    assert.ok(Math.abs(caffe.high - 151.061) < 1e-12);
    const torch = presetBounds('torch', 3);
    // low: red, (0 − 0.485) / 0.229; high: blue, (1 − 0.406) / 0.225
    assert.ok(Math.abs(torch.low - -2.1179039301310043) < 1e-12);
    assert.ok(Math.abs(torch.high - 2.64) < 1e-12);
    assert.deepEqual(presetBounds('tf', 3), { low: -1, high: 1 });
    assert.deepEqual(presetBounds('tf', 1), { low: -1, high: 1 });
    assert.deepEqual(presetBounds('unit', 1), { low: 0, high: 1 });
  });

  test('every preprocessed value lies within the bounds, and both bounds are reached', () => {
    for (const preset of PRESETS) {
      for (const channels of preset === 'caffe' || preset === 'torch' ? [3] : [1, 3]) {
        const { low, high } = presetBounds(preset, channels);
        // Every 8-bit value in every channel.
        const px = new Uint8Array(256 * channels).map((_, i) => Math.floor(i / channels));
        const out = preprocess(px, 256, 1, channels, preset);
        let min = Infinity;
        let max = -Infinity;
        for (const v of out) {
          min = Math.min(min, v);
          max = Math.max(max, v);
        }
        // float32 storage rounds by at most a few ulps.
        assert.ok(Math.abs(min - low) <= 1e-5 * Math.max(1, Math.abs(low)), `${preset}/${channels} min ${min} vs ${low}`);
        assert.ok(Math.abs(max - high) <= 1e-5 * Math.max(1, Math.abs(high)), `${preset}/${channels} max ${max} vs ${high}`);
      }
    }
  });
});

describe('deprocessToRgb', () => {
  test('inverts every preset exactly for every 8-bit value', () => {
    // px[3p + c] = (3p + c) mod 256: since 3 and 256 are coprime, every channel sees every value.
    const px = new Uint8Array(256 * 3).map((_, i) => i % 256);
    for (const preset of PRESETS) {
      const back = deprocessToRgb(preprocess(px, 16, 16, 3, preset), 16, 16, 3, preset);
      assert.deepEqual(back, px, preset);
    }
  });

  test('caffe BGR comes back as RGB', () => {
    // BGR input (30 − 103.939, 20 − 116.779, 10 − 123.68) is the RGB pixel (10, 20, 30).
    const input = new Float32Array([30 - 103.939, 20 - 116.779, 10 - 123.68]);
    assert.deepEqual(deprocessToRgb(input, 1, 1, 3, 'caffe'), new Uint8Array([10, 20, 30]));
  });

  test('grayscale is repeated into R, G and B', () => {
    const gray = preprocess(new Uint8Array([0, 51, 200]), 1, 3, 1, 'unit');
    assert.deepEqual(deprocessToRgb(gray, 1, 3, 1, 'unit'), new Uint8Array([0, 0, 0, 51, 51, 51, 200, 200, 200]));
  });

  test('clamps values outside the valid range (e.g. masked inputs) and shows NaN as 0', () => {
    assert.deepEqual(deprocessToRgb(new Float32Array([-3, 0.5, 2]), 1, 1, 3, 'tf'), new Uint8Array([0, 191, 255]));
    assert.deepEqual(deprocessToRgb(new Float32Array([NaN]), 1, 1, 1, 'unit'), new Uint8Array([0, 0, 0]));
  });
});
