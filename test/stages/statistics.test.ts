import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meanCI95, pooledRatio, tCritical975 } from '../../stages/statistics.js';

const close = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);

test('meanCI95 of [1,2,3,4]: mean 2.5, sd √(5/3), half-width t(3)·sd/2', () => {
  const r = meanCI95([1, 2, 3, 4]);
  assert.equal(r.n, 4);
  assert.equal(r.ignored, 0);
  assert.equal(r.mean, 2.5);
  close(r.sd, 1.2909944487, 1e-9, 'sd');
  // 3.182446 · 1.29099445 / 2 = 2.05426006
  close(r.hi - r.mean, 2.0542601, 1e-6, 'half-width');
  close(r.lo, 0.4457399, 1e-6, 'lo');
  close(r.hi, 4.5542601, 1e-6, 'hi');
});

test('meanCI95 leaves NaN and Infinity out and counts them', () => {
  const r = meanCI95([NaN, 2, Infinity, 4, NaN]);
  assert.equal(r.n, 2);
  assert.equal(r.ignored, 3);
  assert.equal(r.mean, 3);
  // sd = √2, half = 12.706205·√2/√2 = 12.706205
  close(r.sd, Math.SQRT2, 1e-12, 'sd');
  close(r.hi, 3 + 12.706205, 1e-9, 'hi');
});

test('meanCI95: one value gives a zero-width interval, none gives NaN', () => {
  const one = meanCI95([0.25]);
  assert.deepEqual([one.mean, one.lo, one.hi, one.n], [0.25, 0.25, 0.25, 1]);
  assert.ok(Number.isNaN(one.sd));
  const none = meanCI95([NaN]);
  assert.equal(none.n, 0);
  assert.equal(none.ignored, 1);
  assert.ok(Number.isNaN(none.mean) && Number.isNaN(none.lo) && Number.isNaN(none.hi));
});

test('meanCI95 on a constant sample has zero width', () => {
  const r = meanCI95([0.1, 0.1, 0.1]);
  close(r.mean, 0.1, 1e-15, 'mean');
  close(r.hi - r.lo, 0, 1e-15, 'width');
});

test('tCritical975 matches scipy.stats.t.ppf(0.975, df) in and beyond the table', () => {
  close(tCritical975(1), 12.706205, 1e-6, 'df 1');
  close(tCritical975(3), 3.182446, 1e-6, 'df 3');
  close(tCritical975(30), 2.042272, 1e-6, 'df 30');
  close(tCritical975(31), 2.0395134, 1e-6, 'df 31');
  close(tCritical975(40), 2.0210754, 1e-6, 'df 40');
  close(tCritical975(120), 1.9799304, 1e-6, 'df 120');
  close(tCritical975(999), 1.9623415, 1e-6, 'df 999');
  close(tCritical975(1e9), 1.959964, 1e-6, 'df → ∞');
  assert.throws(() => tCritical975(0), RangeError);
});

test('meanCI95 of 100 alternating 0/1 uses t(99)', () => {
  const values = Array.from({ length: 100 }, (_, i) => i % 2);
  const r = meanCI95(values);
  // sd = √(100·0.25/99) = 0.50251891; t(99) = 1.9842169 (scipy); half = 1.9842169·0.050251891
  close(r.sd, 0.50251891, 1e-8, 'sd');
  close(r.hi - r.mean, 1.9842169 * 0.050251891, 1e-6, 'half-width');
});

test('pooledRatio pools counts, not per-image ratios', () => {
  assert.equal(pooledRatio([3, 0, 1], [1, 0, 3]), 0.5);
  // Per-image accuracies 1 and 0 average to 0.5; pooled, the first image's 9 pixels dominate.
  assert.equal(pooledRatio([9, 0], [0, 1]), 0.9);
  assert.ok(Number.isNaN(pooledRatio([0, 0], [0, 0])));
  assert.throws(() => pooledRatio([1], [1, 2]), RangeError);
});
