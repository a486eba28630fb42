import cliProgress from 'cli-progress';
import { ProgressModel, type ImageProgressMessage, type ProgressSnapshot } from './progress-model.js';
import { terminalRestored, terminalTouched } from './terminal.js';

/**
 * Progress per phase, per image: a cli-progress bar (images done, failed, images/s over a sliding
 * window, ETA; with `verbose` one line per worker thread) on a terminal; plain periodic log lines
 * otherwise (CI, Slurm, Kubernetes logs), so logs stay readable. The numbers come from
 * ProgressModel (progress-model.ts); this file only draws them.
 */
export interface Progress {
  shardStarted(shard: number, size: number): void;
  /** A worker's message about a running shard. */
  images(message: ImageProgressMessage): void;
  shardRetry(shard: number): void;
  shardFinished(shard: number, counts: { finished: number; failed: number }): void;
  shardSkipped(shard: number, size: number): void;
  /** Draws the final state and gives the terminal back (cursor, line wrap). Safe to call twice. */
  stop(): void;
}

export interface ProgressOptions {
  tty: boolean;
  log: (s: string) => void;
  /** One line per worker thread (terminal) or per worker in each log line. */
  verbose?: boolean;
  /** Worker threads of the pool, so idle ones are listed too. */
  workers?: number;
  /** Log-line interval without a terminal (default 10 s). */
  intervalMs?: number;
  /** Sliding window of the images/s figure (default 60 s). */
  windowMs?: number;
  /** The clock (tests give their own). */
  now?: () => number;
}

export function startProgress(phase: string, totalImages: number, opts: ProgressOptions): Progress {
  const now = opts.now ?? Date.now;
  const model = new ProgressModel(totalImages, now(), opts.windowMs);
  const view = opts.tty ? terminalView(phase, opts) : logView(phase, opts, now);
  let stopped = false;
  const draw = (final = false) => {
    if (!stopped) view.draw(model.snapshot(now()), final);
  };
  // The rate decays and the ETA moves while a slow image runs, so redraw without events too.
  const timer = opts.tty ? setInterval(draw, 1000) : undefined;
  timer?.unref();
  draw();
  return {
    shardStarted(shard, size) {
      model.shardStarted(shard, size);
    },
    images(m) {
      model.imageProgress(m, now());
      draw();
    },
    shardRetry(shard) {
      model.shardRetry(shard);
      draw();
    },
    shardFinished(shard, counts) {
      model.shardFinished(shard, counts, now());
      draw();
    },
    shardSkipped(shard, size) {
      model.shardSkipped(shard, size);
      draw();
    },
    stop() {
      if (stopped) return;
      draw(true);
      stopped = true;
      if (timer) clearInterval(timer);
      view.stop();
    },
  };
}

interface View {
  draw(s: ProgressSnapshot, final: boolean): void;
  stop(): void;
}

function terminalView(phase: string, opts: ProgressOptions): View {
  // `eta` is cli-progress' own token (its whole-run average); ours is the windowed one.
  const format = `${phase.padEnd(5)} [{bar}] {value}/{total} images | {failed} failed | {rate} | ETA {eta_window}`;
  // A 20-character bar keeps the line within 80 columns (cli-progress cuts it off, not wraps).
  const multi = new cliProgress.MultiBar(
    { format, barsize: 20, hideCursor: true, clearOnComplete: false, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  // cli-progress hides the cursor and turns line wrap off; if the process ends before stop(),
  // the exit hook of terminal.ts turns them back on.
  terminalTouched((text) => {
    multi.log(text);
    multi.update(); // now, not at the next redraw: the process may end before it
  });
  const main = multi.create(1, 0, { failed: 0, rate: formatRate(0), eta_window: '?' });
  const lines: cliProgress.SingleBar[] = [];
  return {
    draw(s) {
      main.setTotal(Math.max(1, s.total));
      main.update(s.finished, { failed: s.failed, rate: formatRate(s.rate), eta_window: formatSeconds(s.etaSeconds) });
      if (!opts.verbose) return;
      const text = workerLines(s, opts.workers ?? 0, (opts.now ?? Date.now)());
      while (lines.length < text.length) lines.push(multi.create(1, 0, { text: '' }, { format: '  {text}' }));
      // Lines of workers that went idle are blanked, not left showing their last shard.
      lines.forEach((line, i) => line.update(0, { text: text[i] ?? '' }));
    },
    stop() {
      terminalRestored();
      multi.stop();
    },
  };
}

function logView(phase: string, opts: ProgressOptions, now: () => number): View {
  let last = -Infinity;
  const interval = opts.intervalMs ?? 10_000;
  let lastCounts = '';
  return {
    draw(s, final) {
      const t = now();
      const complete = s.total > 0 && s.finished >= s.total;
      if (!final && !complete && t - last < interval) return;
      // Once a count was shown, the end of the phase (or the next event at the same count)
      // adds nothing but a slightly different rate: leave it out.
      const counts = `${s.finished}/${s.total}/${s.failed}`;
      if (counts === lastCounts && (final || complete)) return;
      const line = `[${phase}] ${s.finished}/${s.total} images, ${s.failed} failed, ${formatRate(s.rate)}, ETA ${formatSeconds(s.etaSeconds)}`;
      last = t;
      lastCounts = counts;
      opts.log(line);
      if (opts.verbose) for (const w of workerLines(s, opts.workers ?? 0, t)) opts.log(`[${phase}]   ${w}`);
    },
    stop() {},
  };
}

/** "thread 2: shard 5, 3/6 images, last 4s ago" per busy worker, then how many are idle. */
export function workerLines(s: ProgressSnapshot, poolSize: number, now: number): string[] {
  const lines = s.workers.map(
    (w) => `thread ${w.thread}: shard ${w.shard}, ${w.finished}/${w.size} images, last ${formatSeconds((now - w.lastAt) / 1000)} ago`,
  );
  const idle = poolSize - s.workers.length;
  if (idle > 0) lines.push(`${idle} thread(s) idle or loading the model`);
  return lines;
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 90) return `${Math.round(s)}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}

/**
 * Images per second with three significant digits below 10 (VGG16 on wasm runs at ~0.05 img/s,
 * which one decimal would show as 0.0), and the seconds per image when under one image a second.
 */
export function formatRate(imagesPerSecond: number): string {
  const r = imagesPerSecond;
  if (!Number.isFinite(r) || r <= 0) return '0 img/s';
  const text = r >= 10 ? r.toFixed(1) : String(Number(r.toPrecision(3)));
  return r < 1 ? `${text} img/s (${Number((1 / r).toPrecision(3))} s/img)` : `${text} img/s`;
}
