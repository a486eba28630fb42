import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../engine/backend.js';
import { loadConfig } from '../../pipeline/config.js';
import { formatRate, formatSeconds, startProgress, workerLines } from '../../pipeline/progress.js';
import { etaSeconds, failedImageCount, ProgressModel, pruneHistory, windowRate, type HistoryPoint } from '../../pipeline/progress-model.js';
import { runBenchmark } from '../../pipeline/runner.js';
import { saveDigitsLikeModel, writeRunConfig } from '../util/run-fixture.js';

test('rates keep three significant digits below 10 img/s and add seconds per image below 1', () => {
  assert.equal(formatRate(91.23), '91.2 img/s');
  assert.equal(formatRate(2.3456), '2.35 img/s');
  assert.equal(formatRate(0.0468), '0.0468 img/s (21.4 s/img)');
  assert.equal(formatRate(0), '0 img/s');
  assert.equal(formatRate(Number.NaN), '0 img/s');
  assert.equal(formatSeconds(30), '30s');
  assert.equal(formatSeconds(600), '10m');
  assert.equal(formatSeconds(7200), '2.0h');
  assert.equal(formatSeconds(Infinity), '?');
});

test('the sliding-window rate counts only the images of the last window', () => {
  const history: HistoryPoint[] = [
    { t: 1000, processed: 2 },
    { t: 3000, processed: 5 },
    { t: 7000, processed: 9 },
  ];
  // Window (3 s, 8 s]: 9 − 5 = 4 images in 5 s.
  assert.equal(windowRate(history, 8000, 5000, 0), 0.8);
  // Window (4 s, 9 s]: the count at 4 s is still 5 (last point at or before it).
  assert.equal(windowRate(history, 9000, 5000, 0), 0.8);
  // Window (7 s, 12 s]: nothing new since 7 s.
  assert.equal(windowRate(history, 12000, 5000, 0), 0);
  // A phase younger than the window divides by its age: 5 images in 4 s.
  assert.equal(windowRate(history.slice(0, 2), 4000, 5000, 0), 1.25);
  // … measured from its own start, not from 0: 5 images in the 2.5 s since 1.5 s.
  assert.equal(
    windowRate(
      [
        { t: 2000, processed: 3 },
        { t: 3000, processed: 5 },
      ],
      4000,
      5000,
      1500,
    ),
    2,
  );
  assert.equal(windowRate([], 4000, 5000, 0), 0);
  assert.equal(windowRate(history, 0, 5000, 0), 0);
});

test('pruning keeps the one point before the window that the rate needs', () => {
  const history: HistoryPoint[] = [
    { t: 1000, processed: 2 },
    { t: 3000, processed: 5 },
    { t: 7000, processed: 9 },
  ];
  pruneHistory(history, 8500, 5000); // window starts at 3.5 s: 1 s is not needed, 3 s is
  assert.deepEqual(
    history.map((p) => p.t),
    [3000, 7000],
  );
  assert.equal(windowRate(history, 8500, 5000, 0), 0.8);
});

test('ETA is what is left divided by the rate; unknown at rate 0, 0 when done', () => {
  assert.equal(etaSeconds(10, 0.8), 12.5);
  assert.equal(etaSeconds(5, 0), Infinity);
  assert.equal(etaSeconds(0, 0), 0);
});

test('failed images: unreadable or not evaluable ones, each counted once; pointing-only problems are not failures', () => {
  const rows = [
    { stage: 'read', image_index: 3 },
    { stage: 'forward', image_index: 4 },
    { stage: 'forward', image_index: 4 },
    { stage: 'pointing', image_index: 5 },
  ];
  assert.equal(failedImageCount(rows), 2);
  assert.equal(failedImageCount(undefined), 0);
});

test('the progress model: per-image counts, late and repeated messages, retries, shard ends and skipped shards', () => {
  const m = new ProgressModel(10, 0, 10_000);
  m.shardStarted(0, 5);
  m.shardStarted(1, 5);
  m.imageProgress({ phase: 'main', shard: 0, finished: 2, failed: 0, thread: 1 }, 2000);
  m.imageProgress({ phase: 'main', shard: 1, finished: 1, failed: 1, thread: 2 }, 4000);
  m.imageProgress({ phase: 'main', shard: 0, finished: 1, failed: 0, thread: 1 }, 4500); // late: cannot lower the count
  let s = m.snapshot(5000);
  assert.equal(s.finished, 3);
  assert.equal(s.failed, 1);
  assert.equal(s.rate, 3 / 5); // 3 images in the 5 s since the start
  assert.equal(s.etaSeconds, 7 / (3 / 5));
  assert.deepEqual(
    s.workers.map((w) => [w.thread, w.shard, w.finished, w.size, w.lastAt]),
    [
      [1, 0, 2, 5, 4500],
      [2, 1, 1, 5, 4000],
    ],
  );

  // Shard 1's attempt failed: its counts start again; the rate still counts the work done.
  m.shardRetry(1);
  assert.equal(m.snapshot(5000).finished, 2);
  m.imageProgress({ phase: 'main', shard: 1, finished: 2, failed: 0, thread: 2 }, 6000);
  s = m.snapshot(6000);
  assert.equal(s.finished, 4);
  assert.equal(s.failed, 0);
  assert.equal(s.rate, 5 / 6); // 2 + 1 + 2 images processed in 6 s

  // Shard 0 ends: its final counts replace the messages', and later messages change nothing.
  m.shardFinished(0, { finished: 5, failed: 1 }, 8000);
  m.imageProgress({ phase: 'main', shard: 0, finished: 4, failed: 0, thread: 1 }, 8100);
  s = m.snapshot(12_000);
  assert.equal(s.finished, 7);
  assert.equal(s.failed, 1);
  // Window (2 s, 12 s]: 8 processed by 8 s, 2 by 2 s → 6 images in 10 s.
  assert.equal(s.rate, 0.6);
  assert.equal(s.etaSeconds, 3 / 0.6);
  assert.deepEqual(
    s.workers.map((w) => w.thread),
    [2],
    'the thread of a finished shard is no longer shown as busy',
  );

  // Shard 1 turns out to be another process's: the total shrinks to what this one did.
  m.shardSkipped(1, 5);
  s = m.snapshot(12_000);
  assert.equal(s.total, 5);
  assert.equal(s.finished, 5);
  assert.equal(s.etaSeconds, 0);
});

test('without a terminal: one log line per interval with images, failed, the windowed rate and the ETA', () => {
  const lines: string[] = [];
  let now = 0;
  const p = startProgress('main', 4, { tty: false, log: (s) => lines.push(s), intervalMs: 1000, now: () => now });
  assert.deepEqual(lines, ['[main] 0/4 images, 0 failed, 0 img/s, ETA ?']);
  p.shardStarted(0, 4);
  now = 500;
  p.images({ phase: 'main', shard: 0, finished: 1, failed: 0, thread: 1 });
  assert.equal(lines.length, 1, 'no second line within the interval');
  now = 1000;
  p.images({ phase: 'main', shard: 0, finished: 2, failed: 1, thread: 1 });
  // 2 images in 1 s; 2 left at 2 img/s.
  assert.equal(lines[1], '[main] 2/4 images, 1 failed, 2 img/s, ETA 1s');
  now = 1800;
  p.images({ phase: 'main', shard: 0, finished: 3, failed: 1, thread: 1 });
  assert.equal(lines.length, 2, 'no line within the interval');
  p.stop();
  // The final line: 3 images in 1.8 s = 1.67 img/s, 1 left → 0.6 s, shown rounded.
  assert.equal(lines[2], '[main] 3/4 images, 1 failed, 1.67 img/s, ETA 1s');
  p.stop();
  assert.equal(lines.length, 3, 'stop twice draws once');
  // A phase whose last count was already shown ends without repeating it.
  const quiet: string[] = [];
  const q = startProgress('stats', 1, { tty: false, log: (s) => quiet.push(s), intervalMs: 1000, now: () => now });
  q.shardStarted(0, 1);
  now = 2000;
  q.images({ phase: 'stats', shard: 0, finished: 1, failed: 0, thread: 1 });
  q.shardFinished(0, { finished: 1, failed: 0 });
  now = 2500;
  q.stop();
  // (1 image in the 0.2 s since this phase began at 1.8 s: 5 img/s.)
  assert.deepEqual(quiet, ['[stats] 0/1 images, 0 failed, 0 img/s, ETA ?', '[stats] 1/1 images, 0 failed, 5 img/s, ETA 0s']);
});

test('verbose lines name each busy thread and count the idle ones', () => {
  const s = {
    total: 6,
    finished: 1,
    failed: 0,
    rate: 1,
    etaSeconds: 5,
    workers: [{ thread: 4, shard: 2, finished: 1, size: 3, lastAt: 1000 }],
  };
  assert.deepEqual(workerLines(s, 3, 4000), ['thread 4: shard 2, 1/3 images, last 3s ago', '2 thread(s) idle or loading the model']);
  assert.deepEqual(workerLines(s, 1, 4000), ['thread 4: shard 2, 1/3 images, last 3s ago']);
});

test('a real run reports images while a shard runs, on each of several worker threads, and says when threads stay idle', async () => {
  await initBackend('cpu');
  const dir = mkdtempSync(join(tmpdir(), 'sglrp-progress-'));
  try {
    const modelPath = await saveDigitsLikeModel(join(dir, 'model'));
    // 2 shards of 3 images, one image per batch, 3 worker threads: one thread has no shard.
    const cfgPath = writeRunConfig(dir, modelPath, {
      dataset: { kind: 'digits-pair', split: 'test', count: 6, seed: 3 },
      shardSize: 3,
      batchSize: 1,
      workers: 3,
      masking: { fill: 'zero' },
    });
    const lines: string[] = [];
    const outcome = await runBenchmark({
      config: await loadConfig(cfgPath),
      outDir: join(dir, 'run'),
      node: { index: 0, count: 1 },
      limit: null,
      tty: false,
      log: (l) => lines.push(l),
      verbose: true,
      progressIntervalMs: 0,
    });
    assert.equal(outcome.exitCode, 0, lines.join('\n'));
    assert.ok(
      lines.includes(
        'main: 2 shard(s) left for 3 worker threads, so 1 thread(s) stay idle (one shard runs on one thread; a smaller shardSize spreads the work)',
      ),
      lines.join('\n'),
    );
    // A thread line exists only while its shard runs (the shard's end removes it), so a count
    // of 1 or 2 of 3 images can only come from a worker's message in the middle of the shard.
    const midShard = lines.map((l) => /^\[main\] {3}thread (\d+): shard (\d), ([12])\/3 images/.exec(l)).filter((x) => x !== null);
    assert.deepEqual([...new Set(midShard.map((x) => x[2]))].sort(), ['0', '1'], lines.join('\n'));
    assert.equal(new Set(midShard.map((x) => x[1])).size, 2, 'the two shards ran on two threads');
    const counts = lines
      .map((l) => /^\[main\] (\d)\/6 images/.exec(l))
      .filter((x) => x !== null)
      .map((x) => Number(x[1]));
    assert.ok(counts.includes(1), `a single image moves the bar: ${counts.join(' ')}`);
    assert.equal(counts.at(-1), 6);
    assert.deepEqual(
      counts,
      [...counts].sort((a, b) => a - b),
      'the count never goes back',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
