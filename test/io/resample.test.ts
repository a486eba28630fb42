/**
 * io/resample.ts against small images whose results are worked out by hand below (PIL / TF
 * definitions: pixel centres at i + ½, kernels sampled there, out-of-image taps dropped and the
 * weights renormalised).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resample, type Interpolation } from '../../io/resample.js';

/** 4×4 gray, value 20·row + 4·col: separable, so each output is a row part plus a column part. */
const GRID = Uint8Array.from({ length: 16 }, (_, p) => 20 * Math.floor(p / 4) + 4 * (p % 4));
const to2x2 = (interpolation: Interpolation, antialias: boolean) => [...resample(GRID, 4, 4, 1, 2, 2, { interpolation, antialias })];

test('nearest 4×4 → 2×2 takes source pixels ⌊(x + ½)·2⌋ = 1 and 3 (PIL NEAREST, Keras load_img)', () => {
  // rows 1, 3 and columns 1, 3: 20·1 + 4·1 = 24, 20 + 12 = 32, 60 + 4 = 64, 60 + 12 = 72.
  assert.deepEqual(to2x2('nearest', false), [24, 32, 64, 72]);
  // antialias does not turn nearest into a blend.
  assert.deepEqual(to2x2('nearest', true), [24, 32, 64, 72]);
});

test('nearest steps through the source as PIL does: a position summed to 2.9999999999999996 takes pixel 2', () => {
  // 20 → 50: s = 0.4, output x reads ⌊0.2 + 0.4 + … ⌋ summed in float64. At x = 7 the exact
  // position is 3.0, but the running sum is 2.9999999999999996, so PIL (checked against Pillow 9.4)
  // takes pixel 2, where ⌊(x + ½)·s⌋ would take 3.
  let sum = 0.2;
  for (let x = 0; x < 7; x++) sum += 0.4;
  assert.ok(sum < 3, 'float64 running sum');
  const row = Uint8Array.from({ length: 20 }, (_, i) => 10 * i);
  const got = resample(row, 20, 1, 1, 50, 1, { interpolation: 'nearest', antialias: false });
  // x = 5…9 sit at 2.2, 2.6, 3.0⁻, 3.4, 3.8 → pixels 2, 2, 2, 3, 3.
  assert.deepEqual([...got.subarray(5, 10)], [20, 20, 20, 30, 30]);
});

test('bilinear 4×4 → 2×2 without antialias: the two nearest pixels per axis, ½ each', () => {
  // Output 0 centre at 1.0: source centres 0.5 and 1.5 weigh ½ each. Columns: (0+4)/2 = 2, (8+12)/2 = 10;
  // rows: (0+20)/2 = 10, (40+60)/2 = 50. Sums: 12, 20, 52, 60.
  assert.deepEqual(to2x2('bilinear', false), [12, 20, 52, 60]);
});

test('bilinear 4×4 → 2×2 with antialias: the triangle widened ×2, weights 3/7, 3/7, 1/7', () => {
  // Output 0 (centre 1): taps 0, 1, 2 at distances ½, ½, 1½ → triangle(d/2) = ¾, ¾, ¼ → 3/7, 3/7, 1/7.
  // Output 1 (centre 3): taps 1, 2, 3 → 1/7, 3/7, 3/7. Columns first, rounded to 8 bits (PIL):
  // row r gives 20r + 20/7 → 3, 23, 43, 63 and 20r + 64/7 → 9, 29, 49, 69. Then rows:
  // (3·3 + 23·3 + 43)/7 = 17.3 → 17, (9·3 + 29·3 + 49)/7 = 23.3 → 23,
  // (23 + 43·3 + 63·3)/7 = 48.7 → 49, (29 + 49·3 + 69·3)/7 = 54.7 → 55.
  assert.deepEqual(to2x2('bilinear', true), [17, 23, 49, 55]);
});

test('area 4×4 → 2×2 is the mean of each 2×2 block; 3 → 2 weighs the shared pixel by its overlap', () => {
  assert.deepEqual(to2x2('area', false), [12, 20, 52, 60]);
  assert.deepEqual(to2x2('area', true), [12, 20, 52, 60]);
  // [0, 30, 90] → 2: output 0 covers [0, 1.5): (0 + ½·30)/1.5 = 10; output 1 covers [1.5, 3): (½·30 + 90)/1.5 = 70.
  assert.deepEqual([...resample(Uint8Array.of(0, 30, 90), 3, 1, 1, 2, 1, { interpolation: 'area', antialias: true })], [10, 70]);
});

test('bicubic 4 → 2 without antialias: Keys a = −½ at distances ½, ½, 1½ (the tap at −1 dropped)', () => {
  // Keys(½) = 1.5·⅛ − 2.5·¼ + 1 = 0.5625; Keys(1½) = −0.5·3.375 + 2.5·2.25 − 4·1.5 + 2 = −0.0625; sum 1.0625.
  // [0, 40, 80, 120]: output 0 = (40·0.5625 − 80·0.0625)/1.0625 = 16.47 → 16;
  // output 1 = (−40·0.0625 + 80·0.5625 + 120·0.5625)/1.0625 = 103.53 → 104.
  const row = Uint8Array.of(0, 40, 80, 120);
  assert.deepEqual([...resample(row, 4, 1, 1, 2, 1, { interpolation: 'bicubic', antialias: false })], [16, 104]);
});

test('upscaling: nearest repeats, bilinear interpolates between centres, channels stay apart', () => {
  // 2 → 4, scale ½: outputs at source positions 0.25, 0.75, 1.25, 1.75 (in centres: −0.25, 0.25, 0.75, 1.25).
  const rgb = Uint8Array.of(0, 100, 200, 40, 60, 80); // two RGB pixels in a row
  assert.deepEqual(
    [...resample(rgb, 2, 1, 3, 4, 1, { interpolation: 'nearest', antialias: true })],
    [0, 100, 200, 0, 100, 200, 40, 60, 80, 40, 60, 80],
  );
  // Bilinear: output 0 only reaches pixel 0 (pixel −1 is outside) → 0; output 1: ¾·p0 + ¼·p1 → 10; output 2 → 30; output 3 → 40.
  const red = [...resample(rgb, 2, 1, 3, 4, 1, { interpolation: 'bilinear', antialias: true })].filter((_, i) => i % 3 === 0);
  assert.deepEqual(red, [0, 10, 30, 40]);
  // Same size: the pixels themselves, in a new array.
  const same = resample(rgb, 2, 1, 3, 2, 1, { interpolation: 'bicubic', antialias: true });
  assert.deepEqual([...same], [...rgb]);
  assert.notEqual(same, rgb);
  assert.throws(() => resample(rgb, 2, 2, 3, 4, 1, { interpolation: 'nearest', antialias: true }), /6 values given but 2×2×3 needs 12/);
  assert.throws(
    () => resample(rgb, 2, 1, 3, 4, 1, { interpolation: 'lanczos' as Interpolation, antialias: true }),
    /must be one of nearest, bilinear, bicubic, area/,
  );
});
