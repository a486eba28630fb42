import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRate, formatSeconds, startProgress } from '../../pipeline/progress.js';

test('rates keep three significant digits below 10 img/s and add seconds per image below 1', () => {
  assert.equal(formatRate(91.23), '91.2 img/s');
  assert.equal(formatRate(2.3456), '2.35 img/s');
  assert.equal(formatRate(0.0468), '0.0468 img/s (21.4 s/img)');
  assert.equal(formatRate(0), '0 img/s');
  assert.equal(formatRate(Number.NaN), '0 img/s');
  assert.equal(formatSeconds(30), '30s');
  assert.equal(formatSeconds(600), '10m');
  assert.equal(formatSeconds(7200), '2.0h');
});

test('the plain log line of a slow phase shows a non-zero rate', () => {
  const lines: string[] = [];
  const p = startProgress('main', 1, { tty: false, log: (s) => lines.push(s), intervalMs: 0 });
  p.advance(1);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^\[main\] 1\/1 images, [\d.]+ img\/s( \([\d.]+ s\/img\))?, ETA 0s$/);
  assert.doesNotMatch(lines[0]!, / 0 img\/s/);
});
