/**
 * BENCHMARKS.md measurement (d) and (e), on the real pipeline (the `sglrp run` CLI in a child process,
 * as a user runs it) with the embedded digits-pair config (configs/digits-pair.yaml: the small
 * 64×64 digits model, not VGG16, so that both fit in a few minutes of `npm run bench`):
 *   (d) scaling: the same first `limit` images with --workers 1, then --workers 2 (wasm), images/s
 *       of the main phase (the pipeline's own progress rate) and end to end, and the 2/1 ratio;
 *   (e) memory over a long run: `--set dataset.count=N` images, the child's VmRSS and VmHWM
 *       (/proc/<pid>/status; the main process, whose RSS includes the worker threads) sampled
 *       every second, mapped to images done through the manifest files of finished main shards.
 *
 * The same (d) and (e), and the whole per-image work (c), on VGG16 (random weights) through the
 * CLI with configs/imagenet-vgg16.yaml on a synthetic ImageNet-validation folder:
 * `benchVgg16Pipeline()`, 1 then 2 workers, seconds per image against the performance target.
 *
 * Library use (bench.ts): `benchScaling()`, `benchMemory()`, `benchVgg16Pipeline()`. Standalone:
 * `node dist/bench/pipeline-bench.js [--limit 400] [--memory-images 1000] [--out FILE]`, or
 * `node dist/bench/pipeline-bench.js --vgg16 8 [--workers 1,2] [--out FILE]` (VGG16 only).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { projectRoot } from '../io/project-root.js';
import { mergedTables } from '../results/run-tables.js';
import { argValue } from './bench-args.js';
import { LoadSampler, machineInfo } from './bench-machine.js';
import { fixtureOverrides, writeImageNetFixture } from './imagenet-fixture.js';
import { saveRandomVgg16 } from './random-vgg16.js';
import { TARGET_SECONDS_PER_IMAGE } from './whole-image.js';

/** The compiled CLI next to this build. */
const CLI = fileURLToPath(new URL('../pipeline/cli.js', import.meta.url));

export interface RssSample {
  /** Seconds since the child started. */
  t: number;
  rssBytes: number;
  /** VmHWM: the child's peak RSS so far. */
  hwmBytes: number;
  /** Images of the main phase done (finished main shards × shard size, capped at the total). */
  imagesDone: number;
}

/** How a child process ended, for a failure's reason. */
export function stopReason(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}${signal === 'SIGKILL' ? ' (timeout or out of memory)' : ''}` : `exit code ${code}`;
}

export interface CliRun {
  args: string[];
  code: number | null;
  /** The signal that ended the child (e.g. SIGKILL at the timeout or by the OOM killer), else null. */
  signal: NodeJS.Signals | null;
  seconds: number;
  /** The last `[main] N/N images, R img/s` rate the pipeline logged (main phase, after model load and stats). */
  mainImagesPerSecond: number | null;
  samples: RssSample[];
  log: string[];
  /** The log's lines with the second (since the child started) each arrived. */
  timedLines: TimedLine[];
}

export interface TimedLine {
  t: number;
  line: string;
}

const FULL_COUNT = (phase: string) => new RegExp(`\\[${phase}\\] (\\d+)\\/(\\d+) images, `);

/**
 * Seconds of the main phase, from when the lines arrived: from the stats pre-pass's last
 * full-count line (the main phase starts right after it, once the mean image is written) to the
 * main phase's last full-count line. The pipeline's own rate is printed with one decimal, which
 * says nothing at VGG16's ~0.05–0.1 images/s. Null without both lines (e.g. fill zero: no stats).
 */
export function mainPhaseSeconds(lines: readonly TimedLine[]): { seconds: number; images: number } | null {
  let start: number | null = null;
  let end: { t: number; images: number } | null = null;
  for (const { t, line } of lines) {
    const st = FULL_COUNT('stats').exec(line);
    if (st && st[1] === st[2]) start = t;
    const m = FULL_COUNT('main').exec(line);
    if (m && m[1] === m[2]) end = { t, images: Number(m[1]) };
  }
  return start !== null && end !== null && end.t > start ? { seconds: end.t - start, images: end.images } : null;
}

/** `[main] 400/400 images, 31.2 img/s, …` → 31.2 (the last full-count line). */
export function mainRateOf(lines: readonly string[]): number | null {
  let rate: number | null = null;
  for (const l of lines) {
    const m = /\[main\] (\d+)\/(\d+) images, ([\d.]+) img\/s/.exec(l);
    if (m && m[1] === m[2]) rate = Number(m[3]);
  }
  return rate;
}

/** `VmRSS:  123456 kB` etc. of /proc/<pid>/status, in bytes (null when the process is gone). */
export function procStatus(text: string): { rssBytes: number; hwmBytes: number } | null {
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(text);
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(text);
  return rss && hwm ? { rssBytes: Number(rss[1]) * 1024, hwmBytes: Number(hwm[1]) * 1024 } : null;
}

function readProc(pid: number): { rssBytes: number; hwmBytes: number } | null {
  try {
    return procStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return null;
  }
}

/** The manifest files of the finished main shards ([] before the run folder has a manifest folder). */
function mainManifests(runDir: string): string[] {
  try {
    return readdirSync(join(runDir, 'manifest')).filter((f) => /^main-\d+\.json$/.test(f));
  } catch {
    return [];
  }
}

export interface PipelineRunOptions {
  runDir: string;
  shardSize: number;
  /** Images of the main phase (caps the images-done count of the samples). */
  total: number;
  /** The run config: a path, absolute or relative to the repository root (default configs/digits-pair.yaml). */
  config?: string;
  sampleMs?: number;
  /** The child is killed (SIGKILL) after this long; the run then ends with signal SIGKILL. */
  timeoutMs?: number;
  log?: (s: string) => void;
}

/** The CLI's arguments (after `node`) for a run: config, run dir, wasm, no report, shard size, then `extra`. */
export function pipelineArgs(
  extra: readonly string[],
  opts: Pick<PipelineRunOptions, 'runDir' | 'shardSize' | 'config'>,
  root = projectRoot(),
): string[] {
  const config = resolve(root, opts.config ?? join('configs', 'digits-pair.yaml'));
  return [CLI, 'run', config, '--out', opts.runDir, '--backend', 'wasm', '--no-report', '--set', `shardSize=${opts.shardSize}`, ...extra];
}

/** Runs the CLI on a config (default digits-pair), sampling the child's memory every `sampleMs`. */
export function runPipeline(extra: string[], opts: PipelineRunOptions): Promise<CliRun> {
  const root = projectRoot();
  const args = pipelineArgs(extra, opts, root);
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } });
  const samples: RssSample[] = [];
  let text = '';
  const sample = () => {
    if (child.pid === undefined) return;
    const m = readProc(child.pid);
    if (m)
      samples.push({
        t: (performance.now() - t0) / 1000,
        ...m,
        imagesDone: Math.min(opts.total, mainManifests(opts.runDir).length * opts.shardSize),
      });
  };
  // Each complete line with the time it arrived (ms resolution; the log's own stamps are whole seconds).
  const timedLines: TimedLine[] = [];
  const partial = { stdout: '', stderr: '' };
  const onData = (stream: 'stdout' | 'stderr') => (d: Buffer) => {
    const t = (performance.now() - t0) / 1000;
    text += d.toString();
    const lines = (partial[stream] + d.toString()).split('\n');
    partial[stream] = lines.pop()!;
    for (const line of lines) if (line) timedLines.push({ t, line });
    opts.log?.(d.toString());
    // Also a sample at every log line: the last shard's line comes just before the process exits,
    // which a once-a-second timer would miss.
    sample();
  };
  child.stdout.on('data', onData('stdout'));
  child.stderr.on('data', onData('stderr'));
  const timer = setInterval(sample, opts.sampleMs ?? 1000);
  const killer = opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
  return new Promise((done, fail) => {
    child.on('error', (e) => {
      clearInterval(timer);
      clearTimeout(killer);
      fail(e);
    });
    child.on('close', (code, signal) => {
      clearInterval(timer);
      clearTimeout(killer);
      const seconds = (performance.now() - t0) / 1000;
      for (const line of [partial.stdout, partial.stderr]) if (line) timedLines.push({ t: seconds, line });
      const log = text.split('\n').filter(Boolean);
      done({ args: args.slice(1), code, signal, seconds, mainImagesPerSecond: mainRateOf(log), samples, log, timedLines });
    });
  });
}

export interface ScalingRow {
  workers: number;
  images: number;
  code: number | null;
  /** Main phase (the pipeline's own rate: images / seconds since the main phase started). */
  mainImagesPerSecond: number | null;
  /** Whole CLI run: worker start, model load, stats pass, main phase (no report). */
  endToEndSeconds: number;
  endToEndImagesPerSecond: number;
  peakRssBytes: number;
}

export interface ScalingResult {
  model: string;
  rows: ScalingRow[];
  /** images/s with 2 workers ÷ with 1 (main phase; end to end in brackets in the table). */
  mainRatio: number | null;
  endToEndRatio: number | null;
  load: { before: number; max: number; mean: number; after: number };
}

const DIGITS = 'digits-pair model (configs/digits-pair.yaml: 64×64×1, small VGG-style CNN), not VGG16';

export async function benchScaling(
  limit = 400,
  workers: number[] = [1, 2],
  log: (s: string) => void = (s) => process.stderr.write(s),
): Promise<ScalingResult> {
  const load = new LoadSampler(2000);
  const rows: ScalingRow[] = [];
  for (const n of workers) {
    const dir = mkdtempSync(join(tmpdir(), 'sglrp-bench-scaling-'));
    try {
      log(`bench: scaling: digits-pair, ${limit} images, ${n} worker(s) …\n`);
      const r = await runPipeline(['--limit', String(limit), '--workers', String(n)], {
        runDir: join(dir, 'run'),
        shardSize: 100,
        total: limit,
      });
      if (r.code !== 0) throw new Error(`bench: the pipeline with ${n} worker(s) exited with ${r.code}: ${r.log.slice(-3).join(' | ')}`);
      rows.push({
        workers: n,
        images: limit,
        code: r.code,
        mainImagesPerSecond: r.mainImagesPerSecond,
        endToEndSeconds: r.seconds,
        endToEndImagesPerSecond: limit / r.seconds,
        peakRssBytes: Math.max(0, ...r.samples.map((s) => s.hwmBytes)),
      });
      log(`bench: scaling: ${n} worker(s): main ${r.mainImagesPerSecond ?? '?'} img/s, ${r.seconds.toFixed(1)} s end to end\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const one = rows.find((r) => r.workers === 1);
  const two = rows.find((r) => r.workers === 2);
  return {
    model: DIGITS,
    rows,
    mainRatio: one?.mainImagesPerSecond && two?.mainImagesPerSecond ? two.mainImagesPerSecond / one.mainImagesPerSecond : null,
    endToEndRatio: one && two ? two.endToEndImagesPerSecond / one.endToEndImagesPerSecond : null,
    load: load.stop(),
  };
}

export interface MemoryPoint {
  /** The image count asked for (100, 1000). */
  atImages: number;
  /** The first sample at or after it. */
  sample: RssSample;
}

export interface MemoryResult {
  model: string;
  images: number;
  workers: number;
  shardSize: number;
  code: number | null;
  seconds: number;
  mainImagesPerSecond: number | null;
  samples: RssSample[];
  at: MemoryPoint[];
  /** RSS at the last image ÷ RSS at image ~100 (flat: within 0.9…1.1). */
  rssRatio: number | null;
  /** Peak RSS so far (VmHWM) at the last image ÷ at image ~100. */
  peakRatio: number | null;
  flat: boolean | null;
  /**
   * The same ratios from image `from` (after warm-up: at digits speed image 100 comes ~1.5 s into
   * the main phase, while the worker threads' JS heaps are still growing to their working size).
   */
  steady?: { from: number; rssRatio: number | null; peakRatio: number | null; flat: boolean | null };
  load: { before: number; max: number; mean: number; after: number };
}

/** Image count after which the digits run counts as warmed up (the steady-state ratios start there). */
export const STEADY_FROM = 300;

/** The first sample with at least `images` done, else null. */
export function sampleAt(samples: readonly RssSample[], images: number): RssSample | null {
  return samples.find((s) => s.imagesDone >= images) ?? null;
}

/** Ratios and flatness from the samples (pure; unit-tested). */
export function memorySummary(
  samples: readonly RssSample[],
  early: number,
  late: number,
): Pick<MemoryResult, 'at' | 'rssRatio' | 'peakRatio' | 'flat'> {
  const a = sampleAt(samples, early);
  const b = sampleAt(samples, late);
  const at: MemoryPoint[] = [];
  if (a) at.push({ atImages: early, sample: a });
  if (b) at.push({ atImages: late, sample: b });
  if (!a || !b) return { at, rssRatio: null, peakRatio: null, flat: null };
  const rssRatio = b.rssBytes / a.rssBytes;
  const peakRatio = b.hwmBytes / a.hwmBytes;
  const within = (x: number) => Math.abs(x - 1) <= 0.1 + 1e-9; // exactly 10% counts as within
  return { at, rssRatio, peakRatio, flat: within(rssRatio) && within(peakRatio) };
}

export async function benchMemory(
  images = 1000,
  shardSize = 50,
  log: (s: string) => void = (s) => process.stderr.write(s),
): Promise<MemoryResult> {
  const load = new LoadSampler(2000);
  const dir = mkdtempSync(join(tmpdir(), 'sglrp-bench-memory-'));
  try {
    log(`bench: memory: digits-pair, ${images} images, 2 workers, RSS every second …\n`);
    const r = await runPipeline(['--set', `dataset.count=${images}`, '--workers', '2'], {
      runDir: join(dir, 'run'),
      shardSize,
      total: images,
    });
    if (r.code !== 0) throw new Error(`bench: the ${images}-image pipeline run exited with ${r.code}: ${r.log.slice(-3).join(' | ')}`);
    const s = memorySummary(r.samples, 100, images);
    const st = images > STEADY_FROM ? memorySummary(r.samples, STEADY_FROM, images) : null;
    const steady = st ? { steady: { from: STEADY_FROM, rssRatio: st.rssRatio, peakRatio: st.peakRatio, flat: st.flat } } : {};
    log(
      `bench: memory: ${r.samples.length} samples; ${s.at.map((p) => `image ${p.atImages}: RSS ${gib(p.sample.rssBytes)}, peak ${gib(p.sample.hwmBytes)}`).join('; ')}\n`,
    );
    return {
      model: DIGITS,
      images,
      workers: 2,
      shardSize,
      code: r.code,
      seconds: r.seconds,
      mainImagesPerSecond: r.mainImagesPerSecond,
      samples: r.samples,
      ...s,
      ...steady,
      load: load.stop(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// BENCHMARKS.md measurements (c), (d), (e) on VGG16 through the real CLI: `sglrp run configs/imagenet-vgg16.yaml` on
// a synthetic ImageNet-validation layout (bench/imagenet-fixture.ts), 1 then 2 workers.

/** Passes a child's output on line by line, each line with a prefix. */
function lineEcho(prefix: string, log: (s: string) => void): { write: (s: string) => void; flush: () => void } {
  let rest = '';
  return {
    write(s) {
      const lines = (rest + s).split('\n');
      rest = lines.pop()!;
      for (const l of lines) log(`${prefix}${l}\n`);
    },
    flush() {
      if (rest) log(`${prefix}${rest}\n`);
      rest = '';
    },
  };
}

export const VGG16_CONFIG = join('configs', 'imagenet-vgg16.yaml');
const VGG16 = 'VGG16 (Keras layer names and shapes, 224×224×3, 1000 classes) with random weights';

/** One finished main shard, from RUN_DIR/manifest/main-N.json. */
export interface ShardTiming {
  shard: number;
  imageCount: number;
  /** The worker's time for the shard (read, explain, mask, point; not the table writes). */
  seconds: number;
  finishedAt: string;
}

export function mainShardTimings(runDir: string): ShardTiming[] {
  const out: ShardTiming[] = [];
  for (const f of mainManifests(runDir)) {
    try {
      const r = JSON.parse(readFileSync(join(runDir, 'manifest', f), 'utf8')) as ShardTiming;
      out.push({ shard: r.shard, imageCount: r.imageCount, seconds: r.seconds, finishedAt: r.finishedAt });
    } catch {
      /* a manifest being written; not counted */
    }
  }
  return out.sort((a, b) => a.shard - b.shard);
}

/**
 * Seconds per image once the workers are warm (an estimate): the worker-seconds per image of the
 * main shards after the first `workers` (each worker's first shard compiles the wasm kernels),
 * divided by the workers running side by side. Null when no shard is left after those.
 */
export function warmSecondsPerImage(shards: readonly ShardTiming[], workers: number): number | null {
  const warm = [...shards].sort((a, b) => a.shard - b.shard).slice(workers);
  const images = warm.reduce((n, s) => n + s.imageCount, 0);
  if (images === 0 || workers < 1) return null;
  return warm.reduce((t, s) => t + s.seconds, 0) / images / workers;
}

/** Images per shard: small enough that every worker of the largest count gets at least two shards (≥ 1). */
export function vgg16ShardSize(images: number, workers: readonly number[]): number {
  return Math.max(1, Math.floor(images / (2 * Math.max(1, ...workers))));
}

/** Tables (as mergedTables gives them) whose rows differ between two runs; [] when identical. */
export function differingTables(a: Record<string, readonly string[]>, b: Record<string, readonly string[]>): string[] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return names.filter((t) => {
    const x = a[t] ?? [];
    const y = b[t] ?? [];
    return x.length !== y.length || x.some((row, i) => row !== y[i]);
  });
}

export interface Vgg16PipelineRow {
  workers: number;
  images: number;
  status: 'ok' | 'failed';
  /** Why the run failed (exit code or signal, the last log lines). */
  reason?: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The CLI's arguments (after `node`), as run. */
  command: string[];
  /** Main phase: images / mainSeconds (see mainPhaseSeconds); the pipeline's own rate where that is missing. */
  mainImagesPerSecond: number | null;
  /** From the stats pass's last progress line to the main phase's last one, as they arrived. */
  mainSeconds: number | null;
  /** The rate the pipeline logged (one decimal: "0.1 img/s"), for reference. */
  pipelineImagesPerSecond: number | null;
  /** 1 / mainImagesPerSecond: includes each worker's first image, which compiles the wasm kernels. */
  secondsPerImage: number | null;
  /** See warmSecondsPerImage (null with one shard per worker). */
  warmSecondsPerImage: number | null;
  /** Whole CLI run: worker start, model load and the stats pre-pass, main phase (no report). */
  endToEndSeconds: number;
  /** Max VmHWM of the CLI process (its worker threads included). */
  peakRssBytes: number;
  shards: ShardTiming[];
  samples: RssSample[];
}

export interface Vgg16PipelineResult {
  model: string;
  config: string;
  dataset: string;
  images: number;
  shardSize: number;
  rows: Vgg16PipelineRow[];
  /** Main-phase images/s with 2 workers ÷ with 1. */
  mainRatio: number | null;
  endToEndRatio: number | null;
  /** The merged result tables of the 1- and 2-worker runs are the same rows (null: not both ran). */
  identical: boolean | null;
  differingTables: string[];
  targetSecondsPerImage: number;
  /** Main-phase seconds per image with 2 workers ≤ the target (null: no 2-worker result). */
  targetMet: boolean | null;
  load: { before: number; max: number; mean: number; after: number };
}

/** Ratios, the target check (pure; unit-tested). */
export function vgg16Summary(
  rows: readonly Vgg16PipelineRow[],
  target = TARGET_SECONDS_PER_IMAGE,
): Pick<Vgg16PipelineResult, 'mainRatio' | 'endToEndRatio' | 'targetMet'> {
  const ok = (n: number) => rows.find((r) => r.workers === n && r.status === 'ok');
  const one = ok(1);
  const two = ok(2);
  return {
    mainRatio: one?.mainImagesPerSecond && two?.mainImagesPerSecond ? two.mainImagesPerSecond / one.mainImagesPerSecond : null,
    endToEndRatio: one && two ? one.endToEndSeconds / two.endToEndSeconds : null,
    targetMet: two?.secondsPerImage != null ? two.secondsPerImage <= target : null,
  };
}

/**
 * Runs `sglrp run configs/imagenet-vgg16.yaml` (wasm, no report) on `images` synthetic ImageNet
 * validation images with each worker count in turn, each into its own run folder, and compares
 * the runs' merged tables. A failed run is a row with its reason; the others still run.
 */
export async function benchVgg16Pipeline(
  modelPath: string,
  images = 8,
  workers: number[] = [1, 2],
  log: (s: string) => void = (s) => process.stderr.write(s),
  opts: { shardSize?: number; timeoutMs?: number; echo?: boolean } = {},
): Promise<Vgg16PipelineResult> {
  const load = new LoadSampler(2000);
  const dir = mkdtempSync(join(tmpdir(), 'sglrp-bench-vgg16-'));
  const shardSize = opts.shardSize ?? vgg16ShardSize(images, workers);
  // Model load ~8 s, first image ~25 s, then ~18 s per image and worker: ten times that is a hang.
  const timeoutMs = opts.timeoutMs ?? 300_000 + images * 180_000;
  try {
    log(`bench: vgg16 pipeline: writing ${images} synthetic ImageNet validation images …\n`);
    const fixture = await writeImageNetFixture(join(dir, 'imagenet'), images);
    const rows: Vgg16PipelineRow[] = [];
    const tables = new Map<number, Record<string, string[]>>();
    for (const n of workers) {
      const runDir = join(dir, `run-w${n}`);
      const echo = opts.echo === false ? undefined : lineEcho(`  [${n}w] `, log);
      log(`bench: vgg16 pipeline: ${images} images, shards of ${shardSize}, ${n} worker(s) …\n`);
      const r = await runPipeline([...fixtureOverrides(fixture, modelPath), '--workers', String(n)], {
        config: VGG16_CONFIG,
        runDir,
        shardSize,
        total: images,
        timeoutMs,
        ...(echo && { log: echo.write }),
      });
      echo?.flush();
      const shards = mainShardTimings(runDir);
      const main = mainPhaseSeconds(r.timedLines);
      const rate = main ? main.images / main.seconds : r.mainImagesPerSecond;
      const failed = r.code !== 0 || r.signal !== null;
      const row: Vgg16PipelineRow = {
        workers: n,
        images,
        status: failed ? 'failed' : 'ok',
        ...(failed && { reason: `${stopReason(r.code, r.signal)}: ${r.log.slice(-3).join(' | ')}` }),
        code: r.code,
        signal: r.signal,
        command: r.args,
        mainImagesPerSecond: rate,
        mainSeconds: main?.seconds ?? null,
        pipelineImagesPerSecond: r.mainImagesPerSecond,
        secondsPerImage: rate ? 1 / rate : null,
        warmSecondsPerImage: warmSecondsPerImage(shards, n),
        endToEndSeconds: r.seconds,
        peakRssBytes: Math.max(0, ...r.samples.map((s) => s.hwmBytes)),
        shards,
        samples: r.samples,
      };
      rows.push(row);
      if (!failed) tables.set(n, await mergedTables(runDir));
      log(
        `bench: vgg16 pipeline: ${n} worker(s): ${failed ? `FAILED (${row.reason}); ` : ''}main ${rate?.toFixed(4) ?? '?'} img/s = ` +
          `${row.secondsPerImage?.toFixed(1) ?? '?'} s/image (warm ${row.warmSecondsPerImage?.toFixed(1) ?? '?'}), ${r.seconds.toFixed(1)} s end to end, peak RSS ${gib(row.peakRssBytes)}\n`,
      );
      rmSync(join(runDir, 'tables'), { recursive: true, force: true }); // read already; the disk is shared
    }
    const a = tables.get(1);
    const b = tables.get(2);
    const differ = a && b ? differingTables(a, b) : [];
    return {
      model: VGG16,
      config: VGG16_CONFIG,
      dataset: `${images} synthetic ImageNet validation images (${fixture.images[0]!.width}×${fixture.images[0]!.height} random-noise JPEGs, one box each, wnids of the shipped class list)`,
      images,
      shardSize,
      rows,
      ...vgg16Summary(rows),
      identical: a && b ? differ.length === 0 : null,
      differingTables: differ,
      targetSecondsPerImage: TARGET_SECONDS_PER_IMAGE,
      load: load.stop(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

export function formatScalingTable(r: ScalingResult): string {
  const lines = [
    `**(d) pipeline scaling, wasm**: \`sglrp run configs/digits-pair.yaml --limit ${r.rows[0]?.images ?? '?'}\` — the ${r.model}; load average (1 min) max ${r.load.max.toFixed(2)}, mean ${r.load.mean.toFixed(2)}`,
    '',
    '| workers | images | main-phase images/s | end-to-end seconds | end-to-end images/s | peak RSS |',
    '|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of r.rows) {
    lines.push(
      `| ${row.workers} | ${row.images} | ${row.mainImagesPerSecond?.toFixed(1) ?? '–'} | ${row.endToEndSeconds.toFixed(1)} | ${row.endToEndImagesPerSecond.toFixed(1)} | ${mib(row.peakRssBytes)} |`,
    );
  }
  lines.push(`| **ratio** 2 / 1 workers | | **${r.mainRatio?.toFixed(2) ?? '–'}×** | | ${r.endToEndRatio?.toFixed(2) ?? '–'}× | |`);
  return lines.join('\n');
}

export function formatMemoryTable(r: MemoryResult): string {
  const lines = [
    `**(e) resident memory over a long run, wasm**: \`sglrp run configs/digits-pair.yaml --set dataset.count=${r.images} --workers ${r.workers}\` (shards of ${r.shardSize}) — the ${r.model}; ` +
      `${r.samples.length} samples of the CLI process's /proc VmRSS (worker threads included), one a second and one at each log line; ${r.seconds.toFixed(0)} s, main phase ${r.mainImagesPerSecond?.toFixed(1) ?? '?'} images/s`,
    '',
    '| images done (first sample at or after) | seconds | RSS | peak RSS so far (VmHWM) |',
    '|---:|---:|---:|---:|',
  ];
  const steadyAt = r.steady ? sampleAt(r.samples, r.steady.from) : null;
  const points = [...r.at, ...(steadyAt && r.steady ? [{ atImages: r.steady.from, sample: steadyAt }] : [])].sort(
    (a, b) => a.atImages - b.atImages,
  );
  for (const p of points)
    lines.push(
      `| ${p.atImages} (${p.sample.imagesDone}) | ${p.sample.t.toFixed(0)} | ${mib(p.sample.rssBytes)} | ${mib(p.sample.hwmBytes)} |`,
    );
  lines.push(
    '',
    `RSS at image ${r.images} ÷ at image 100: ${r.rssRatio?.toFixed(3) ?? '–'}; peak ÷ peak: ${r.peakRatio?.toFixed(3) ?? '–'} → ` +
      `${r.flat === null ? 'not measured (too few samples)' : r.flat ? '**flat within ±10%**' : '**NOT flat within ±10%**'}; highest sample ${gib(Math.max(0, ...r.samples.map((s) => s.rssBytes)))}`,
  );
  if (r.steady) {
    const st = r.steady;
    lines.push(
      '',
      `After warm-up, image ${st.from} → ${r.images}: RSS ÷ RSS ${st.rssRatio?.toFixed(3) ?? '–'}, peak ÷ peak ${st.peakRatio?.toFixed(3) ?? '–'} → ` +
        `${st.flat === null ? 'not measured' : st.flat ? '**flat within ±10%**' : '**NOT flat within ±10%**'}`,
    );
  }
  return lines.join('\n');
}

const secs = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(1));

export function formatVgg16PipelineTable(r: Vgg16PipelineResult): string {
  const ok = r.rows.filter((x) => x.status === 'ok');
  const lines = [
    `**(c)–(e) the whole per-image benchmark work on VGG16 through the pipeline, wasm**: \`sglrp run ${r.config} --backend wasm --no-report --set shardSize=${r.shardSize} --workers N\` ` +
      `(dataset and model paths set with --set) on ${r.dataset} — ${r.model}, so the numbers are speed and memory only. ` +
      `Each worker loads the model in the stats pre-pass (dataset-mean fill); the main phase is timed from the stats pass's last progress line to the main phase's last one ` +
      `and includes each worker's first image, which compiles the wasm kernels ` +
      `("warm" leaves each worker's first shard out: worker-seconds per image of the later shards ÷ workers, an estimate). ` +
      `Load average (1 min) max ${r.load.max.toFixed(2)}, mean ${r.load.mean.toFixed(2)}`,
    '',
    '| workers | images | shards | main-phase images/s | s/image (main phase) | s/image warm | end-to-end seconds | peak RSS (VmHWM) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of r.rows) {
    if (row.status === 'failed') {
      lines.push(
        `| ${row.workers} | ${row.images} | failed: ${(row.reason ?? '').replace(/\|/g, '/')} | | | | ${secs(row.endToEndSeconds)} | ${row.peakRssBytes ? gib(row.peakRssBytes) : '–'} |`,
      );
      continue;
    }
    lines.push(
      `| ${row.workers} | ${row.images} | ${row.shards.length} × ${r.shardSize} | ${row.mainImagesPerSecond?.toFixed(3) ?? '–'} | ${secs(row.secondsPerImage)} | ${secs(row.warmSecondsPerImage)} | ${secs(row.endToEndSeconds)} | ${gib(row.peakRssBytes)} |`,
    );
  }
  if (ok.some((x) => x.workers === 1) && ok.some((x) => x.workers === 2)) {
    lines.push(`| **ratio** 2 / 1 workers | | | **${r.mainRatio?.toFixed(2) ?? '–'}×** | | | ${r.endToEndRatio?.toFixed(2) ?? '–'}× | |`);
  }
  const two = ok.find((x) => x.workers === 2);
  lines.push(
    '',
    `Target ≤ ${r.targetSecondsPerImage} s per image with 2 workers: ` +
      (r.targetMet === null
        ? 'not measured (no 2-worker result)'
        : `${r.targetMet ? '**met**' : '**NOT met**'} (${secs(two?.secondsPerImage)} s per image, main phase)`) +
      '; result tables of the 1- and 2-worker runs: ' +
      (r.identical === null
        ? 'not compared (not both ran)'
        : r.identical
          ? '**identical**'
          : `**differ** (${r.differingTables.join(', ')})`),
  );
  return lines.join('\n');
}

/** `--vgg16 N [--workers 1,2]`: only the VGG16 pipeline bench. */
async function mainVgg16(images: number): Promise<void> {
  const workers = (argValue('workers') ?? '1,2').split(',').map(Number);
  if (!Number.isInteger(images) || images < 1 || workers.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error('usage: pipeline-bench.js --vgg16 N [--workers 1,2] [--out FILE]');
  const dir = mkdtempSync(join(tmpdir(), 'sglrp-bench-vgg16-model-'));
  try {
    process.stderr.write(`bench: building VGG16 with random weights in ${dir} …\n`);
    const vgg16 = await benchVgg16Pipeline((await saveRandomVgg16(dir)).modelPath, images, workers);
    const out = { date: new Date().toISOString(), machine: machineInfo(), vgg16 };
    const file = resolve(argValue('out') ?? 'bench-results/pipeline-vgg16.json');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
    process.stdout.write(`\n${formatVgg16PipelineTable(vgg16)}\n\nwrote ${file}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--vgg16')) return mainVgg16(Number(argValue('vgg16') ?? '8'));
  const scaling = await benchScaling(Number(argValue('limit') ?? '400'));
  const memory = await benchMemory(Number(argValue('memory-images') ?? '1000'));
  const out = { date: new Date().toISOString(), machine: machineInfo(), scaling, memory };
  const file = resolve(argValue('out') ?? 'bench-results/pipeline.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`\n${formatScalingTable(scaling)}\n\n${formatMemoryTable(memory)}\n\nwrote ${file}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`bench/pipeline-bench: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  });
}
