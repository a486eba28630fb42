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
import { z } from 'zod';
import { createFileExclusive, isTempName, readIfExists, restoreIfAbsent, writeFileAtomic } from '../results/atomic-file.js';
import { sha256File } from '../results/checksum.js';
import { TABLE_NAMES, type TableName } from '../results/schemas.js';
import { configHash, describeDiff, diffConfigs, parseConfig, stringifyConfig, type RunConfig } from './config.js';
import { shardCount } from './shards.js';
import { Claim, ClaimStore, defaultClock, type ClaimClock, type ClaimOptions, type LiveLock } from './claims.js';

/** Phases of a run: the mean-image pre-pass and the main measurements. */
export const PHASES = ['stats', 'main'] as const;
export type Phase = (typeof PHASES)[number];

/** The phases a config needs: the stats pre-pass only feeds the dataset/channel-mean fill. */
export function phasesFor(config: RunConfig): Phase[] {
  return config.masking.fill === 'zero' ? ['main'] : ['stats', 'main'];
}

/** Folder and file names inside RUN_DIR. */
export const RUN_FILES = {
  config: 'config.yaml',
  hash: 'config.hash',
  plan: 'plan.json',
  tables: 'tables',
  manifest: 'manifest',
  /** Manifests that failed a check, kept for inspection; their shards are recomputed. */
  rejected: join('manifest', 'rejected'),
  claims: 'claims',
  /** The last error of a shard whose attempt failed; removed when the shard is done. */
  failures: 'failures',
} as const;

/** Entries a run directory may hold; a non-empty folder with anything else is not one. */
const KNOWN_ENTRIES = new Set(['config.yaml', 'config.hash', 'plan.json', 'tables', 'manifest', 'claims', 'failures', 'stats', 'examples', 'maps', 'report', 'logs']);

export const DEFAULT_LEASE_MS = 5 * 60_000;

/** `00042`: shard numbers in file names are zero-padded to 5 digits (50,000 images at 1 per shard fit). */
export function shardTag(shard: number): string {
  return String(shard).padStart(5, '0');
}

function checkPhase(phase: string): void {
  // '-' separates phase and shard in file names, so phases may not contain one.
  if (!/^[a-z][a-z0-9_]*$/.test(phase)) throw new RangeError(`phase "${phase}" must be lowercase letters, digits and _ (e.g. main, stats)`);
}

function checkShard(shard: number): void {
  if (!Number.isSafeInteger(shard) || shard < 0) throw new RangeError(`shard must be a non-negative integer, got ${shard}`);
}

function stem(phase: string, shard: number): string {
  checkPhase(phase);
  checkShard(shard);
  return `${phase}-${shardTag(shard)}`;
}

// ---------------------------------------------------------------------------------------------
// Manifest records

export interface ManifestFile {
  table: TableName;
  /** Relative to RUN_DIR, with '/' separators (the same on every node). */
  path: string;
  rows: number;
  sha256: string;
  /** File size; lets isDone catch a truncated file without hashing it. */
  bytes: number;
}

export interface ManifestRecord {
  phase: string;
  shard: number;
  files: ManifestFile[];
  /** Dataset images the shard covered (its range length), read errors included. */
  imageCount: number;
  backend: string;
  /** What `backend` alone does not say (webgpu: its adapter, e.g. "webgpu on mesa llvmpipe … (software adapter: …)"). */
  backendDetail?: string;
  seconds: number;
  /** ISO 8601. */
  finishedAt: string;
  host: string;
}

const manifestSchema = z.strictObject({
  phase: z.string(),
  shard: z.int().min(0),
  files: z.array(
    z.strictObject({
      table: z.enum(TABLE_NAMES),
      path: z.string().min(1),
      rows: z.int().min(0),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      bytes: z.int().min(0),
    }),
  ),
  imageCount: z.int().min(0),
  backend: z.string(),
  backendDetail: z.string().optional(),
  seconds: z.number().min(0),
  finishedAt: z.string(),
  host: z.string(),
});

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

/** RUN_DIR/plan.json, written by the runner once it knows the dataset size. */
export interface RunPlan {
  /** Images in the dataset (before --limit). */
  datasetSize: number;
  /** --limit, or null for the whole dataset. */
  limit: number | null;
  shardSize: number;
  /** ceil(min(datasetSize, limit) / shardSize). */
  shardCount: number;
}

const planSchema = z.strictObject({
  datasetSize: z.int().min(0),
  limit: z.int().min(0).nullable(),
  shardSize: z.int().min(1),
  shardCount: z.int().min(0),
});

/** Images a plan covers: the dataset, cut to --limit. */
export function planImages(plan: Pick<RunPlan, 'datasetSize' | 'limit'>): number {
  return plan.limit === null ? plan.datasetSize : Math.min(plan.datasetSize, plan.limit);
}

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
  /** See ClaimClock. */
  staleGraceMs?: number;
  takeoverTimeoutMs?: number;
}

// ---------------------------------------------------------------------------------------------

export class RunDir {
  readonly claims: ClaimStore;
  /** Claims this object handed out, so markDone can release them. */
  readonly #held = new Map<string, Claim>();

  private constructor(
    /** Absolute path of RUN_DIR. */
    readonly dir: string,
    /** This process's config (equal to the stored one in every result field). */
    readonly config: RunConfig,
    readonly hash: string,
    private readonly clock: ClaimClock,
  ) {
    this.claims = new ClaimStore(join(dir, RUN_FILES.claims), clock);
  }

  /**
   * Open RUN_DIR for `config`, creating it (with config.yaml and config.hash) if needed. Refuses,
   * changing nothing, when it belongs to a config that differs in a result field
   * (ConfigMismatchError names them), or when the folder holds unrelated files.
   */
  static async open(dir: string, config: RunConfig, options: RunDirOptions = {}): Promise<RunDir> {
    const root = resolve(dir);
    const hash = configHash(config);
    await fs.mkdir(root, { recursive: true });
    const configPath = join(root, RUN_FILES.config);
    const hashPath = join(root, RUN_FILES.hash);

    if ((await readIfExists(configPath)) === undefined) {
      const strangers = (await fs.readdir(root)).filter((n) => !KNOWN_ENTRIES.has(n) && !isTempName(n));
      if (strangers.length > 0) {
        throw new Error(`${root} is not an sglrp run directory (no ${RUN_FILES.config}) and is not empty (${strangers.slice(0, 5).join(', ')}${strangers.length > 5 ? ', …' : ''}); choose a new or empty output directory`);
      }
      // Exclusive create: of several nodes starting at once, one config wins and the others are
      // compared with it below.
      if (await createFileExclusive(configPath, stringifyConfig(config))) {
        await writeFileAtomic(hashPath, `${hash}\n`);
        return RunDir.#ready(root, config, hash, options);
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
    return RunDir.#ready(root, config, hash, options);
  }

  /** Open an existing run directory with its stored config (status, report, resume by folder). */
  static async openExisting(dir: string, options: RunDirOptions = {}): Promise<RunDir> {
    const root = resolve(dir);
    const config = await readStoredConfig(join(root, RUN_FILES.config));
    // No folders are created here: `status` only reads.
    return RunDir.#ready(root, config, configHash(config), options, false);
  }

  static async #ready(root: string, config: RunConfig, hash: string, options: RunDirOptions, create = true): Promise<RunDir> {
    if (create) for (const sub of [RUN_FILES.tables, RUN_FILES.manifest, RUN_FILES.claims]) await fs.mkdir(join(root, sub), { recursive: true });
    const clock = defaultClock({
      ...(options.now && { now: options.now }),
      ...(options.host && { host: options.host }),
      ...(options.staleGraceMs !== undefined && { staleGraceMs: options.staleGraceMs }),
      ...(options.takeoverTimeoutMs !== undefined && { takeoverTimeoutMs: options.takeoverTimeoutMs }),
    });
    return new RunDir(root, config, hash, clock);
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
    const parsed = planSchema.safeParse(plan);
    if (!parsed.success) throw new Error(`writePlan: invalid plan ${JSON.stringify(plan)}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const expected = makePlan(plan.datasetSize, plan.limit, plan.shardSize);
    if (expected.shardCount !== plan.shardCount) throw new Error(`writePlan: shardCount ${plan.shardCount} does not match datasetSize/limit/shardSize (expected ${expected.shardCount}); build plans with makePlan`);
    if (plan.shardSize !== this.config.shardSize) throw new Error(`writePlan: shardSize ${plan.shardSize} differs from the config's shardSize ${this.config.shardSize}`);
    if (await createFileExclusive(path, `${JSON.stringify(plan, null, 2)}\n`)) return plan;
    const stored = await this.readPlan();
    if (stored === undefined) throw new Error(`${path}: vanished while being compared; run again`);
    const fields = (Object.keys(plan) as (keyof RunPlan)[]).filter((k) => stored[k] !== plan[k]);
    if (fields.length > 0) throw new PlanMismatchError(path, fields, stored, plan);
    return stored;
  }

  /** The recorded plan, or undefined before the runner wrote one. */
  async readPlan(): Promise<RunPlan | undefined> {
    const path = join(this.dir, RUN_FILES.plan);
    const bytes = await readIfExists(path);
    if (bytes === undefined) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString());
    } catch (err) {
      throw new Error(`${path}: not valid JSON (${(err as Error).message}); delete it and run again to re-plan`);
    }
    const parsed = planSchema.safeParse(value);
    if (!parsed.success) throw new Error(`${path}: not a plan (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}); delete it and run again`);
    return parsed.data;
  }

  // -- claims -----------------------------------------------------------------------------------

  /**
   * Lease a shard for this process; null when another holds a live lease. Check isDone again
   * after winning (the shard may have finished in between), keep the lease alive with
   * `claim.keepAlive()` and stop working on the shard if it reports the lease lost.
   */
  async claim(phase: string, shard: number, options: Partial<ClaimOptions> = {}): Promise<Claim | null> {
    const owner = options.owner ?? `${this.clock.host}:${process.pid}`;
    const claim = await this.claims.claim(phase, shard, stem(phase, shard), { leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS, owner });
    if (claim) this.#held.set(stem(phase, shard), claim);
    return claim;
  }

  /** Leases currently live in a phase (shards being computed somewhere). */
  async running(phase: string): Promise<LiveLock[]> {
    checkPhase(phase);
    return this.claims.live(new RegExp(`^${phase}-\\d+\\.lock$`));
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
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString());
    } catch {
      return 'manifest is not valid JSON';
    }
    const parsed = manifestSchema.safeParse(value);
    if (!parsed.success) return `manifest has a bad field (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`;
    const record = parsed.data;
    if (record.phase !== phase || record.shard !== shard) return `manifest is for ${record.phase} shard ${record.shard}`;
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
  async markDone(phase: string, shard: number, input: DoneInput, claim?: Claim): Promise<ManifestRecord> {
    const key = stem(phase, shard);
    const record: ManifestRecord = {
      phase,
      shard,
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
      if (file.bytes >= 0 && file.bytes !== size) throw new Error(`markDone(${phase}, ${shard}): ${file.path} has ${size} bytes, expected ${file.bytes}`);
      file.bytes = size;
    }
    const parsed = manifestSchema.safeParse(record);
    if (!parsed.success) throw new Error(`markDone(${phase}, ${shard}): invalid record: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    await writeFileAtomic(this.manifestPath(phase, shard), `${JSON.stringify(record, null, 2)}\n`);
    await fs.rm(this.failurePath(phase, shard), { force: true });
    const held = claim ?? this.#held.get(key);
    this.#held.delete(key);
    await held?.release();
    await this.claims.cleanMarkers(key);
    return record;
  }

  /** Manifests of a phase (parsed, not verified), in shard order; unreadable ones are skipped. */
  async finished(phase: string): Promise<ManifestRecord[]> {
    checkPhase(phase);
    const dir = join(this.dir, RUN_FILES.manifest);
    const pattern = new RegExp(`^${phase}-(\\d+)\\.json$`);
    let names: string[];
    try {
      names = (await fs.readdir(dir)).filter((n) => pattern.test(n));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const records: ManifestRecord[] = [];
    for (const name of names) {
      const bytes = await readIfExists(join(dir, name));
      if (bytes === undefined) continue;
      try {
        const parsed = manifestSchema.safeParse(JSON.parse(bytes.toString()));
        if (parsed.success && parsed.data.phase === phase) records.push(parsed.data);
      } catch {
        // Left for checkDone to reject.
      }
    }
    return records.sort((a, b) => a.shard - b.shard);
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
    await writeFileAtomic(path, `${JSON.stringify(failure, null, 2)}\n`);
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
    try {
      return JSON.parse(bytes.toString()) as ShardFailure;
    } catch {
      return undefined;
    }
  }
}

export interface ShardFailure {
  phase: string;
  shard: number;
  host: string;
  pid: number;
  /** The error with its stack. */
  message: string;
  at: string;
  /** How many attempts failed so far. */
  attempts: number;
}

async function readStoredConfig(path: string): Promise<RunConfig> {
  const bytes = await readIfExists(path);
  if (bytes === undefined) throw new Error(`${path} is missing: this is not an sglrp run directory (or it was created by a run that crashed at once; delete the folder and start again)`);
  let obj: unknown;
  try {
    obj = YAML.parse(bytes.toString());
  } catch (err) {
    throw new Error(`${path}: not valid YAML (${(err as Error).message}); it was edited by hand? restore it or start a new run directory`);
  }
  return parseConfig(obj, path);
}
