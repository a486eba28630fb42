/**
 * What the progress display shows, as plain state and pure arithmetic (no terminal, no clock of
 * its own: every method takes `now` in milliseconds), so it can be checked by hand.
 *
 * Workers report cumulative counts per shard attempt ("3 of this shard's images finished, 1 of
 * them failed"). Cumulative counts make late or repeated messages harmless: a message can only
 * raise a shard's count, and once the runner records the shard's end its final counts win.
 */

/** One worker message: how far a shard attempt has got. Posted after each evaluated batch. */
export interface ImageProgressMessage {
  phase: string;
  shard: number;
  /** Images of this shard attempt finished so far (evaluated or failed). */
  finished: number;
  /** Of those, images that could not be read or evaluated. */
  failed: number;
  /** The worker thread's id (worker_threads.threadId), for the per-worker display. */
  thread: number;
}

/** What one worker thread is doing, for `--verbose`. */
export interface WorkerActivity {
  thread: number;
  shard: number;
  finished: number;
  size: number;
  /** When its last message arrived (ms). */
  lastAt: number;
}

export interface ProgressSnapshot {
  total: number;
  /** Images finished, failed ones included. */
  finished: number;
  failed: number;
  /** Images per second over the sliding window. */
  rate: number;
  /** Seconds left at that rate; Infinity while the rate is 0. */
  etaSeconds: number;
  workers: WorkerActivity[];
}

interface ShardState {
  size: number;
  finished: number;
  failed: number;
  /** Set when the runner recorded the shard's end: later worker messages are ignored. */
  final: boolean;
}

/** A point of the throughput history: `processed` images in total by time `t`. */
export interface HistoryPoint {
  t: number;
  processed: number;
}

/**
 * Images per second over the last `windowMs`: the images processed in (now − window, now] divided
 * by the window, or by the time since `startedAt` while the phase is younger than the window.
 * `history` holds cumulative counts in time order; the count at a moment is that of the last
 * point at or before it (0 before the first).
 */
export function windowRate(history: readonly HistoryPoint[], now: number, windowMs: number, startedAt: number): number {
  const span = Math.min(windowMs, now - startedAt);
  if (span <= 0 || history.length === 0) return 0;
  const from = now - span;
  let before = 0;
  for (const p of history) {
    if (p.t > from) break;
    before = p.processed;
  }
  const latest = history[history.length - 1]!.processed;
  return Math.max(0, latest - before) / (span / 1000);
}

/** Seconds to finish `remaining` images at `rate` images/s; 0 when nothing is left, Infinity at rate 0. */
export function etaSeconds(remaining: number, rate: number): number {
  if (remaining <= 0) return 0;
  return rate > 0 ? remaining / rate : Infinity;
}

/** Drops history points no window can need any more: those before the last point at or before `now − windowMs`. */
export function pruneHistory(history: HistoryPoint[], now: number, windowMs: number): void {
  const from = now - windowMs;
  let keepFrom = 0;
  for (let i = 0; i < history.length && history[i]!.t <= from; i++) keepFrom = i;
  if (keepFrom > 0) history.splice(0, keepFrom);
}

/** Images of a batch's errors rows that were not evaluated (unreadable, or no usable label). */
export function failedImageCount(errors: readonly Readonly<Record<string, unknown>>[] | undefined): number {
  const failed = new Set<unknown>();
  // 'pointing' errors are images that were measured but left out of the pointing game only.
  for (const row of errors ?? []) if (row['stage'] === 'read' || row['stage'] === 'forward') failed.add(row['image_index']);
  return failed.size;
}

export class ProgressModel {
  private readonly shards = new Map<number, ShardState>();
  private readonly history: HistoryPoint[] = [];
  private readonly workers = new Map<number, WorkerActivity>();
  /** Every image finished by any attempt (retried work included): the throughput the rate shows. */
  private processed = 0;

  constructor(
    public total: number,
    readonly startedAt: number,
    readonly windowMs = 60_000,
  ) {}

  /** A shard is about to run (its size counts towards the total already). */
  shardStarted(shard: number, size: number): void {
    const s = this.shards.get(shard);
    if (!s || !s.final) this.shards.set(shard, { size, finished: 0, failed: 0, final: false });
  }

  /** A worker's cumulative count for a shard attempt. */
  imageProgress(m: ImageProgressMessage, now: number): void {
    const s = this.shards.get(m.shard);
    if (!s || s.final) return;
    const finished = Math.min(s.size, m.finished);
    if (finished > s.finished) this.addProcessed(finished - s.finished, now);
    if (finished >= s.finished) {
      s.finished = finished;
      s.failed = Math.min(finished, Math.max(s.failed, m.failed));
    }
    this.workers.set(m.thread, { thread: m.thread, shard: m.shard, finished: s.finished, size: s.size, lastAt: now });
  }

  /** The attempt failed and will be retried: its images count again from 0. */
  shardRetry(shard: number): void {
    const s = this.shards.get(shard);
    if (s && !s.final) Object.assign(s, { finished: 0, failed: 0 });
  }

  /** The shard ended: its final counts replace what the messages said. */
  shardFinished(shard: number, counts: { finished: number; failed: number }, now: number): void {
    const s = this.shards.get(shard) ?? { size: counts.finished, finished: 0, failed: 0, final: false };
    if (s.final) return;
    if (counts.finished > s.finished) this.addProcessed(counts.finished - s.finished, now);
    this.shards.set(shard, { size: s.size, finished: counts.finished, failed: counts.failed, final: true });
    for (const [thread, w] of this.workers) if (w.shard === shard) this.workers.delete(thread);
  }

  /** Another process holds the shard: its images are not this process's to count. */
  shardSkipped(shard: number, size: number): void {
    this.total -= size;
    this.shards.delete(shard);
  }

  snapshot(now: number): ProgressSnapshot {
    let finished = 0;
    let failed = 0;
    for (const s of this.shards.values()) {
      finished += s.finished;
      failed += s.failed;
    }
    pruneHistory(this.history, now, this.windowMs);
    const rate = windowRate(this.history, now, this.windowMs, this.startedAt);
    return {
      total: this.total,
      finished,
      failed,
      rate,
      etaSeconds: etaSeconds(this.total - finished, rate),
      workers: [...this.workers.values()].sort((a, b) => a.thread - b.thread),
    };
  }

  private addProcessed(n: number, now: number): void {
    this.processed += n;
    this.history.push({ t: now, processed: this.processed });
  }
}
