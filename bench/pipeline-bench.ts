/**
 * Issue 6, measurements (d) and (e), on the real pipeline (the `sglrp run` CLI in a child process,
 * as a user runs it) with the embedded digits-pair config (configs/digits-pair.yaml: the small
 * 64×64 digits model, not VGG16, so that both fit in a few minutes of `npm run bench`):
 *   (d) scaling: the same first `limit` images with --workers 1, then --workers 2 (wasm), images/s
 *       of the main phase (the pipeline's own progress rate) and end to end, and the 2/1 ratio;
 *   (e) memory over a long run: `--set dataset.count=N` images, the child's VmRSS and VmHWM
 *       (/proc/<pid>/status; the main process, whose RSS includes the worker threads) sampled
 *       every second, mapped to images done through the manifest files of finished main shards.
 *
 * Library use (bench.ts): `benchScaling()`, `benchMemory()`. Standalone:
 * `node dist/bench/pipeline-bench.js [--limit 400] [--memory-images 1000] [--out FILE]`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { LoadSampler, machineInfo } from './bench-machine.js';

const CLI = fileURLToPath(new URL('../pipeline/cli.js', import.meta.url));

/** The repository root: the first folder above this file that holds configs/digits-pair.yaml (dist/bench, .build/x/bench…). */
export function repoRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'configs', 'digits-pair.yaml'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`bench: no configs/digits-pair.yaml above ${from}`);
    dir = up;
  }
}

export interface RssSample {
  /** Seconds since the child started. */
  t: number;
  rssBytes: number;
  /** VmHWM: the child's peak RSS so far. */
  hwmBytes: number;
  /** Images of the main phase done (finished main shards × shard size, capped at the total). */
  imagesDone: number;
}

export interface CliRun {
  args: string[];
  code: number | null;
  seconds: number;
  /** The last `[main] N/N images, R img/s` rate the pipeline logged (main phase, after model load and stats). */
  mainImagesPerSecond: number | null;
  samples: RssSample[];
  log: string[];
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

function mainShardsDone(runDir: string): number {
  try {
    return readdirSync(join(runDir, 'manifest')).filter((f) => /^main-\d+\.json$/.test(f)).length;
  } catch {
    return 0;
  }
}

/** Runs the CLI on the digits-pair config, sampling the child's memory every `sampleMs`. */
export function runPipeline(extra: string[], opts: { runDir: string; shardSize: number; total: number; sampleMs?: number; log?: (s: string) => void }): Promise<CliRun> {
  const root = repoRoot();
  const args = [CLI, 'run', join(root, 'configs', 'digits-pair.yaml'), '--out', opts.runDir, '--backend', 'wasm', '--no-report', '--set', `shardSize=${opts.shardSize}`, ...extra];
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } });
  const samples: RssSample[] = [];
  let text = '';
  const sample = () => {
    if (child.pid === undefined) return;
    const m = readProc(child.pid);
    if (m) samples.push({ t: (performance.now() - t0) / 1000, ...m, imagesDone: Math.min(opts.total, mainShardsDone(opts.runDir) * opts.shardSize) });
  };
  const onData = (d: Buffer) => {
    text += d.toString();
    opts.log?.(d.toString());
    // Also a sample at every log line: the last shard's line comes just before the process exits,
    // which a once-a-second timer would miss.
    sample();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const timer = setInterval(sample, opts.sampleMs ?? 1000);
  return new Promise((done, fail) => {
    child.on('error', (e) => {
      clearInterval(timer);
      fail(e);
    });
    child.on('close', (code) => {
      clearInterval(timer);
      const log = text.split('\n').filter(Boolean);
      done({ args: args.slice(1), code, seconds: (performance.now() - t0) / 1000, mainImagesPerSecond: mainRateOf(log), samples, log });
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

export async function benchScaling(limit = 400, workers: number[] = [1, 2], log: (s: string) => void = (s) => process.stderr.write(s)): Promise<ScalingResult> {
  const load = new LoadSampler(2000);
  const rows: ScalingRow[] = [];
  for (const n of workers) {
    const dir = mkdtempSync(join(tmpdir(), 'sglrp-bench-scaling-'));
    try {
      log(`bench: scaling: digits-pair, ${limit} images, ${n} worker(s) …\n`);
      const r = await runPipeline(['--limit', String(limit), '--workers', String(n)], { runDir: join(dir, 'run'), shardSize: 100, total: limit });
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
  load: { before: number; max: number; mean: number; after: number };
}

/** The first sample with at least `images` done, else null. */
export function sampleAt(samples: readonly RssSample[], images: number): RssSample | null {
  return samples.find((s) => s.imagesDone >= images) ?? null;
}

/** Ratios and flatness from the samples (pure; unit-tested). */
export function memorySummary(samples: readonly RssSample[], early: number, late: number): Pick<MemoryResult, 'at' | 'rssRatio' | 'peakRatio' | 'flat'> {
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

export async function benchMemory(images = 1000, shardSize = 50, log: (s: string) => void = (s) => process.stderr.write(s)): Promise<MemoryResult> {
  const load = new LoadSampler(2000);
  const dir = mkdtempSync(join(tmpdir(), 'sglrp-bench-memory-'));
  try {
    log(`bench: memory: digits-pair, ${images} images, 2 workers, RSS every second …\n`);
    const r = await runPipeline(['--set', `dataset.count=${images}`, '--workers', '2'], { runDir: join(dir, 'run'), shardSize, total: images });
    if (r.code !== 0) throw new Error(`bench: the ${images}-image pipeline run exited with ${r.code}: ${r.log.slice(-3).join(' | ')}`);
    const s = memorySummary(r.samples, 100, images);
    const gib = (b: number) => (b / 2 ** 30).toFixed(2);
    log(`bench: memory: ${r.samples.length} samples; ${s.at.map((p) => `image ${p.atImages}: RSS ${gib(p.sample.rssBytes)} GiB, peak ${gib(p.sample.hwmBytes)} GiB`).join('; ')}\n`);
    return { model: DIGITS, images, workers: 2, shardSize, code: r.code, seconds: r.seconds, mainImagesPerSecond: r.mainImagesPerSecond, samples: r.samples, ...s, load: load.stop() };
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
    lines.push(`| ${row.workers} | ${row.images} | ${row.mainImagesPerSecond?.toFixed(1) ?? '–'} | ${row.endToEndSeconds.toFixed(1)} | ${row.endToEndImagesPerSecond.toFixed(1)} | ${mib(row.peakRssBytes)} |`);
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
  for (const p of r.at) lines.push(`| ${p.atImages} (${p.sample.imagesDone}) | ${p.sample.t.toFixed(0)} | ${mib(p.sample.rssBytes)} | ${mib(p.sample.hwmBytes)} |`);
  lines.push(
    '',
    `RSS at image ${r.images} ÷ at image 100: ${r.rssRatio?.toFixed(3) ?? '–'}; peak ÷ peak: ${r.peakRatio?.toFixed(3) ?? '–'} → ` +
      `${r.flat === null ? 'not measured (too few samples)' : r.flat ? '**flat within ±10%**' : '**NOT flat within ±10%**'}; highest sample ${gib(Math.max(0, ...r.samples.map((s) => s.rssBytes)))}`,
  );
  return lines.join('\n');
}

function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] ?? dflt : dflt;
}

async function main(): Promise<void> {
  const scaling = await benchScaling(Number(flag('limit', '400')));
  const memory = await benchMemory(Number(flag('memory-images', '1000')));
  const out = { date: new Date().toISOString(), machine: machineInfo(), scaling, memory };
  const file = resolve(flag('out', 'bench-results/pipeline.json'));
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
