import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatch, argmaxFirst, fillImage, patchBounds } from '../../stages/masking-geometry.js';

test('argmaxFirst takes the first maximum in row-major order', () => {
  // 3×4; the maximum 5 sits at (0,1), (1,3) and (2,0)
  const map = Float32Array.from([0, 5, 1, 2, 3, 4, 1, 5, 5, -1, 0, 0]);
  assert.deepEqual(argmaxFirst(map, 3, 4), { row: 0, col: 1 });
  assert.deepEqual(argmaxFirst(Float32Array.from([-3, -2, -2, -7]), 2, 2), { row: 0, col: 1 });
});

test('argmaxFirst ignores NaN wherever it sits', () => {
  assert.deepEqual(argmaxFirst(Float32Array.from([NaN, 2, 3, NaN]), 2, 2), { row: 1, col: 0 });
  assert.deepEqual(argmaxFirst(Float32Array.from([1, NaN, 0, 1]), 2, 2), { row: 0, col: 0 });
  assert.deepEqual(argmaxFirst(Float32Array.from([NaN, NaN, NaN, NaN]), 2, 2), { row: -1, col: -1 });
  assert.deepEqual(argmaxFirst(Float32Array.from([NaN, -Infinity, -Infinity, NaN]), 2, 2), { row: 0, col: 1 });
  assert.throws(() => argmaxFirst(new Float32Array(5), 2, 2), RangeError);
});

test('patchBounds: interior patch is p×p centred', () => {
  assert.deepEqual(patchBounds(5, 6, 3, 10, 12), { r0: 4, r1: 7, c0: 5, c1: 8 });
  assert.deepEqual(patchBounds(5, 6, 1, 10, 12), { r0: 5, r1: 6, c0: 6, c1: 7 });
  // even p: the extra pixel goes below/right
  assert.deepEqual(patchBounds(5, 5, 4, 10, 10), { r0: 4, r1: 8, c0: 4, c1: 8 });
});

test('patchBounds clips at the border: p=9 at (0,0) is 5×5, the last row/column is reachable', () => {
  assert.deepEqual(patchBounds(0, 0, 9, 224, 224), { r0: 0, r1: 5, c0: 0, c1: 5 });
  assert.deepEqual(patchBounds(223, 223, 9, 224, 224), { r0: 219, r1: 224, c0: 219, c1: 224 });
  assert.deepEqual(patchBounds(0, 223, 3, 224, 224), { r0: 0, r1: 2, c0: 222, c1: 224 });
  assert.deepEqual(patchBounds(223, 0, 1, 224, 224), { r0: 223, r1: 224, c0: 0, c1: 1 });
  // a patch larger than the image covers the image
  assert.deepEqual(patchBounds(1, 1, 9, 3, 3), { r0: 0, r1: 3, c0: 0, c1: 3 });
});

test('patchBounds refuses a centre outside the image and a bad patch size', () => {
  assert.throws(() => patchBounds(-1, 0, 3, 4, 4), RangeError);
  assert.throws(() => patchBounds(0, 4, 3, 4, 4), RangeError);
  assert.throws(() => patchBounds(0, 0, 0, 4, 4), RangeError);
  assert.throws(() => patchBounds(0, 0, 2.5, 4, 4), RangeError);
});

test('applyPatch replaces exactly the patch pixels (all channels) and leaves the input alone', () => {
  const h = 3;
  const w = 3;
  const c = 2;
  const input = Float32Array.from({ length: h * w * c }, (_, i) => i);
  const fill = Float32Array.from({ length: h * w * c }, (_, i) => 100 + i);
  // centre on the bottom-right pixel, p = 3 → rows 1..2, cols 1..2
  const out = applyPatch(input, h, w, c, patchBounds(2, 2, 3, h, w), fill);
  const expected = Array.from(input);
  for (const [r, col] of [
    [1, 1],
    [1, 2],
    [2, 1],
    [2, 2],
  ] as const) {
    for (let k = 0; k < c; k++) expected[(r * w + col) * c + k] = 100 + (r * w + col) * c + k;
  }
  assert.deepEqual(Array.from(out), expected);
  assert.deepEqual(
    Array.from(input),
    Array.from({ length: 18 }, (_, i) => i),
  );
  assert.notEqual(out, input);
});

test('fillImage: dataset-mean copies, channel-mean averages each channel, zero is zeros', () => {
  // 1×2×2 mean image: pixel 0 = (1, 10), pixel 1 = (3, 30)
  const mean = Float32Array.from([1, 10, 3, 30]);
  const ds = fillImage('dataset-mean', mean, 1, 2, 2);
  assert.deepEqual(Array.from(ds), [1, 10, 3, 30]);
  assert.notEqual(ds, mean);
  assert.deepEqual(Array.from(fillImage('channel-mean', mean, 1, 2, 2)), [2, 20, 2, 20]);
  assert.deepEqual(Array.from(fillImage('zero', null, 1, 2, 2)), [0, 0, 0, 0]);
  assert.throws(() => fillImage('dataset-mean', null, 1, 2, 2), /stats phase/);
  assert.throws(() => fillImage('channel-mean', new Float32Array(3), 1, 2, 2), RangeError);
});

test('fillImage(channel-mean) on 3 channels of a 2×2 image', () => {
  const mean = Float32Array.from([-100, 0, 1, -50, 2, 3, 0, 4, 5, 50, 6, 7]);
  // channel 0: (-100-50+0+50)/4 = -25; channel 1: (0+2+4+6)/4 = 3; channel 2: (1+3+5+7)/4 = 4
  assert.deepEqual(Array.from(fillImage('channel-mean', mean, 2, 2, 3)), [-25, 3, 4, -25, 3, 4, -25, 3, 4, -25, 3, 4]);
});
