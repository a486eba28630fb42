import assert from 'node:assert/strict';
import { test } from 'node:test';

import { mainRateOf, memorySummary, procStatus, sampleAt, type RssSample } from '../../bench/pipeline-bench.js';
import { forwardEquivalents } from '../../bench/whole-image.js';

test('mainRateOf takes the last full-count [main] line, not a partial one or the stats phase', () => {
  const lines = [
    '12:00:00 [stats] 400/400 images, 91.2 img/s, ETA 0s',
    '12:00:10 [main] 200/400 images, 20.5 img/s, ETA 10s',
    '12:00:20 [main] 400/400 images, 21.25 img/s, ETA 0s',
    '12:00:20 main: 4/4 shards done',
  ];
  assert.equal(mainRateOf(lines), 21.25);
  assert.equal(mainRateOf(lines.slice(0, 2)), null);
});

test('procStatus reads VmRSS and VmHWM in bytes, null without them', () => {
  const text = 'Name:\tnode\nVmPeak:\t 9999 kB\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads:\t7\n';
  assert.deepEqual(procStatus(text), { rssBytes: 1024 * 1024, hwmBytes: 2048 * 1024 });
  assert.equal(procStatus('Name:\tzombie\n'), null);
});

const s = (t: number, rss: number, hwm: number, imagesDone: number): RssSample => ({ t, rssBytes: rss, hwmBytes: hwm, imagesDone });

test('sampleAt picks the first sample at or after the image count', () => {
  const xs = [s(1, 10, 10, 0), s(2, 11, 11, 50), s(3, 12, 12, 100), s(4, 13, 13, 150)];
  assert.equal(sampleAt(xs, 100)!.t, 3);
  assert.equal(sampleAt(xs, 60)!.t, 3);
  assert.equal(sampleAt(xs, 151), null);
});

test('memorySummary: ratios of the late over the early sample, flat only when both are within ±10%', () => {
  const flat = memorySummary([s(1, 100, 100, 100), s(9, 109, 110, 1000)], 100, 1000);
  assert.ok(Math.abs(flat.rssRatio! - 1.09) < 1e-12);
  assert.ok(Math.abs(flat.peakRatio! - 1.1) < 1e-12);
  assert.equal(flat.flat, true);
  const growing = memorySummary([s(1, 100, 100, 100), s(9, 105, 125, 1000)], 100, 1000);
  assert.equal(growing.flat, false); // RSS fine, but the peak grew 25%
  const shrinking = memorySummary([s(1, 100, 100, 100), s(9, 85, 100, 1000)], 100, 1000);
  assert.equal(shrinking.flat, false); // −15% is outside ±10% too
  const short = memorySummary([s(1, 100, 100, 100)], 100, 1000);
  assert.equal(short.flat, null);
  assert.equal(short.at.length, 1);
});

test('forwardEquivalents divides seconds per image by seconds per forward', () => {
  assert.ok(Math.abs(forwardEquivalents(22, 1.1) - 20) < 1e-9);
  assert.equal(forwardEquivalents(3, 0.5), 6);
});
