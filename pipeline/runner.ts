import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TEMP_MARKER, type AtomicWriteHooks } from '../results/atomic-file.js';
import { Piscina } from 'piscina';
import { datasetFromConfig } from '../data/factory.js';
import { formatDatasetIssues } from '../data/issues.js';
import { writeNpy } from '../io/npy.js';
import { readTableRows, writeTableAtomic } from '../results/table-io.js';
import { TABLES, type TableName } from '../results/schemas.js';
import { mainPhaseTables } from '../metrics/registry.js';
import { meanImage } from '../stages/stats.js';
import type { ShardResult, ShardTask } from '../workers/shard-worker.js';
import type { RunConfig } from './config.js';
import { formatImageErrors, summarizeImageErrors } from './image-errors.js';
import { onInterrupt } from './interrupt.js';
import { preflight } from './preflight.js';
import { startProgress, type Progress } from './progress.js';
import { failedImageCount, type ImageProgressMessage } from './progress-model.js';
import { leaseMsFromEnv, makePlan, planImages, RunDir, staleGraceFor, type Phase } from './run-dir.js';
import { runIdentity } from './run-identity.js';
import type { LiveLock } from './claims.js';
import { nodePart, phaseShards, STATS_BLOCK, workOrder, type Shard } from './shards.js';
import { testHook } from './test-hooks.js';
import { UsageError } from './usage-error.js';

/**
 * Tables each phase writes for every shard (even when empty, so the manifest is complete). Table
 * files are named by table and shard only, so two phases must never write the same table: the
 * stats pre-pass writes no errors table (an unreadable image is read again, and recorded, by the
 * main phase; stats blocks and main shards share shard numbers).
 */
export const PHASE_TABLES: Record<Phase, TableName[]> = {
  stats: ['stats'],
  // forward, relevance, each registered metric's tables (metrics/registry.ts), errors.
  main: mainPhaseTables() as TableName[],
};

/**
 * Exit codes a scheduler can act on (docs/PROTOCOL.md §9): 0 every shard of this node's part is
 * done (by anyone); 1 an error that stopped the run (a full disk, a bug); 2 usage, config or
 * setup error — rerunning the same command cannot help; 3 incomplete — some shards failed after
 * their retries (a crash, out of memory), rerun the same command to finish them.
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, incomplete: 3 } as const;

export interface RunOptions {
  config: RunConfig;
  outDir: string;
  /** This node's part (from --shard-index/--shard-count or the scheduler's variables). */
  node: { index: number; count: number };
  /** --limit: a positive integer (checked before anything is written), or null. */
  limit: number | null;
  /** Attempts per shard before it is recorded as failed. */
  attempts?: number;
  tty: boolean;
  log: (line: string) => void;
  /** Progress shows what each worker thread is doing. */
  verbose?: boolean;
  /** Progress log lines (no terminal) at most this often; default 10 s. */
  progressIntervalMs?: number;
}

export interface RunOutcome {
  exitCode: number;
  runDir: string;
  /** True when every shard of the run (all nodes) is done. */
  complete: boolean;
  failedShards: number;
  /** "4 images could not be evaluated: …", or '' when every image was. */
  imageErrors: string;
}

/** The run cannot go on: the disk (or quota) is full. Finished shards stay valid. */
export class DiskFullError extends Error {
  constructor(
    readonly phase: Phase,
    readonly shard: number,
    cause: Error,
    finished: number,
  ) {
    super(
      `no space left on device while writing ${phase} shard ${shard} (${cause.message.split('\n')[0]}). ` +
        `The run stopped; the ${finished} shard(s) finished so far are kept and verified. Free space (or use --out on a larger disk) and run the same command again to finish.`,
    );
    this.name = 'DiskFullError';
  }
}

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);

function isDiskFull(err: unknown): err is NodeJS.ErrnoException {
  // Errors from worker threads arrive without their code, only the message.
  return DISK_FULL.has((err as NodeJS.ErrnoException)?.code ?? '') || /\b(ENOSPC|EDQUOT)\b/.test(String((err as Error)?.message ?? ''));
}

/** Worker threads: what the backend makes fastest. wasm and cpu run one thread per instance. */
export function defaultWorkers(config: RunConfig): number {
  if (config.workers !== 'auto') return config.workers;
  if (config.backend === 'webgpu' || config.backend === 'tensorflow') return 1; // one device, one context
  return Math.max(1, Math.min(availableParallelism(), 8));
}

/** `--limit` must be a positive integer: 0 would plan an empty run, and a fraction or NaN no run at all. */
export function checkLimit(limit: number | null): void {
  if (limit !== null && (!Number.isSafeInteger(limit) || limit < 1)) {
    throw new UsageError(`--limit ${String(limit)}: expected a positive integer (the number of images to evaluate), e.g. --limit 500`);
  }
}

/** HH:MM:SS (UTC, as the log lines) of an epoch time. */
function clockTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/** "waiting for 2 shards leased by node07:4711 until 10:41:07" (holders as host:pid, latest expiry each). */
export function waitingLine(phase: string, left: number, leases: readonly Pick<LiveLock, 'host' | 'pid' | 'expiresAt'>[]): string {
  const until = new Map<string, number>();
  for (const l of leases) until.set(`${l.host}:${l.pid}`, Math.max(until.get(`${l.host}:${l.pid}`) ?? 0, l.expiresAt));
  const holders = [...until].map(([owner, t]) => `${owner} until ${clockTime(t)}`).join(', ');
  return `${phase}: waiting for ${left} shard${left === 1 ? '' : 's'}${holders ? ` leased by ${holders}` : ' (their leases are being taken over)'}; a dead holder's shards are taken over when its lease ends`;
}

export async function runBenchmark(opts: RunOptions): Promise<RunOutcome> {
  const { config, log } = opts;
  // Everything that can be checked is checked before the run directory is created or touched.
  checkLimit(opts.limit);
  const leaseMs = leaseMsFromEnv();
  await preflight(config, opts.limit);
  const identity = await runIdentity(config);
  const runDir = await RunDir.open(opts.outDir, config, { identity, staleGraceMs: staleGraceFor(leaseMs) });
  const dataset = datasetFromConfig(config);
  const size = dataset.size();
  // Problems with the dataset's files as a whole (bad annotation lines, a foreign class order).
  for (const line of formatDatasetIssues(dataset)) log(line);
  const plan = await runDir.writePlan(makePlan(size, opts.limit, config.shardSize));
  const total = planImages(plan);
  const statsShards = phaseShards('stats', total, config.shardSize);
  const mine = nodePart(phaseShards('main', total, config.shardSize), opts.node.index, opts.node.count);
  const workers = defaultWorkers(config);
  /** How often a process waiting for others' shards looks again. */
  const pollMs = Math.max(100, Math.min(5000, Math.floor(leaseMs / 4)));
  log(
    `run ${config.name}: ${total} images in ${plan.shardCount} shards of ${config.shardSize}; node ${opts.node.index + 1}/${opts.node.count}; ${workers} worker thread(s); output ${runDir.dir}`,
  );
  for (const [phase, count] of [
    ['stats', statsShards.length],
    ['main', plan.shardCount],
  ] as const) {
    const stray = await runDir.outsidePlan(phase, count);
    if (stray.length > 0)
      log(
        `${phase}: ignoring ${stray.length} manifest file(s) outside the plan of ${count} shards (${stray.slice(0, 5).join(', ')}${stray.length > 5 ? ', …' : ''}); they are never counted or merged`,
      );
  }

  const pool = new Piscina({
    filename: new URL('../workers/shard-worker.js', import.meta.url).href,
    minThreads: workers,
    maxThreads: workers,
    idleTimeout: 60_000,
    // wasm keeps a 4 GiB heap per thread; V8's own heap stays small.
    resourceLimits: { maxOldGenerationSizeMb: 4096 },
  });
  let failed = 0;
  /** Set when the run must stop (disk full): lanes take no new shard. */
  let stop: DiskFullError | undefined;
  /** The running phase's display (per image). */
  let progress: Progress | undefined;
  const stopOnSignal = onInterrupt(() => interruptedMessage(runDir, plan.shardCount, progress));
  try {
    let meanPath: string | undefined;
    if (config.masking.fill !== 'zero') {
      // Stats: every node helps with every unfinished stats shard (the mean needs them all).
      failed += await completePhase('stats', workOrder(statsShards, opts.node.index, opts.node.count), undefined);
      if (stop) throw stop;
      meanPath = failed === 0 ? await writeMeanImage(runDir, statsShards.length) : undefined;
      if (!meanPath) {
        log('stats: some stats shards failed; the main phase needs the mean image, stopping (rerun to retry them)');
        return { exitCode: EXIT.incomplete, runDir: runDir.dir, complete: false, failedShards: failed, imageErrors: '' };
      }
    }
    failed += await completePhase('main', mine, meanPath);
  } finally {
    stopOnSignal();
    await pool.destroy();
  }
  if (stop) throw stop;
  const records = await runDir.finished('main', plan.shardCount);
  const doneShards = new Set(records.map((r) => r.shard));
  const complete = records.length === plan.shardCount;
  const partDone = mine.every((s) => doneShards.has(s.index));
  log(`main: ${records.length}/${plan.shardCount} shards done${failed ? `, ${failed} failed this run` : ''}`);
  const imageErrors = formatImageErrors(await summarizeImageErrors(records, (p) => runDir.resolvePath(p)));
  // Exit 0 only when every shard of this node's part is done, by this process or another.
  return { exitCode: failed > 0 || !partDone ? EXIT.incomplete : EXIT.ok, runDir: runDir.dir, complete, failedShards: failed, imageErrors };

  /**
   * Runs the phase's shards until each is done (by anyone) or failed here. Shards that another
   * process holds are waited for: its lease is renewed while it works, and when it dies (or
   * stops) the lease runs out and the shard is taken over here, so a dead node's shards are
   * computed within about one lease time.
   */
  async function completePhase(phase: Phase, list: Shard[], mean: string | undefined): Promise<number> {
    let lastLine = '';
    let todo = list;
    /** Shards not seen done yet (a done shard stays done: it is not looked at again). */
    let remaining = list;
    for (;;) {
      if (todo.length > 0) {
        const failures = await runPhase(phase, todo, mean);
        if (failures > 0 || stop) return failures;
      }
      const left: Shard[] = [];
      for (const s of remaining) if (!(await runDir.isDone(phase, s.index))) left.push(s);
      if (left.length === 0) return 0;
      remaining = left;
      const held = (await runDir.running(phase)).filter((l) => left.some((s) => s.index === l.shard));
      const line = waitingLine(phase, left.length, held);
      if (line !== lastLine) log(line);
      lastLine = line;
      await new Promise((r) => setTimeout(r, pollMs));
      // Next round: only what nobody holds now (a lease ran out, its holder died here, or it was
      // released unfinished), so waiting neither re-verifies finished shards nor spams progress.
      const heldNow = new Set((await runDir.running(phase)).map((l) => l.shard));
      todo = left.filter((s) => !heldNow.has(s.index));
    }
  }

  async function runPhase(phase: Phase, list: Shard[], mean: string | undefined): Promise<number> {
    const todo: Shard[] = [];
    for (const s of list) if (!(await runDir.isDone(phase, s.index, { verify: true }))) todo.push(s);
    if (todo.length === 0) return 0;
    const lanes = Math.min(workers, todo.length);
    if (lanes < workers) log(idleThreadsNote(phase, todo.length, workers));
    const shown = startProgress(
      phase,
      todo.reduce((n, s) => n + s.end - s.start, 0),
      {
        tty: opts.tty,
        log,
        verbose: opts.verbose,
        workers: lanes,
        ...(opts.progressIntervalMs !== undefined ? { intervalMs: opts.progressIntervalMs } : {}),
      },
    );
    progress = shown;
    let failures = 0;
    let next = 0;
    const lane = async () => {
      while (next < todo.length && !stop) {
        const shard = todo[next++]!;
        shown.shardStarted(shard.index, shard.end - shard.start);
        const ok = await runShard(phase, shard, mean);
        if (ok === false && !stop) failures++;
        if (ok === false) shown.shardFinished(shard.index, { finished: shard.end - shard.start, failed: shard.end - shard.start });
        if (ok === null) shown.shardSkipped(shard.index, shard.end - shard.start);
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    shown.stop();
    return failures;
  }

  /** Claims, computes, writes and records one shard; null when another process holds it (or took it over). */
  async function runShard(phase: Phase, shard: Shard, mean: string | undefined): Promise<boolean | null> {
    const claim = await runDir.claim(phase, shard.index, { leaseMs });
    if (!claim) return null;
    const stopKeepAlive = claim.keepAlive();
    try {
      if (await runDir.isDone(phase, shard.index)) {
        progress?.shardFinished(shard.index, { finished: shard.end - shard.start, failed: 0 });
        return true;
      }
      await removeTempFiles(runDir, phase, shard.index);
      const attempts = opts.attempts ?? 3;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
          const task: ShardTask = {
            phase,
            shard,
            config,
            runDir: runDir.dir,
            meanPath: mean,
            batchSize: config.batchSize === 'auto' ? 0 : config.batchSize,
          };
          const result = await runOnWorker(pool, task, (m) => progress?.images(m));
          // Stopped or stalled past the lease (SIGSTOP, a frozen VM): another process may own the
          // shard now; leave it to them rather than write under a lease that is not ours.
          if (!(await claim.renew())) {
            log(
              `${phase} shard ${shard.index}: this process's lease ran out while it worked (stopped or stalled?); leaving the shard to the process that took it over`,
            );
            return null;
          }
          const files = [];
          for (const table of PHASE_TABLES[phase]) {
            // (test hook: pauses while the second table's temp file is complete, before its rename)
            const hooks: AtomicWriteHooks | undefined =
              files.length === 1 ? { beforeCommit: () => testHook('write-table', phase, shard.index) } : undefined;
            files.push({
              table,
              ...(await writeTableAtomic(runDir.tablePath(table, shard.index), TABLES[table], result.rows[table] ?? [], hooks)),
            });
          }
          await testHook('manifest', phase, shard.index);
          await runDir.markDone(
            phase,
            shard.index,
            {
              files,
              imageCount: result.imageCount,
              backend: result.backend,
              ...(result.backendDetail ? { backendDetail: result.backendDetail } : {}),
              seconds: result.seconds,
            },
            claim,
          );
          progress?.shardFinished(shard.index, { finished: result.imageCount, failed: failedImageCount(result.rows.errors) });
          return true;
        } catch (err) {
          if (isDiskFull(err)) {
            // Retrying cannot help and other shards would fail the same way: stop the run.
            await runDir.recordFailure(phase, shard.index, err).catch(() => undefined);
            stop ??= new DiskFullError(
              phase,
              shard.index,
              err,
              (await runDir.finished('stats')).length + (await runDir.finished('main')).length,
            );
            log(`${phase} shard ${shard.index}: ${err.message.split('\n')[0]}; stopping the run`);
            return false;
          }
          await runDir.recordFailure(phase, shard.index, err);
          progress?.shardRetry(shard.index);
          log(`${phase} shard ${shard.index}: attempt ${attempt}/${attempts} failed: ${(err as Error).message?.split('\n')[0]}`);
        }
      }
      log(
        `${phase} shard ${shard.index}: failed ${attempts} times, recorded in ${runDir.relativePath(runDir.failurePath(phase, shard.index))}; the other shards go on, rerun the same command to retry it`,
      );
      return false;
    } finally {
      stopKeepAlive();
      await claim.release().catch(() => undefined);
    }
  }
}

/**
 * Runs one shard task on the pool with a message channel the worker reports finished images on
 * (docs/ARCHITECTURE.md, "How a run flows" step 3). The channel closes with the task, so late
 * messages of a failed attempt cannot count towards its retry.
 */
async function runOnWorker(pool: Piscina, task: ShardTask, onImages: (m: ImageProgressMessage) => void): Promise<ShardResult> {
  const channel = new MessageChannel();
  channel.port1.on('message', onImages);
  try {
    return (await pool.run({ ...task, progress: channel.port2 }, { transferList: [channel.port2] })) as ShardResult;
  } finally {
    channel.port1.close();
  }
}

/** Why some worker threads get no work: one shard runs on one thread. */
function idleThreadsNote(phase: Phase, shards: number, workers: number): string {
  const remedy = phase === 'stats' ? `the stats pass reads fixed blocks of ${STATS_BLOCK} images` : 'a smaller shardSize spreads the work';
  return `${phase}: ${shards} shard(s) left for ${workers} worker threads, so ${workers - shards} thread(s) stay idle (one shard runs on one thread; ${remedy})`;
}

/** The line printed when Ctrl-C or SIGTERM stops a run (after the display is put away). */
async function interruptedMessage(runDir: RunDir, shardCount: number, progress: Progress | undefined): Promise<string> {
  progress?.stop();
  const done = (await runDir.finished('main')).length;
  return `interrupted: ${done} of ${shardCount} shards done; rerun the same command to resume`;
}

/**
 * Temp files of a shard's tables left by a process killed mid-write. Only the holder of the
 * shard's claim writes its tables, so after winning the claim every temp file of them is stale.
 */
async function removeTempFiles(runDir: RunDir, phase: Phase, shard: number): Promise<void> {
  for (const table of PHASE_TABLES[phase]) {
    const path = runDir.tablePath(table, shard);
    const folder = dirname(path);
    const prefix = `.${basename(path)}${TEMP_MARKER}`;
    let names: string[];
    try {
      names = await readdir(folder);
    } catch {
      continue;
    }
    await Promise.all(names.filter((n) => n.startsWith(prefix)).map((n) => rm(join(folder, n), { force: true })));
  }
}

/** Averages every finished stats shard into RUN_DIR/stats/mean.npy; undefined while some are missing. */
async function writeMeanImage(runDir: RunDir, shardCount: number): Promise<string | undefined> {
  const records = await runDir.finished('stats', shardCount);
  if (records.length < shardCount) return undefined;
  const rows = [];
  // Summed in block order (finished() lists shards in order), so the mean does not depend on
  // which node finished first.
  for (const r of records) {
    const f = r.files.find((x) => x.table === 'stats')!;
    rows.push(...(await readTableRows(runDir.resolvePath(f.path), f.sha256)));
  }
  const mean = meanImage(rows);
  const size = runDir.config.model.size;
  const path = join(runDir.dir, 'stats', 'mean.npy');
  await mkdir(join(runDir.dir, 'stats'), { recursive: true });
  await writeNpy(path, mean, [size, size, mean.length / size ** 2]);
  return path;
}
