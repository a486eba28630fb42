import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DIGITS_PAIR_SIZE, digitsPairDataset, generateDigitsPair, type DigitsPairSample } from '../../data/digits-pair.js';
import { DIGIT_SIZE, digitCount, digitPixels, splitRange } from '../../data/mnist-digits.js';
import type { Box } from '../../data/types.js';

const N = DIGITS_PAIR_SIZE;
const inside = (b: Box, r: number, c: number): boolean => c >= b.x0 && c < b.x1 && r >= b.y0 && r < b.y1;

test('the mnist package gives 10 classes of real 28×28 digits, split 80/20 per class', () => {
  let total = 0;
  for (let d = 0; d < 10; d++) {
    const n = digitCount(d);
    total += n;
    const tr = splitRange(d, 'train');
    const te = splitRange(d, 'test');
    assert.equal(tr.start, 0);
    assert.equal(tr.end, te.start);
    assert.equal(te.end, n);
    assert.equal(tr.end, Math.floor(0.8 * n));
    const px = digitPixels(d, 0);
    assert.equal(px.length, DIGIT_SIZE * DIGIT_SIZE);
    assert.ok(
      px.some((v) => v > 200),
      `digit ${d}#0 has strong ink`,
    );
  }
  assert.equal(total, 10000);
});

test('generation is deterministic and independent of the order of generation', () => {
  const order1 = [0, 7, 123, 4999].map((i) => generateDigitsPair(i, 42, 'test'));
  const order2 = [4999, 123, 7, 0].map((i) => generateDigitsPair(i, 42, 'test')).reverse();
  for (let k = 0; k < order1.length; k++) {
    assert.deepEqual(Buffer.from(order1[k]!.pixels), Buffer.from(order2[k]!.pixels));
    assert.deepEqual(order1[k]!.digits, order2[k]!.digits);
  }
  // The key really includes index, seed and split.
  const base = generateDigitsPair(7, 42, 'test').pixels;
  assert.notDeepEqual(Buffer.from(generateDigitsPair(8, 42, 'test').pixels), Buffer.from(base));
  assert.notDeepEqual(Buffer.from(generateDigitsPair(7, 43, 'test').pixels), Buffer.from(base));
  assert.notDeepEqual(Buffer.from(generateDigitsPair(7, 42, 'train').pixels), Buffer.from(base));
});

test('two different classes, disjoint boxes, boxes hold all the ink and are tight, ink = the source digit', () => {
  const labels = new Array<number>(10).fill(0);
  for (let i = 0; i < 400; i++) {
    const { pixels, digits } = generateDigitsPair(i, 1, i % 2 ? 'train' : 'test');
    const [a, b] = digits;
    assert.notEqual(a.digit, b.digit, `image ${i}: both digits are ${a.digit}`);
    labels[a.digit]!++;
    // The 28×28 patches do not overlap, hence neither do the ink boxes inside them.
    assert.ok(Math.abs(a.x - b.x) >= DIGIT_SIZE || Math.abs(a.y - b.y) >= DIGIT_SIZE, `image ${i}: patches overlap`);
    assert.ok(a.box.x1 <= b.box.x0 || b.box.x1 <= a.box.x0 || a.box.y1 <= b.box.y0 || b.box.y1 <= a.box.y0, `image ${i}: boxes overlap`);
    for (const p of digits) {
      assert.ok(p.x >= 0 && p.y >= 0 && p.x + DIGIT_SIZE <= N && p.y + DIGIT_SIZE <= N);
      const src = digitPixels(p.digit, p.source);
      // The whole 28×28 patch equals the source digit.
      for (let r = 0; r < DIGIT_SIZE; r++) {
        for (let c = 0; c < DIGIT_SIZE; c++) {
          assert.equal(pixels[(p.y + r) * N + p.x + c], src[r * DIGIT_SIZE + c]);
        }
      }
      // Tight: every edge row/column of the box has ink.
      const ink = (r: number, c: number): boolean => pixels[r * N + c]! > 0;
      const rowHas = (r: number): boolean => {
        for (let c = p.box.x0; c < p.box.x1; c++) if (ink(r, c)) return true;
        return false;
      };
      const colHas = (c: number): boolean => {
        for (let r = p.box.y0; r < p.box.y1; r++) if (ink(r, c)) return true;
        return false;
      };
      assert.ok(rowHas(p.box.y0) && rowHas(p.box.y1 - 1) && colHas(p.box.x0) && colHas(p.box.x1 - 1), `image ${i}: box not tight`);
    }
    // Every ink pixel of the image is in one of the two boxes.
    for (let r = 0; r < N; r++) {
      for (let c = 0; c < N; c++) {
        if (pixels[r * N + c]! > 0)
          assert.ok(inside(a.box, r, c) || inside(b.box, r, c), `image ${i}: ink at (${r},${c}) outside the boxes`);
      }
    }
  }
  // Ground truths are spread over all ten classes (400 images: expect 40 each).
  for (let d = 0; d < 10; d++) assert.ok(labels[d]! > 15 && labels[d]! < 80, `class ${d} is ground truth ${labels[d]} times of 400`);
});

test('no test digit ever appears in a training image, and vice versa', () => {
  const used = { train: new Set<string>(), test: new Set<string>() };
  for (const split of ['train', 'test'] as const) {
    for (let i = 0; i < 3000; i++) {
      for (const p of generateDigitsPair(i, 7, split).digits) {
        const { start, end } = splitRange(p.digit, split);
        assert.ok(p.source >= start && p.source < end, `${split} image ${i} uses digit ${p.digit}#${p.source} from the wrong split`);
        used[split].add(`${p.digit}#${p.source}`);
      }
    }
  }
  for (const id of used.test) assert.ok(!used.train.has(id), `digit ${id} is in both splits`);
  // Sanity: the check had material (3000 images × 2 digits over ~2000 test digits).
  assert.ok(used.test.size > 1000 && used.train.size > 3000);
});

test('the reader yields model-ready samples: input = pixel/255, gray display, labels and boxes', async () => {
  const reader = digitsPairDataset({ split: 'test', count: 20, seed: 3 });
  assert.equal(reader.size(), 20);
  assert.equal(reader.hasBoxes, true);
  assert.equal(reader.idAt(5), 'digits-pair-test-000005');
  const r = await reader.read(5);
  assert.ok(r.ok);
  const s = r.sample as DigitsPairSample;
  const img = generateDigitsPair(5, 3, 'test');
  assert.equal(s.id, 'digits-pair-test-000005');
  assert.equal(s.index, 5);
  assert.deepEqual([s.height, s.width, s.channels], [64, 64, 1]);
  assert.equal(s.input.length, 64 * 64);
  for (let i = 0; i < s.input.length; i++) {
    assert.ok(Math.abs(s.input[i]! - img.pixels[i]! / 255) < 1e-7);
    assert.equal(s.display[3 * i], img.pixels[i]);
    assert.equal(s.display[3 * i + 2], img.pixels[i]);
  }
  assert.equal(s.label, img.digits[0].digit);
  assert.equal(s.secondLabel, img.digits[1].digit);
  assert.notEqual(s.label, s.secondLabel);
  assert.deepEqual(s.boxes, [img.digits[0].box]);
  assert.deepEqual(s.secondBoxes, [img.digits[1].box]);
  assert.throws(() => reader.idAt(20), /outside 0…19/);
  await assert.rejects(reader.read(-1), /outside/);
  assert.throws(() => digitsPairDataset({ split: 'val' as 'test', count: 1, seed: 0 }), /"split"/);
  assert.throws(() => digitsPairDataset({ split: 'test', count: 0, seed: 0 }), /"count"/);
  assert.equal(digitsPairDataset({ split: 'test', seed: 0 }).size(), 1000);
});
