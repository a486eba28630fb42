import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  differingTables,
  formatVgg16PipelineTable,
  mainPhaseSeconds,
  mainRateOf,
  formatMemoryTable,
  memorySummary,
  STEADY_FROM,
  pipelineArgs,
  procStatus,
  sampleAt,
  vgg16ShardSize,
  vgg16Summary,
  VGG16_CONFIG,
  warmSecondsPerImage,
  type RssSample,
  type ShardTiming,
  type Vgg16PipelineResult,
  type Vgg16PipelineRow,
} from '../../bench/pipeline-bench.js';
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

const timing = (shard: number, imageCount: number, seconds: number): ShardTiming => ({
  shard,
  imageCount,
  seconds,
  finishedAt: '2025-01-01T00:00:00.000Z',
});

test('pipelineArgs: digits-pair by default, another config by path, the overrides after the fixed flags', () => {
  const root = '/repo';
  const digits = pipelineArgs(['--limit', '4'], { runDir: '/r', shardSize: 3 }, root);
  assert.deepEqual(digits.slice(1), [
    'run',
    '/repo/configs/digits-pair.yaml',
    '--out',
    '/r',
    '--backend',
    'wasm',
    '--no-report',
    '--set',
    'shardSize=3',
    '--limit',
    '4',
  ]);
  const vgg = pipelineArgs(['--workers', '2'], { runDir: '/r2', shardSize: 2, config: VGG16_CONFIG }, root);
  assert.equal(vgg[2], '/repo/configs/imagenet-vgg16.yaml');
  assert.deepEqual(vgg.slice(-4), ['--set', 'shardSize=2', '--workers', '2']);
  assert.equal(pipelineArgs([], { runDir: '/r', shardSize: 1, config: '/abs/x.yaml' }, root)[2], '/abs/x.yaml');
});

test('vgg16ShardSize gives every worker of the largest count at least two shards', () => {
  assert.equal(vgg16ShardSize(8, [1, 2]), 2);
  assert.equal(vgg16ShardSize(2, [1]), 1);
  assert.equal(vgg16ShardSize(2, [1, 2]), 1);
  assert.equal(vgg16ShardSize(20, [1, 2]), 5);
  assert.equal(vgg16ShardSize(1, []), 1);
});

test("warmSecondsPerImage leaves out each worker's first shard and divides the worker-seconds by the workers", () => {
  // One worker: shard 0 compiles (30 s for 2 images), then 2 × 2 images at 18 s each.
  assert.equal(warmSecondsPerImage([timing(2, 2, 36), timing(0, 2, 30), timing(1, 2, 36)], 1), 18);
  // Two workers side by side: shards 0 and 1 are the first ones; 20 s per image each, so 10 s per image in all.
  assert.equal(warmSecondsPerImage([timing(0, 2, 60), timing(1, 2, 62), timing(2, 2, 40), timing(3, 2, 40)], 2), 10);
  assert.equal(warmSecondsPerImage([timing(0, 1, 30), timing(1, 1, 30)], 2), null);
  assert.equal(warmSecondsPerImage([], 1), null);
});

test('differingTables names the tables whose sorted rows differ', () => {
  const a = { forward: ['1', '2'], masking: ['x'], errors: [] };
  assert.deepEqual(differingTables(a, { forward: ['1', '2'], masking: ['x'], errors: [] }), []);
  assert.deepEqual(differingTables(a, { forward: ['1', '3'], masking: ['x'], errors: [], pointing: ['p'] }), ['forward', 'pointing']);
  assert.deepEqual(differingTables(a, { forward: ['1'], masking: ['x'], errors: [] }), ['forward']);
});

function vggRow(workers: number, rate: number | null, seconds: number, status: 'ok' | 'failed' = 'ok'): Vgg16PipelineRow {
  return {
    workers,
    images: 8,
    status,
    ...(status === 'failed' && { reason: 'killed by SIGKILL (timeout or out of memory): a | b' }),
    code: status === 'ok' ? 0 : null,
    signal: status === 'ok' ? null : 'SIGKILL',
    command: ['cli.js', 'run', 'configs/imagenet-vgg16.yaml'],
    mainImagesPerSecond: rate,
    mainSeconds: rate ? 8 / rate : null,
    pipelineImagesPerSecond: rate === null ? null : Number(rate.toFixed(1)),
    secondsPerImage: rate ? 1 / rate : null,
    warmSecondsPerImage: rate ? 0.8 / rate : null,
    endToEndSeconds: seconds,
    peakRssBytes: workers * 4.5 * 2 ** 30,
    shards: status === 'ok' ? [timing(0, 2, 30), timing(1, 2, 30), timing(2, 2, 30), timing(3, 2, 30)] : [],
    samples: [],
  };
}

test('vgg16Summary: 2/1 ratios and the ≤ 11.7 s per image target with 2 workers', () => {
  const met = vgg16Summary([vggRow(1, 0.05, 200), vggRow(2, 0.1, 110)]);
  assert.ok(Math.abs(met.mainRatio! - 2) < 1e-12);
  assert.ok(Math.abs(met.endToEndRatio! - 200 / 110) < 1e-12);
  assert.equal(met.targetMet, true); // 10 s per image
  assert.equal(vgg16Summary([vggRow(1, 0.05, 200), vggRow(2, 0.08, 130)]).targetMet, false); // 12.5 s
  assert.equal(vgg16Summary([vggRow(1, 0.05, 200), vggRow(2, 1 / 11.7, 130)]).targetMet, true); // exactly the target
  const onlyOne = vgg16Summary([vggRow(1, 0.05, 200)]);
  assert.deepEqual(onlyOne, { mainRatio: null, endToEndRatio: null, targetMet: null });
  assert.equal(vgg16Summary([vggRow(1, 0.05, 200), vggRow(2, null, 30, 'failed')]).targetMet, null);
});

test('formatVgg16PipelineTable: one row per run, the ratio, the target and the table comparison; failures with their reason', () => {
  const base: Vgg16PipelineResult = {
    model: 'VGG16 with random weights',
    config: VGG16_CONFIG,
    dataset: '8 synthetic ImageNet validation images',
    images: 8,
    shardSize: 2,
    rows: [vggRow(1, 0.05, 200), vggRow(2, 0.1, 110)],
    mainRatio: 2,
    endToEndRatio: 200 / 110,
    identical: true,
    differingTables: [],
    targetSecondsPerImage: 11.7,
    targetMet: true,
    load: { before: 0.1, max: 2.2, mean: 1.9, after: 1 },
  };
  const t = formatVgg16PipelineTable(base);
  assert.match(t, /sglrp run configs\/imagenet-vgg16\.yaml --backend wasm --no-report --set shardSize=2 --workers N/);
  assert.match(t, /random weights/);
  assert.match(t, /compiles the wasm kernels/);
  assert.match(t, /\| 1 \| 8 \| 4 × 2 \| 0\.050 \| 20\.0 \| 16\.0 \| 200\.0 \| 4\.50 GiB \|/);
  assert.match(t, /\| 2 \| 8 \| 4 × 2 \| 0\.100 \| 10\.0 \| 8\.0 \| 110\.0 \| 9\.00 GiB \|/);
  assert.match(t, /\| \*\*ratio\*\* 2 \/ 1 workers \| \| \| \*\*2\.00×\*\* \| \| \| 1\.82× \| \|/);
  assert.match(t, /Target ≤ 11\.7 s per image with 2 workers: \*\*met\*\* \(10\.0 s per image, main phase\)/);
  assert.match(t, /\*\*identical\*\*/);
  // Every table line has the same number of cells as the header.
  const cells = (l: string) => l.split('|').length;
  const rows = t.split('\n').filter((l) => l.startsWith('|'));
  assert.ok(
    rows.every((l) => cells(l) === cells(rows[0]!)),
    rows.join('\n'),
  );

  const bad = formatVgg16PipelineTable({
    ...base,
    rows: [vggRow(1, 0.05, 200), vggRow(2, null, 30, 'failed')],
    mainRatio: null,
    endToEndRatio: null,
    identical: null,
    targetMet: null,
  });
  assert.match(bad, /\| 2 \| 8 \| failed: killed by SIGKILL \(timeout or out of memory\): a \/ b \|/);
  assert.doesNotMatch(bad, /\*\*ratio\*\*/);
  assert.match(bad, /not measured \(no 2-worker result\)/);
  assert.match(bad, /not compared/);
  const badRows = bad.split('\n').filter((l) => l.startsWith('|'));
  assert.ok(
    badRows.every((l) => cells(l) === cells(badRows[0]!)),
    badRows.join('\n'),
  );

  assert.match(formatVgg16PipelineTable({ ...base, identical: false, differingTables: ['masking'] }), /\*\*differ\*\* \(masking\)/);
  assert.match(formatVgg16PipelineTable({ ...base, targetMet: false }), /\*\*NOT met\*\*/);
});

test('mainPhaseSeconds: from the last full-count [stats] line to the last full-count [main] line, as they arrived', () => {
  const lines = [
    { t: 1.0, line: '12:00:00 run imagenet-vgg16: 8 images in 4 shards of 2; …' },
    { t: 9.5, line: '12:00:09 [stats] 8/8 images, 0.9 img/s, ETA 0s' },
    { t: 40.25, line: '12:00:40 [main] 4/8 images, 0.1 img/s, ETA 31s' },
    { t: 89.5, line: '12:01:29 [main] 8/8 images, 0.1 img/s, ETA 0s' },
    { t: 89.6, line: '12:01:29 main: 4/4 shards done' },
  ];
  assert.deepEqual(mainPhaseSeconds(lines), { seconds: 80, images: 8 });
  assert.equal(mainPhaseSeconds(lines.slice(0, 3)), null); // main not finished
  assert.equal(mainPhaseSeconds([lines[0]!, lines[3]!]), null); // no stats pass (fill zero)
});

test('the memory table adds the post-warm-up point and its verdict', () => {
  const sample = (t: number, rss: number, hwm: number, imagesDone: number) => ({
    t,
    rssBytes: rss * 2 ** 20,
    hwmBytes: hwm * 2 ** 20,
    imagesDone,
  });
  const samples = [sample(5, 700, 700, 100), sample(8, 800, 800, 300), sample(18, 808, 840, 1000)];
  const s = memorySummary(samples, 100, 1000);
  const st = memorySummary(samples, STEADY_FROM, 1000);
  const text = formatMemoryTable({
    model: 'm',
    images: 1000,
    workers: 2,
    shardSize: 50,
    code: 0,
    seconds: 18,
    mainImagesPerSecond: 60,
    samples,
    ...s,
    steady: { from: STEADY_FROM, rssRatio: st.rssRatio, peakRatio: st.peakRatio, flat: st.flat },
    load: { before: 0, max: 0, mean: 0, after: 0 },
  });
  assert.match(text, /\| 300 \(300\) \| 8 \| 800 MiB \| 800 MiB \|/);
  assert.match(text, /at image 100: 1\.154; peak ÷ peak: 1\.200 → \*\*NOT flat within ±10%\*\*/);
  assert.match(text, /image 300 → 1000: RSS ÷ RSS 1\.010, peak ÷ peak 1\.050 → \*\*flat within ±10%\*\*/);
});
