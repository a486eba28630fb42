/**
 * The run directory, shared by every process and machine of a run (see docs/ARCHITECTURE.md):
 * the resolved config and its hash, the plan, one manifest file per finished shard, and leases
 * (claims) on shards in progress. Every file is written atomically (temp + rename, or an
 * exclusive create), so a reader on any node sees whole files only, and a crash at any moment
 * leaves a directory that the next run resumes from.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import YAML from 'yaml';
import { createFileExclusive, isTempName, readIfExists, restoreIfAbsent, writeFileAtomic } from '../results/atomic-file.js';
import { sha256File } from '../results/checksum.js';
import type { TableName } from '../results/schemas.js';
import {
  checkPhase,
  checkShard,
  failureSchema,
  formatRecord,
  identityDiff,
  identitySchema,
  KNOWN_ENTRIES,
  manifestSchema,
  parseRecord,
  planImages,
  planSchema,
  readIdentity,
  readManifests,
  readPlan,
  RUN_FILES,
  RunFormatError,
  shardIdentityOf,
  shardStem as stem,
  shardTag,
  writeRecord,
  type ManifestRecord,
  type Phase,
  type RunIdentity,
  type RunPlan,
  type ShardFailure,
  type ShardIdentity,
} from '../results/run-format.js';
import { configHash, describeDiff, diffConfigs, parseConfig, stringifyConfig, type RunConfig } from './config.js';
import { shardCount } from './shards.js';
import { type ShardLease, LeaseStore, defaultClock, type LeaseClock, type LeaseOptions, type LiveLock } from './claims.js';
import { describeIdentityChange, RunIdentityError, runIdentity } from './run-identity.js';
import { UsageError } from './usage-error.js';

export {
  PHASES,
  RUN_FILES,
  planImages,
  shardTag,
  type ManifestFile,
  type ManifestRecord,
  type Phase,
  type RunPlan,
  type ShardFailure,
} from '../results/run-format.js';

/** The phases a config needs: the stats pre-pass only feeds the dataset/channel-mean fill. */
export function phasesFor(config: RunConfig): Phase[] {
  return config.masking.fill === 'zero' ? ['main'] : ['stats', 'main'];
}

/**
 * Leases are short and renewed while work goes on (every third of the lease), so a shard whose
 * node died is taken over within about a minute by any node that waits for it. SGLRP_LEASE_MS
 * sets another length (tests use a few seconds).
 */
export const DEFAULT_LEASE_MS = 60_000;

/** The lease length this process uses: SGLRP_LEASE_MS when set (a positive integer), else the default. */
export function leaseMsFromEnv(env: Record<string, string | undefined> = process.env): number {
  const raw = env['SGLRP_LEASE_MS'];
  if (raw === undefined || raw.trim() === '') return DEFAULT_LEASE_MS;
  const ms = Number(raw);
  if (!Number.isSafeInteger(ms) || ms < 100)
    throw new UsageError(`SGLRP_LEASE_MS=${JSON.stringify(raw)}: expected a lease length in milliseconds (an integer >= 100)`);
  return ms;
}

/** Clock skew allowed between machines, but never more than a quarter of a (short) lease. */
export function staleGraceFor(leaseMs: number): number {
  return Math.min(10_000, Math.floor(leaseMs / 4));
}

// ---------------------------------------------------------------------------------------------
// Manifest records

/** What the runner passes to markDone; `path` may be absolute (inside RUN_DIR) or relative. */
export interface DoneInput {
  files: { table: TableName; path: string; rows: number; sha256: string; bytes?: number }[];
  imageCount: number;
  backend: string;
  backendDetail?: string;
  seconds: number;
}

export type DoneCheck = { done: true; record: ManifestRecord } | { done: false; reason: string };

// ---------------------------------------------------------------------------------------------
// Plan

/** Build a consistent plan (the runner's one way to make one). */
export function makePlan(datasetSize: number, limit: number | null, shardSize: number): RunPlan {
  return { datasetSize, limit, shardSize, shardCount: shardCount(planImages({ datasetSize, limit }), shardSize) };
}

// ---------------------------------------------------------------------------------------------
// Errors

export class ConfigMismatchError extends Error {
  constructor(
    readonly dir: string,
    readonly fields: string[],
    detail: string[],
  ) {
    super(
      `${dir} was created by a run with a different config. ` +
        (fields.length > 0
          ? `Fields that change results differ (run directory → your config):\n${detail.map((d) => `  ${d}`).join('\n')}\n`
          : `No field differs, but ${RUN_FILES.hash} does: the directory was made by another version of sglrp.\n`) +
        `Nothing was changed. Resume it with its own config (${join(dir, RUN_FILES.config)}), or pick a new output directory.`,
    );
    this.name = 'ConfigMismatchError';
  }
}

export class PlanMismatchError extends Error {
  constructor(
    readonly path: string,
    readonly fields: string[],
    stored: RunPlan,
    given: RunPlan,
  ) {
    super(
      `${path}: this run directory was planned as ${JSON.stringify(stored)}, this process computed ${JSON.stringify(given)} (differs in ${fields.join(', ')}). ` +
        'Every node must see the same dataset and use the same --limit; to change --limit, start a new output directory.',
    );
    this.name = 'PlanMismatchError';
  }
}

export interface RunDirOptions {
  /** Clock (tests); default Date.now. */
  now?: () => number;
  /** Host name recorded in manifests and locks; default os.hostname(). */
  host?: string;
  /** See LeaseClock. */
  staleGraceMs?: number;
  takeoverTimeoutMs?: number;
  /** The run's identity (RunDir.open computes it from the config's files when absent). */
  identity?: RunIdentity;
}

// ---------------------------------------------------------------------------------------------

export class RunDir {
  readonly claims: LeaseStore;
  /** Leases this object handed out, so markDone can release them. */
  readonly #held = new Map<string, ShardLease>();

  private constructor(
    /** Absolute path of RUN_DIR. */
    readonly dir: string,
    /** This process's config (equal to the stored one in every result field). */
    readonly config: RunConfig,
    readonly hash: string,
    private readonly clock: LeaseClock,
    /** What every shard of this run is computed under; null when opened only to read (status). */
    readonly identity: ShardIdentity | null,
  ) {
    this.claims = new LeaseStore(join(dir, RUN_FILES.claims), clock);
  }

  /**
   * Open RUN_DIR for `config`, creating it (with config.yaml, config.hash and identity.json) if
   * needed. Refuses, changing nothing, when it belongs to a config that differs in a result field
   * (ConfigMismatchError names them), when the model's or annotations' files differ from the
   * ones it was made with or a finished shard was made under another identity (RunIdentityError
   * names them), or when the folder holds unrelated files.
   */
  static async open(dir: string, config: RunConfig, options: RunDirOptions = {}): Promise<RunDir> {
    const root = resolve(dir);
    const hash = configHash(config);
    const identity = options.identity ?? (await runIdentity(config));
    if (identity.configHash !== hash)
      throw new Error(
        `RunDir.open: the identity given was computed for another config (${identity.configHash.slice(0, 12)} ≠ ${hash.slice(0, 12)})`,
      );
    try {
      await fs.mkdir(root, { recursive: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTDIR')
        throw new RunIdentityError(`--out ${dir}: a file is in the way (${code}); the run directory must be a folder: choose another path`);
      throw err;
    }
    const configPath = join(root, RUN_FILES.config);
    const hashPath = join(root, RUN_FILES.hash);

    if ((await readIfExists(configPath)) === undefined) {
      const strangers = (await fs.readdir(root)).filter((n) => !KNOWN_ENTRIES.has(n) && !isTempName(n));
      if (strangers.length > 0) {
        throw new RunIdentityError(
          `${root} is not an sglrp run directory (no ${RUN_FILES.config}) and is not empty (${strangers.slice(0, 5).join(', ')}${strangers.length > 5 ? ', …' : ''}); choose a new or empty output directory`,
        );
      }
      // config.yaml lost but results left: they must have been made under this identity, or a
      // different config would be let in next to them.
      await RunDir.#checkRecordedIdentity(root, identity);
      // Exclusive create: of several nodes starting at once, one config wins and the others are
      // compared with it below.
      if (await createFileExclusive(configPath, stringifyConfig(config))) {
        await writeFileAtomic(hashPath, `${hash}\n`);
        await RunDir.#claimIdentity(root, identity);
        return RunDir.#ready(root, config, hash, options, shardIdentityOf(identity));
      }
    }

    const storedHash = (await readIfExists(hashPath))?.toString().trim();
    if (storedHash !== hash) {
      const stored = await readStoredConfig(configPath);
      const storedConfigHash = configHash(stored);
      if (storedConfigHash !== hash || (storedHash !== undefined && storedHash !== storedConfigHash)) {
        const fields = diffConfigs(stored, config, { resultsOnly: true });
        throw new ConfigMismatchError(root, fields, describeDiff(stored, config, fields));
      }
      // config.yaml matches but config.hash is missing (a crash right after creating the run).
      await writeFileAtomic(hashPath, `${hash}\n`);
    }
    await RunDir.#checkRecordedIdentity(root, identity);
    await RunDir.#claimIdentity(root, identity);
    return RunDir.#ready(root, config, hash, options, shardIdentityOf(identity));
  }

  /** Refuse when identity.json or any finished shard's manifest records another identity. */
  static async #checkRecordedIdentity(root: string, identity: RunIdentity): Promise<void> {
    const stored = await readIdentity(root);
    if (stored && identityDiff(stored, identity).length > 0) {
      throw new RunIdentityError(
        `${root} was made with other inputs: ${describeIdentityChange(stored, identity)} differ from what ${RUN_FILES.identity} records. ` +
          'Nothing was changed. Restore the original files to resume this run, or pick a new output directory for the new inputs.',
      );
    }
    const foreign: string[] = [];
    let what = '';
    for (const m of await readManifests(root)) {
      if (!('record' in m)) continue;
      const parts = identityDiff(m.record.identity, identity);
      if (parts.length === 0) continue;
      foreign.push(m.name);
      what ||= describeIdentityChange(m.record.identity, identity);
    }
    if (foreign.length > 0) {
      throw new RunIdentityError(
        `${root}: ${foreign.length} finished shard(s) (${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', …' : ''}) were computed with other inputs: ${what} differ. ` +
          'Nothing was changed. Resume with the inputs they were made with, or pick a new output directory.',
      );
    }
  }

  /** Write identity.json (first writer wins; #checkRecordedIdentity compared any existing one). */
  static async #claimIdentity(root: string, identity: RunIdentity): Promise<void> {
    await createFileExclusive(join(root, RUN_FILES.identity), formatRecord(identity, identitySchema, 'run identity'));
  }

  /** Open an existing run directory with its stored config (status, report, resume by folder). */
  static async openExisting(dir: string, options: RunDirOptions = {}): Promise<RunDir> {
    const root = resolve(dir);
    const config = await readStoredConfig(join(root, RUN_FILES.config));
    // No folders are created here: `status` only reads.
    const identity = await readIdentity(root);
    return RunDir.#ready(root, config, configHash(config), options, identity ? shardIdentityOf(identity) : null, false);
  }

  static async #ready(
    root: string,
    config: RunConfig,
    hash: string,
    options: RunDirOptions,
    identity: ShardIdentity | null,
    create = true,
  ): Promise<RunDir> {
    if (create)
      for (const sub of [RUN_FILES.tables, RUN_FILES.manifest, RUN_FILES.claims]) await fs.mkdir(join(root, sub), { recursive: true });
    const clock = defaultClock({
      ...(options.now && { now: options.now }),
      ...(options.host && { host: options.host }),
      ...(options.staleGraceMs !== undefined && { staleGraceMs: options.staleGraceMs }),
      ...(options.takeoverTimeoutMs !== undefined && { takeoverTimeoutMs: options.takeoverTimeoutMs }),
    });
    return new RunDir(root, config, hash, clock, identity);
  }

  // -- paths ------------------------------------------------------------------------------------

  /** Absolute path of one table's file for one shard: tables/<table>/shard-<00000>.arrow. */
  tablePath(table: TableName, shard: number): string {
    checkShard(shard);
    return join(this.dir, RUN_FILES.tables, table, `shard-${shardTag(shard)}.arrow`);
  }

  manifestPath(phase: string, shard: number): string {
    return join(this.dir, RUN_FILES.manifest, `${stem(phase, shard)}.json`);
  }

  claimPath(phase: string, shard: number): string {
    return this.claims.lockPath(stem(phase, shard));
  }

  failurePath(phase: string, shard: number): string {
    return join(this.dir, RUN_FILES.failures, `${stem(phase, shard)}.json`);
  }

  /** RUN_DIR-relative '/'-separated form of a path inside RUN_DIR (what manifests store). */
  relativePath(path: string): string {
    const rel = relative(this.dir, resolve(this.dir, path));
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new Error(`${path} is not inside the run directory ${this.dir}`);
    return rel.split(sep).join('/');
  }

  /** Absolute path of a manifest's relative path; refuses paths that leave RUN_DIR. */
  resolvePath(rel: string): string {
    const abs = resolve(this.dir, ...rel.split('/'));
    this.relativePath(abs);
    return abs;
  }

  // -- plan -------------------------------------------------------------------------------------

  /**
   * Record the plan. The first writer wins; later writers must agree (PlanMismatchError names
   * the fields otherwise), so nodes that see different datasets cannot share a run.
   */
  async writePlan(plan: RunPlan): Promise<RunPlan> {
    const path = join(this.dir, RUN_FILES.plan);
    const bytes = formatRecord(plan, planSchema, 'plan');
    const expected = makePlan(plan.datasetSize, plan.limit, plan.shardSize);
    if (expected.shardCount !== plan.shardCount)
      throw new Error(
        `writePlan: shardCount ${plan.shardCount} does not match datasetSize/limit/shardSize (expected ${expected.shardCount}); build plans with makePlan`,
      );
    if (plan.shardSize !== this.config.shardSize)
      throw new Error(`writePlan: shardSize ${plan.shardSize} differs from the config's shardSize ${this.config.shardSize}`);
    if (await createFileExclusive(path, bytes)) return plan;
    const stored = await this.readPlan();
    if (stored === undefined) throw new Error(`${path}: vanished while being compared; run again`);
    const fields = (Object.keys(plan) as (keyof RunPlan)[]).filter((k) => stored[k] !== plan[k]);
    if (fields.length > 0) throw new PlanMismatchError(path, fields, stored, plan);
    return stored;
  }

  /** The recorded plan, or undefined before the runner wrote one. */
  async readPlan(): Promise<RunPlan | undefined> {
    return readPlan(this.dir);
  }

  // -- claims -----------------------------------------------------------------------------------

  /**
   * Lease a shard for this process; null when another holds a live lease. Check isDone again
   * after winning (the shard may have finished in between), keep the lease alive with
   * `claim.keepAlive()` and stop working on the shard if it reports the lease lost.
   */
  async claim(phase: string, shard: number, options: Partial<LeaseOptions> = {}): Promise<ShardLease | null> {
    const owner = options.owner ?? `${this.clock.host}:${process.pid}`;
    const claim = await this.claims.claim(phase, shard, stem(phase, shard), { leaseMs: options.leaseMs ?? leaseMsFromEnv(), owner });
    if (claim) this.#held.set(stem(phase, shard), claim);
    return claim;
  }

  /** Leases currently live in a phase (shards being computed somewhere). */
  async running(phase: string): Promise<LiveLock[]> {
    checkPhase(phase);
    return this.claims.live(new RegExp(`^${phase}-\\d+\\.lock$`));
  }

  /** Every lease file of a phase with its state (live, expired, or stale: its holder here is gone). */
  async leases(phase: string): Promise<LiveLock[]> {
    checkPhase(phase);
    return this.claims.leases(new RegExp(`^${phase}-\\d+\\.lock$`));
  }

  // -- manifest ---------------------------------------------------------------------------------

  /** Is the shard finished? See checkDone; a bad record is moved aside so the shard is redone. */
  async isDone(phase: string, shard: number, options: { verify?: boolean } = {}): Promise<boolean> {
    return (await this.checkDone(phase, shard, options)).done;
  }

  /**
   * Check a shard's manifest: it parses, names this phase and shard, and every file it lists
   * exists with the recorded size (and, with `verify`, the recorded sha256). A record that fails
   * is moved to manifest/rejected/ with the reason, so the shard counts as not done.
   */
  async checkDone(phase: string, shard: number, options: { verify?: boolean } = {}): Promise<DoneCheck> {
    const path = this.manifestPath(phase, shard);
    const bytes = await readIfExists(path);
    if (bytes === undefined) return { done: false, reason: 'no manifest' };
    const problem = await this.#recordProblem(bytes, phase, shard, options.verify ?? false);
    if (typeof problem === 'string') {
      await this.#reject(path, bytes, problem);
      return { done: false, reason: problem };
    }
    return { done: true, record: problem };
  }

  async #recordProblem(bytes: Buffer, phase: string, shard: number, verify: boolean): Promise<string | ManifestRecord> {
    const record = parseRecord(bytes, manifestSchema, 'manifest');
    if (typeof record === 'string') return record;
    if (record.phase !== phase || record.shard !== shard) return `manifest is for ${record.phase} shard ${record.shard}`;
    // Made under another identity: never counted as done, and never silently redone either (that
    // would delete another run's finished work): refuse, as RunDir.open does.
    if (this.identity && identityDiff(record.identity, this.identity).length > 0) {
      throw new RunIdentityError(
        `${this.manifestPath(phase, shard)}: ${phase} shard ${shard} was computed with other inputs (${identityDiff(record.identity, this.identity).join(', ')} differ); nothing was changed. Resume with the inputs it was made with, or pick a new output directory.`,
      );
    }
    for (const file of record.files) {
      let abs: string;
      try {
        abs = this.resolvePath(file.path);
      } catch {
        return `file path ${file.path} leaves the run directory`;
      }
      let size: number;
      try {
        size = (await fs.stat(abs)).size;
      } catch {
        return `${file.path} is missing`;
      }
      if (size !== file.bytes) return `${file.path} has ${size} bytes, the manifest says ${file.bytes} (truncated or rewritten)`;
      if (verify && (await sha256File(abs)) !== file.sha256) return `${file.path} does not match its sha256 (altered)`;
    }
    return record;
  }

  /** Move a bad manifest to manifest/rejected/, unless it was replaced meanwhile. */
  async #reject(path: string, judged: Buffer, reason: string): Promise<void> {
    const rejectedDir = join(this.dir, RUN_FILES.rejected);
    await fs.mkdir(rejectedDir, { recursive: true });
    const name = `${path.slice(path.lastIndexOf(sep) + 1, -'.json'.length)}.${new Date(this.clock.now()).toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
    const target = join(rejectedDir, `${name}.json`);
    try {
      await fs.rename(path, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // another node rejected it first
      throw err;
    }
    // Between our read and the rename another node may have rejected it and written a new one.
    const moved = await fs.readFile(target);
    if (!moved.equals(judged)) {
      await restoreIfAbsent(target, path);
      return;
    }
    await writeFileAtomic(join(rejectedDir, `${name}.reason.txt`), `${reason}\n`);
  }

  /**
   * Record a finished shard: write its manifest atomically, clear any failure record, then
   * release the claim this RunDir handed out for it (or `claim`, when given).
   */
  async markDone(phase: string, shard: number, input: DoneInput, claim?: ShardLease): Promise<ManifestRecord> {
    const key = stem(phase, shard);
    if (!this.identity)
      throw new Error(
        `markDone(${phase}, ${shard}): this run directory was opened read-only (openExisting); open it with RunDir.open to record shards`,
      );
    const record: ManifestRecord = {
      phase,
      shard,
      identity: this.identity,
      files: input.files.map((f) => ({
        table: f.table,
        path: this.relativePath(f.path),
        rows: f.rows,
        sha256: f.sha256,
        bytes: f.bytes ?? -1,
      })),
      imageCount: input.imageCount,
      backend: input.backend,
      ...(input.backendDetail ? { backendDetail: input.backendDetail } : {}),
      seconds: input.seconds,
      finishedAt: new Date(this.clock.now()).toISOString(),
      host: this.clock.host,
    };
    // A manifest must never point at a file that is not there (or not yet complete).
    for (const file of record.files) {
      let size: number;
      try {
        size = (await fs.stat(this.resolvePath(file.path))).size;
      } catch {
        throw new Error(`markDone(${phase}, ${shard}): ${file.path} does not exist; write the tables before marking the shard done`);
      }
      if (file.bytes >= 0 && file.bytes !== size)
        throw new Error(`markDone(${phase}, ${shard}): ${file.path} has ${size} bytes, expected ${file.bytes}`);
      file.bytes = size;
    }
    await writeRecord(this.manifestPath(phase, shard), record, manifestSchema, `manifest of ${phase} shard ${shard}`);
    await fs.rm(this.failurePath(phase, shard), { force: true });
    const held = claim ?? this.#held.get(key);
    this.#held.delete(key);
    await held?.release();
    await this.claims.cleanMarkers(key);
    return record;
  }

  /**
   * Manifests of a phase (parsed, not verified), in shard order; unreadable ones are skipped.
   * With `shardCount`, only shards the plan has: a stray manifest outside it (copied in by hand,
   * or left from a plan with more shards) never counts towards completion.
   */
  async finished(phase: string, shardCount?: number): Promise<ManifestRecord[]> {
    checkPhase(phase);
    const records: ManifestRecord[] = [];
    for (const m of await readManifests(this.dir, phase)) {
      if ('record' in m && (shardCount === undefined || m.record.shard < shardCount)) records.push(m.record);
    }
    return records.sort((a, b) => a.shard - b.shard);
  }

  /** Manifest files of a phase whose shard the plan does not have (reported, never counted). */
  async outsidePlan(phase: string, shardCount: number): Promise<string[]> {
    return (await readManifests(this.dir, phase)).filter((m) => 'record' in m && m.record.shard >= shardCount).map((m) => m.name);
  }

  // -- failures ---------------------------------------------------------------------------------

  /** Note that an attempt at a shard failed (the shard stays not done and may be retried). */
  async recordFailure(phase: string, shard: number, error: unknown): Promise<ShardFailure> {
    const path = this.failurePath(phase, shard);
    const previous = await this.#readFailure(path);
    const failure: ShardFailure = {
      phase,
      shard,
      host: this.clock.host,
      pid: process.pid,
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      at: new Date(this.clock.now()).toISOString(),
      attempts: (previous?.attempts ?? 0) + 1,
    };
    await writeRecord(path, failure, failureSchema, 'failure record');
    return failure;
  }

  /** Failure records of a phase whose shard is not done (markDone removes them). */
  async failures(phase: string): Promise<ShardFailure[]> {
    checkPhase(phase);
    const dir = join(this.dir, RUN_FILES.failures);
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch {
      return [];
    }
    const pattern = new RegExp(`^${phase}-\\d+\\.json$`);
    const out: ShardFailure[] = [];
    for (const name of names.filter((n) => pattern.test(n))) {
      const failure = await this.#readFailure(join(dir, name));
      if (failure) out.push(failure);
    }
    return out.sort((a, b) => a.shard - b.shard);
  }

  async #readFailure(path: string): Promise<ShardFailure | undefined> {
    const bytes = await readIfExists(path);
    if (bytes === undefined) return undefined;
    const failure = parseRecord(bytes, failureSchema, 'failure record');
    return typeof failure === 'string' ? undefined : failure;
  }
}

/** The resolved config a run directory keeps (RUN_DIR/config.yaml), validated. */
export async function readStoredConfig(path: string): Promise<RunConfig> {
  const bytes = await readIfExists(path);
  if (bytes === undefined)
    throw new Error(
      `${path} is missing: this is not an sglrp run directory (or it was created by a run that crashed at once; delete the folder and start again)`,
    );
  let obj: unknown;
  try {
    obj = YAML.parse(bytes.toString());
  } catch (err) {
    throw new RunFormatError(
      `${path}: not valid YAML (${(err as Error).message}); it was edited by hand? restore it or start a new run directory`,
    );
  }
  return parseConfig(obj, path);
}
