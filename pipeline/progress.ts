import cliProgress from 'cli-progress';

/**
 * Progress per phase: a cli-progress bar with images/s and ETA on a terminal; plain periodic log
 * lines otherwise (CI, Slurm, Kubernetes logs), so logs stay readable.
 */
export interface Progress {
  advance(images: number): void;
  stop(): void;
}

export function startProgress(phase: string, totalImages: number, opts: { tty: boolean; log: (s: string) => void; intervalMs?: number }): Progress {
  const t0 = Date.now();
  let done = 0;
  const rate = () => done / Math.max(1e-3, (Date.now() - t0) / 1000);
  const eta = () => {
    const r = rate();
    return r > 0 ? formatSeconds((totalImages - done) / r) : '?';
  };
  if (opts.tty) {
    const bar = new cliProgress.SingleBar(
      { format: `${phase.padEnd(5)} [{bar}] {value}/{total} images | {rate} | ETA {eta_s2}`, hideCursor: true, clearOnComplete: false },
      cliProgress.Presets.shades_classic,
    );
    bar.start(totalImages, 0, { rate: formatRate(0), eta_s2: '?' });
    return {
      advance(n) {
        done += n;
        bar.update(done, { rate: formatRate(rate()), eta_s2: eta() });
      },
      stop: () => bar.stop(),
    };
  }
  let last = Date.now();
  const interval = opts.intervalMs ?? 10_000;
  return {
    advance(n) {
      done += n;
      if (Date.now() - last >= interval || done >= totalImages) {
        last = Date.now();
        opts.log(`[${phase}] ${done}/${totalImages} images, ${formatRate(rate())}, ETA ${eta()}`);
      }
    },
    stop() {},
  };
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
