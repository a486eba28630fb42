import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { TEMP_MARKER, type AtomicWriteHooks } from '../results/atomic-file.js';
import { Piscina } from 'piscina';
import { datasetFromConfig } from '../data/factory.js';
import { formatDatasetIssues } from '../data/issues.js';
import { writeNpy } from '../io/npy.js';
import { readTableRows, writeTableAtomic } from '../results/table-io.js';
import { TABLES, type TableName } from '../results/schemas.js';
import { meanImage } from '../stages/stats.js';
import type { ShardResult, ShardTask } from '../workers/shard-worker.js';
import { ConfigError, type ModelConfig, type RunConfig } from './config.js';
import { onInterrupt } from './interrupt.js';
import { startProgress, type Progress } from './progress.js';
import { failedImageCount, type ImageProgressMessage } from './progress-model.js';
import { makePlan, planImages, RunDir, type Phase } from './run-dir.js';
import { nodePart, phaseShards, STATS_BLOCK, workOrder, type Shard } from './shards.js';
import { testHook } from './test-hooks.js';

/**
 * Tables each phase writes for every shard (even when empty, so the manifest is complete). Table
 * files are named by table and shard only, so two phases must never write the same table: the
 * stats pre-pass writes no errors table (an unreadable image is read again, and recorded, by the
 * main phase; stats blocks and main shards share shard numbers).
 */
export const PHASE_TABLES: Record<Phase, TableName[]> = {
  stats: ['stats'],
  main: ['forward', 'relevance', 'masking', 'pointing', 'pointing_game', 'errors'],
};

/** Exit codes a scheduler can act on. */
export const EXIT = { ok: 0, failure: 1, usage: 2, incomplete: 3 } as const;

export interface RunOptions {
  config: RunConfig;
  outDir: string;
  /** This node's part (from --shard-index/--shard-count or the scheduler's variables). */
  node: { index: number; count: number };
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

/**
 * Check, before any worker starts, that model.json and every weight file it lists exist: a missing
 * file is a setup error of the whole run, not of one shard (which would be retried per shard).
 */
export async function checkModelFiles(modelPath: string): Promise<void> {
  const problem = (message: string) => new ConfigError(modelPath, [{ path: 'model.path', message }]);
  let json: { weightsManifest?: { paths?: unknown }[] };
  try {
    json = JSON.parse(await readFile(modelPath, 'utf8')) as typeof json;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw problem(code === 'ENOENT' ? `${modelPath} does not exist` : `${modelPath} is not a readable model.json (${(err as Error).message})`);
  }
  if (!Array.isArray(json.weightsManifest)) throw problem(`${modelPath} has no weightsManifest: not a TF.js LayersModel (Keras .h5 / .keras files are read directly: give their path)`);
  const missing: string[] = [];
  for (const group of json.weightsManifest) {
    for (const p of Array.isArray(group?.paths) ? (group.paths as unknown[]) : []) {
      const file = resolve(dirname(modelPath), String(p));
      try {
        if (!(await stat(file)).isFile()) missing.push(String(p));
      } catch {
        missing.push(String(p));
      }
    }
  }
  if (missing.length > 0) throw problem(`weight file(s) ${missing.join(', ')} listed in ${modelPath} are missing; copy every weight file next to model.json`);
}

/**
 * The same check for any model source: a TF.js model.json and its weight files, or the one file
 * of another format (Keras .h5 / .keras) or of `arch` + `weights`.
 */
export async function checkModelSourceFiles(model: ModelConfig): Promise<void> {
  if (model.path !== undefined && model.path.toLowerCase().endsWith('.json')) return checkModelFiles(model.path);
  const [field, file] = model.path !== undefined ? ['model.path', model.path] : ['model.weights', model.weights!];
  let isFile = false;
  try {
    isFile = (await stat(file)).isFile();
  } catch {
    isFile = false;
  }
  if (!isFile) throw new ConfigError(file, [{ path: field, message: `${file} does not exist or is not a file` }]);
}

/** Worker threads: what the backend makes fastest. wasm and cpu run one thread per instance. */
export function defaultWorkers(config: RunConfig): number {
  if (config.workers !== 'auto') return config.workers;
  if (config.backend === 'webgpu' || config.backend === 'tensorflow') return 1; // one device, one context
  return Math.max(1, Math.min(availableParallelism(), 8));
}

export async function runBenchmark(opts: RunOptions): Promise<RunOutcome> {
  const { config, log } = opts;
  await checkModelSourceFiles(config.model);
  const runDir = await RunDir.open(opts.outDir, config);
  const dataset = datasetFromConfig(config);
  const size = dataset.size();
  // Problems with the dataset's files as a whole (bad annotation lines, a foreign class order).
  for (const line of formatDatasetIssues(dataset)) log(line);
  const plan = await runDir.writePlan(makePlan(size, opts.limit, config.shardSize));
  const total = planImages(plan);
  const statsShards = phaseShards('stats', total, config.shardSize);
  const mine = nodePart(phaseShards('main', total, config.shardSize), opts.node.index, opts.node.count);
  const workers = defaultWorkers(config);
  log(`run ${config.name}: ${total} images in ${plan.shardCount} shards of ${config.shardSize}; node ${opts.node.index + 1}/${opts.node.count}; ${workers} worker thread(s); output ${runDir.dir}`);

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
      // Shards other nodes hold are waited for; a dead node's lease expires and is taken over.
      for (;;) {
        failed += await runPhase('stats', workOrder(statsShards, opts.node.index, opts.node.count), undefined);
        meanPath = await writeMeanImage(runDir, statsShards.length);
        if (meanPath || failed > 0 || stop) break;
        log('stats: waiting for stats shards held by other nodes');
        await new Promise((r) => setTimeout(r, 5000));
      }
      if (stop) throw stop;
      if (!meanPath) {
        log('stats: some stats shards failed; the main phase needs the mean image, stopping (rerun to retry them)');
        return { exitCode: EXIT.incomplete, runDir: runDir.dir, complete: false, failedShards: failed };
      }
    }
    failed += await runPhase('main', mine, meanPath);
  } finally {
    stopOnSignal();
    await pool.destroy();
  }
  if (stop) throw stop;
  const done = (await runDir.finished('main')).length;
  const complete = done === plan.shardCount;
  log(`main: ${done}/${plan.shardCount} shards done${failed ? `, ${failed} failed this run` : ''}`);
  return { exitCode: failed > 0 ? EXIT.incomplete : EXIT.ok, runDir: runDir.dir, complete, failedShards: failed };

  async function runPhase(phase: Phase, list: Shard[], mean: string | undefined): Promise<number> {
    const todo: Shard[] = [];
    for (const s of list) if (!(await runDir.isDone(phase, s.index, { verify: true }))) todo.push(s);
    if (todo.length === 0) return 0;
    const lanes = Math.min(workers, todo.length);
    if (lanes < workers) log(idleThreadsNote(phase, todo.length, workers));
    const shown = startProgress(phase, todo.reduce((n, s) => n + s.end - s.start, 0), { tty: opts.tty, log, verbose: opts.verbose, workers: lanes, ...(opts.progressIntervalMs !== undefined ? { intervalMs: opts.progressIntervalMs } : {}) });
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

  /** Claims, computes, writes and records one shard; null when another process holds it. */
  async function runShard(phase: Phase, shard: Shard, mean: string | undefined): Promise<boolean | null> {
    const claim = await runDir.claim(phase, shard.index);
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
          const task: ShardTask = { phase, shard, config, runDir: runDir.dir, meanPath: mean, batchSize: config.batchSize === 'auto' ? 0 : config.batchSize };
          const result = await runOnWorker(pool, task, (m) => progress?.images(m));
          const files = [];
          for (const table of PHASE_TABLES[phase]) {
            // (test hook: pauses while the second table's temp file is complete, before its rename)
            const hooks: AtomicWriteHooks | undefined = files.length === 1 ? { beforeCommit: () => testHook('write-table', phase, shard.index) } : undefined;
            files.push({ table, ...(await writeTableAtomic(runDir.tablePath(table, shard.index), TABLES[table], result.rows[table] ?? [], hooks)) });
          }
          await testHook('manifest', phase, shard.index);
          await runDir.markDone(phase, shard.index, { files, imageCount: result.imageCount, backend: result.backend, ...(result.backendDetail ? { backendDetail: result.backendDetail } : {}), seconds: result.seconds }, claim);
          progress?.shardFinished(shard.index, { finished: result.imageCount, failed: failedImageCount(result.rows.errors) });
          return true;
        } catch (err) {
          if (isDiskFull(err)) {
            // Retrying cannot help and other shards would fail the same way: stop the run.
            await runDir.recordFailure(phase, shard.index, err).catch(() => undefined);
            stop ??= new DiskFullError(phase, shard.index, err, (await runDir.finished('stats')).length + (await runDir.finished('main')).length);
            log(`${phase} shard ${shard.index}: ${err.message.split('\n')[0]}; stopping the run`);
            return false;
          }
          await runDir.recordFailure(phase, shard.index, err);
          progress?.shardRetry(shard.index);
          log(`${phase} shard ${shard.index}: attempt ${attempt}/${attempts} failed: ${(err as Error).message?.split('\n')[0]}`);
        }
      }
      log(`${phase} shard ${shard.index}: failed ${attempts} times, recorded in ${runDir.relativePath(runDir.failurePath(phase, shard.index))}; the other shards go on, rerun the same command to retry it`);
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
  const records = await runDir.finished('stats');
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
