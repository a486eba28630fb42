import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashKey, Rng } from '../../engine/seeded-random.js';

test('hashKey separates its inputs and is stable', () => {
  assert.equal(hashKey('a', 1, 2), hashKey('a', 1, 2));
  const keys = new Set([hashKey('a', 1, 2), hashKey('a', 2, 1), hashKey('b', 1, 2), hashKey('a', 1, 2 + 2 ** 32), hashKey('a1', 2)]);
  assert.equal(keys.size, 5);
  assert.throws(() => hashKey(1.5), /safe integer/);
});

test('Rng.int covers [lo, hi] uniformly and only that range', () => {
  const rng = new Rng(hashKey('t'));
  const counts = new Array<number>(5).fill(0);
  for (let i = 0; i < 50000; i++) {
    const v = rng.int(3, 7);
    assert.ok(v >= 3 && v <= 7 && Number.isInteger(v));
    counts[v - 3]!++;
  }
  for (const c of counts) assert.ok(Math.abs(c - 10000) < 400, `counts ${counts}`);
  const a = new Rng(9).shuffle([1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...a].sort(), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(new Rng(9).shuffle([1, 2, 3, 4, 5, 6]), a);
});
