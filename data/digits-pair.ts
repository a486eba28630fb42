/**
 * digits-pair: the embedded default benchmark dataset. Each 64×64 gray image holds two real
 * MNIST digits of different classes at random, non-overlapping 28×28 places; the ground truth
 * is one of them and the other is the "second class", so the masking stage's two targets (ground
 * truth, second most probable class) and the pointing game's boxes are both meaningful.
 *
 * Image `index` of (`split`, `seed`) is a pure function of those three values: its random stream
 * is keyed by their hash, so shards, threads and generation order never change a pixel.
 * Training images use only training digits and test images only test digits (see mnist-digits).
 */
import { checkIndex, type Box, type DatasetReader, type Sample, type SampleOrError } from './types.js';
import { preprocess } from '../io/preprocess.js';
import { grayToRgb } from './display.js';
import { DIGIT_SIZE, digitPixels, splitRange, type Split } from './mnist-digits.js';
import { hashKey, Rng } from '../engine/seeded-random.js';

export type { Split } from './mnist-digits.js';

export const DIGITS_PAIR_SIZE = 64;
/** The largest top-left coordinate of a 28×28 patch inside the 64×64 image. */
const MAX_OFFSET = DIGITS_PAIR_SIZE - DIGIT_SIZE;

/** One placed digit: which MNIST digit, where its 28×28 patch starts, and its ink box. */
export interface PlacedDigit {
  /** The digit's class (0–9). */
  digit: number;
  /** Its number among the package's digits of that class (its identity). */
  source: number;
  /** Top-left corner of the 28×28 patch in the 64×64 image. */
  x: number;
  y: number;
  /** Tight box of the digit's ink (pixels > 0) in the 64×64 grid, half-open. */
  box: Box;
}

export interface DigitsPairImage {
  /** 64×64 gray pixels, row-major. */
  pixels: Uint8Array;
  /** `digits[0]` is the ground truth, `digits[1]` the second class. */
  digits: [PlacedDigit, PlacedDigit];
}

/** A digits-pair sample: a Sample plus the second digit. */
export interface DigitsPairSample extends Sample {
  /** Class of the other digit (always ≠ label). */
  secondLabel: number;
  /** Ink box of the other digit. */
  secondBoxes: Box[];
  /** Provenance of both digits (ground truth first). */
  digits: [PlacedDigit, PlacedDigit];
}

/** Images in a digits-pair dataset when the caller does not say (the test split's default run). */
export const DIGITS_PAIR_DEFAULT_COUNT = 1000;

export interface DigitsPairOptions {
  split: Split;
  /** Number of images (indices 0 … count−1); default DIGITS_PAIR_DEFAULT_COUNT. */
  count?: number;
  seed: number;
}

/** Generates image `index` of the (split, seed) dataset. Pure and deterministic. */
export function generateDigitsPair(index: number, seed: number, split: Split): DigitsPairImage {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`digits-pair: index must be an integer ≥ 0, got ${index}`);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`digits-pair: seed must be an integer, got ${seed}`);
  if (split !== 'train' && split !== 'test') throw new RangeError(`digits-pair: split must be "train" or "test", got "${String(split)}"`);
  const rng = new Rng(hashKey('digits-pair', seed, split, index));

  const first = rng.int(0, 9);
  const second = (first + rng.int(1, 9)) % 10; // uniform over the nine other classes
  const pick = (d: number): number => {
    const { start, end } = splitRange(d, split);
    return rng.int(start, end - 1);
  };
  const sources = [pick(first), pick(second)] as const;

  // Non-overlap by construction (no rejection loop): the patches are separated along one axis
  // (≥ 28 px apart there) and free along the other.
  const alongX = rng.next() < 0.5;
  const lo = rng.int(0, MAX_OFFSET - DIGIT_SIZE);
  const hi = rng.int(lo + DIGIT_SIZE, MAX_OFFSET);
  const firstIsLo = rng.next() < 0.5;
  const sep = firstIsLo ? [lo, hi] : [hi, lo];
  const free = [rng.int(0, MAX_OFFSET), rng.int(0, MAX_OFFSET)];
  const corners = [0, 1].map((k) => (alongX ? { x: sep[k]!, y: free[k]! } : { x: free[k]!, y: sep[k]! }));

  const pixels = new Uint8Array(DIGITS_PAIR_SIZE * DIGITS_PAIR_SIZE);
  const placed = [first, second].map((digit, k) => {
    const { x, y } = corners[k]!;
    const src = digitPixels(digit, sources[k]!);
    let x0 = DIGIT_SIZE,
      y0 = DIGIT_SIZE,
      x1 = 0,
      y1 = 0;
    for (let r = 0; r < DIGIT_SIZE; r++) {
      for (let c = 0; c < DIGIT_SIZE; c++) {
        const v = src[r * DIGIT_SIZE + c]!;
        pixels[(y + r) * DIGITS_PAIR_SIZE + x + c] = v;
        if (v > 0) {
          if (c < x0) x0 = c;
          if (c >= x1) x1 = c + 1;
          if (r < y0) y0 = r;
          if (r >= y1) y1 = r + 1;
        }
      }
    }
    if (x1 === 0) throw new Error(`MNIST digit ${digit}#${sources[k]} has no ink (damaged "mnist" package?)`);
    return { digit, source: sources[k]!, x, y, box: { x0: x + x0, y0: y + y0, x1: x + x1, y1: y + y1 } };
  });
  return { pixels, digits: [placed[0]!, placed[1]!] };
}

export function digitsPairId(split: Split, index: number): string {
  return `digits-pair-${split}-${String(index).padStart(6, '0')}`;
}

/** A DatasetReader over the first `count` images of (split, seed); input preset 'unit' (x/255). */
export function digitsPairDataset(options: DigitsPairOptions): DatasetReader {
  const { split, seed } = options;
  const count = options.count ?? DIGITS_PAIR_DEFAULT_COUNT;
  if (split !== 'train' && split !== 'test')
    throw new Error(`digits-pair dataset: "split" must be "train" or "test", got "${String(split)}"`);
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`digits-pair dataset: "count" must be a positive integer, got ${count}`);
  if (!Number.isSafeInteger(seed)) throw new Error(`digits-pair dataset: "seed" must be an integer, got ${seed}`);
  const check = (index: number): void => checkIndex('digits-pair dataset', index, count);
  return {
    name: `digits-pair (${split}, ${count} images, seed ${seed})`,
    hasBoxes: true,
    size: () => count,
    idAt(index: number): string {
      check(index);
      return digitsPairId(split, index);
    },
    async read(index: number): Promise<SampleOrError> {
      check(index);
      return { ok: true, sample: digitsPairSample(index, seed, split) };
    },
  };
}

/** The Sample for image `index` (exported for scripts that need the extra fields typed). */
export function digitsPairSample(index: number, seed: number, split: Split): DigitsPairSample {
  const img = generateDigitsPair(index, seed, split);
  const [gt, other] = img.digits;
  const n = DIGITS_PAIR_SIZE;
  return {
    id: digitsPairId(split, index),
    index,
    height: n,
    width: n,
    channels: 1,
    input: preprocess(img.pixels, n, n, 1, 'unit'),
    display: grayToRgb(img.pixels),
    label: gt.digit,
    boxes: [{ ...gt.box }],
    secondLabel: other.digit,
    secondBoxes: [{ ...other.box }],
    digits: img.digits,
  };
}
