/**
 * The run directory's file format, defined once: the names of its files and folders, the zod
 * schemas of every JSON record in it (plan, run identity, shard manifests, leases, failures), and
 * one reader and one writer per record. `sglrp run` (pipeline/run-dir.ts, pipeline/claims.ts),
 * `sglrp status` and `sglrp report` (stages/report) all read and write through this module, so a
 * record a writer produces is exactly what every reader accepts (docs/PROTOCOL.md §9).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { isTempName, readIfExists, writeFileAtomic } from './atomic-file.js';
import { TABLE_NAMES, type TableName } from './schemas.js';

/** Folder and file names inside RUN_DIR. */
export const RUN_FILES = {
  config: 'config.yaml',
  hash: 'config.hash',
  /** What the results depend on besides the config: sha256 of the model's and annotations' files. */
  identity: 'identity.json',
  plan: 'plan.json',
  tables: 'tables',
  manifest: 'manifest',
  /** Manifests that failed a check, kept for inspection; their shards are recomputed. */
  rejected: join('manifest', 'rejected'),
  claims: 'claims',
  /** The last error of a shard whose attempt failed; removed when the shard is done. */
  failures: 'failures',
  stats: 'stats',
  report: 'report',
} as const;

/** Entries a run directory may hold; a non-empty folder with anything else is not one. */
export const KNOWN_ENTRIES: ReadonlySet<string> = new Set([
  RUN_FILES.config,
  RUN_FILES.hash,
  RUN_FILES.identity,
  RUN_FILES.plan,
  RUN_FILES.tables,
  RUN_FILES.manifest,
  RUN_FILES.claims,
  RUN_FILES.failures,
  RUN_FILES.stats,
  'examples',
  'maps',
  RUN_FILES.report,
  'logs',
]);

/** Phases of a run: the mean-image pre-pass and the main measurements. */
export const PHASES = ['stats', 'main'] as const;
export type Phase = (typeof PHASES)[number];

/** `00042`: shard numbers in file names are zero-padded to 5 digits (50,000 images at 1 per shard fit). */
export function shardTag(shard: number): string {
  return String(shard).padStart(5, '0');
}

export function checkPhase(phase: string): void {
  // '-' separates phase and shard in file names, so phases may not contain one.
  if (!/^[a-z][a-z0-9_]*$/.test(phase)) throw new RangeError(`phase "${phase}" must be lowercase letters, digits and _ (e.g. main, stats)`);
}

export function checkShard(shard: number): void {
  if (!Number.isSafeInteger(shard) || shard < 0) throw new RangeError(`shard must be a non-negative integer, got ${shard}`);
}

/** `main-00042`: the stem of a shard's manifest, lease and failure file names. */
export function shardStem(phase: string, shard: number): string {
  checkPhase(phase);
  checkShard(shard);
  return `${phase}-${shardTag(shard)}`;
}

const STEM = /^([a-z][a-z0-9_]*)-(\d+)$/;

/** The phase and shard a file stem names (`main-00042` → main, 42), or undefined. */
export function parseShardStem(stem: string): { phase: string; shard: number } | undefined {
  const m = STEM.exec(stem);
  return m ? { phase: m[1]!, shard: Number(m[2]) } : undefined;
}

const sha256 = () => z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 (64 lowercase hex digits)');

// ---------------------------------------------------------------------------------------------
// Plan

/** RUN_DIR/plan.json, written by the runner once it knows the dataset size. */
export const planSchema = z.strictObject({
  /** Images in the dataset (before --limit). */
  datasetSize: z.int().min(0),
  /** --limit (a positive integer), or null for the whole dataset. */
  limit: z.int().min(1).nullable(),
  shardSize: z.int().min(1),
  /** ceil(min(datasetSize, limit) / shardSize). */
  shardCount: z.int().min(0),
});
export type RunPlan = z.infer<typeof planSchema>;

/** Images a plan covers: the dataset, cut to --limit. */
export function planImages(plan: Pick<RunPlan, 'datasetSize' | 'limit'>): number {
  return plan.limit === null ? plan.datasetSize : Math.min(plan.datasetSize, plan.limit);
}

// ---------------------------------------------------------------------------------------------
// Run identity

/** One input file whose bytes the results depend on. */
export const contentFileSchema = z.strictObject({ path: z.string().min(1), bytes: z.int().min(0), sha256: sha256() });
export type ContentFile = z.infer<typeof contentFileSchema>;

/**
 * RUN_DIR/identity.json: everything a shard's numbers depend on. The config hash covers the
 * config's result fields (paths included); the content digests cover what lies at those paths,
 * so a model retrained or an annotation file edited in place is a different run.
 */
export const identitySchema = z.strictObject({
  configHash: sha256(),
  /** sha256 over the model's files (model.json and every weight file, or the single model file). */
  model: sha256(),
  /** sha256 over the annotation / synset / class files; null when the dataset has none. */
  annotations: sha256().nullable(),
  /** The files behind the digests, so a mismatch can name the file that changed. */
  files: z.strictObject({ model: z.array(contentFileSchema), annotations: z.array(contentFileSchema) }),
});
export type RunIdentity = z.infer<typeof identitySchema>;

/** The part of the identity every manifest carries: a shard made under another identity is refused. */
export const shardIdentitySchema = z.strictObject({ configHash: sha256(), model: sha256(), annotations: sha256().nullable() });
export type ShardIdentity = z.infer<typeof shardIdentitySchema>;

export function shardIdentityOf(identity: RunIdentity): ShardIdentity {
  return { configHash: identity.configHash, model: identity.model, annotations: identity.annotations };
}

/** Names of the parts in which two identities differ ("configHash", "model", "annotations"). */
export function identityDiff(a: ShardIdentity, b: ShardIdentity): (keyof ShardIdentity)[] {
  return (['configHash', 'model', 'annotations'] as const).filter((k) => a[k] !== b[k]);
}

// ---------------------------------------------------------------------------------------------
// Manifests

export const manifestFileSchema = z.strictObject({
  table: z.enum(TABLE_NAMES),
  /** Relative to RUN_DIR, with '/' separators (the same on every node). */
  path: z.string().min(1),
  rows: z.int().min(0),
  sha256: sha256(),
  /** File size; lets a cheap check catch a truncated file without hashing it. */
  bytes: z.int().min(0),
});
export type ManifestFile = z.infer<typeof manifestFileSchema> & { table: TableName };

/** RUN_DIR/manifest/<phase>-<00000>.json: one finished shard. */
export const manifestSchema = z.strictObject({
  phase: z.string(),
  shard: z.int().min(0),
  /** The run identity the shard was computed under (docs/PROTOCOL.md §9). */
  identity: shardIdentitySchema,
  files: z.array(manifestFileSchema),
  /** Dataset images the shard covered (its range length), read errors included. */
  imageCount: z.int().min(0),
  backend: z.string(),
  /** What `backend` alone does not say (webgpu: its adapter, e.g. "webgpu on mesa llvmpipe … (software adapter: …)"). */
  backendDetail: z.string().optional(),
  seconds: z.number().min(0),
  /** ISO 8601. */
  finishedAt: z.string(),
  host: z.string(),
});
export type ManifestRecord = z.infer<typeof manifestSchema>;

// ---------------------------------------------------------------------------------------------
// Leases and failures

/**
 * RUN_DIR/claims/<phase>-<00000>.lock: who computes the shard and until when. The holder is
 * identified by a random per-process token plus host, boot id, PID namespace, pid and process
 * start time: host+pid alone collide across containers and PID namespaces (every container's
 * first process is pid 1), and pids are reused after a reboot.
 */
export const leaseSchema = z.object({
  /** Who is working (e.g. `host:pid`); shown by `status`. */
  owner: z.string(),
  host: z.string(),
  pid: z.number(),
  /** Random id of this lease; tells "my lease" from a later one with the same owner name. */
  token: z.string(),
  /** Random id of the holding process (the same for all its leases). */
  processToken: z.string().optional(),
  /** /proc/sys/kernel/random/boot_id of the holder's machine ('' where unknown). */
  bootId: z.string().optional(),
  /** The holder's PID namespace (`pid:[4026531836]`; '' where unknown). */
  pidNamespace: z.string().optional(),
  /** The holder's start time (clock ticks after boot, from /proc/<pid>/stat; '' where unknown). */
  startTime: z.string().optional(),
  phase: z.string(),
  shard: z.number(),
  acquiredAt: z.number(),
  /** Epoch milliseconds after which (plus the grace period) others may take the shard over. */
  expiresAt: z.number(),
});
export type LeaseInfo = z.infer<typeof leaseSchema>;

/** RUN_DIR/failures/<phase>-<00000>.json: the last error of a shard whose attempt failed. */
export const failureSchema = z.object({
  phase: z.string(),
  shard: z.number(),
  host: z.string(),
  pid: z.number(),
  /** The error with its stack. */
  message: z.string(),
  at: z.string(),
  /** How many attempts failed so far. */
  attempts: z.number(),
});
export type ShardFailure = z.infer<typeof failureSchema>;

// ---------------------------------------------------------------------------------------------
// One reader and one writer

/**
 * A record of the run directory that must be whole is not (plan.json, identity.json): the same
 * command would fail the same way, so the CLI exits 2 with the file and what to do.
 */
export class RunFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunFormatError';
  }
}

function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ');
}

/** Parse a record's bytes; a string says what is wrong with them. */
export function parseRecord<T>(bytes: Buffer | string, schema: z.ZodType<T>, what: string): T | string {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString());
  } catch (err) {
    return `${what} is not valid JSON (${(err as Error).message})`;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : `${what} has a bad field (${issues(parsed.error)})`;
}

/** A record file, or undefined when absent; throws naming the file when it is not a valid record. */
export async function readRecord<T>(path: string, schema: z.ZodType<T>, what: string, fix: string): Promise<T | undefined> {
  const bytes = await readIfExists(path);
  if (bytes === undefined) return undefined;
  const parsed = parseRecord(bytes, schema, what);
  if (typeof parsed === 'string') throw new RunFormatError(`${path}: ${parsed}; ${fix}`);
  return parsed;
}

/** The bytes a record is written as (validated first: a writer never produces what readers refuse). */
export function formatRecord<T>(value: T, schema: z.ZodType<T>, what: string): string {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`refusing to write an invalid ${what}: ${issues(parsed.error)}`);
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Validate and write a record atomically. */
export async function writeRecord<T>(path: string, value: T, schema: z.ZodType<T>, what: string): Promise<void> {
  await writeFileAtomic(path, formatRecord(value, schema, what));
}

export function readPlan(runDir: string): Promise<RunPlan | undefined> {
  return readRecord(join(runDir, RUN_FILES.plan), planSchema, 'plan', 'delete it and run again to re-plan');
}

export function readIdentity(runDir: string): Promise<RunIdentity | undefined> {
  return readRecord(join(runDir, RUN_FILES.identity), identitySchema, 'run identity', 'restore it, or start a new run directory');
}

/** Sorted entries of a folder; none when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}

/** A manifest file as read: its record, or why it is not one. */
export type ManifestRead = { name: string; path: string; record: ManifestRecord } | { name: string; path: string; problem: string };

/**
 * Every manifest file of a run (optionally of one phase), in name order: parsed with the one
 * schema, and checked to name the phase and shard its file name says. Nothing is moved or
 * deleted: the caller decides what a bad record means.
 */
export async function readManifests(runDir: string, phase?: string): Promise<ManifestRead[]> {
  const dir = join(runDir, RUN_FILES.manifest);
  const out: ManifestRead[] = [];
  for (const name of await listDir(dir)) {
    if (isTempName(name) || !name.endsWith('.json')) continue;
    const stem = parseShardStem(name.slice(0, -'.json'.length));
    if (!stem || (phase !== undefined && stem.phase !== phase)) continue;
    const path = join(dir, name);
    const bytes = await readIfExists(path);
    if (bytes === undefined) continue; // rejected by another node meanwhile
    const record = parseRecord(bytes, manifestSchema, 'manifest');
    if (typeof record === 'string') out.push({ name, path, problem: record });
    else if (record.phase !== stem.phase || record.shard !== stem.shard)
      out.push({ name, path, problem: `manifest is for ${record.phase} shard ${record.shard}, not ${stem.phase} shard ${stem.shard}` });
    else out.push({ name, path, record });
  }
  return out;
}

/** Why `dir` cannot be read as a run directory, or undefined when it can (it holds config.yaml). */
export async function notARunDir(dir: string): Promise<string | undefined> {
  let st;
  try {
    st = await fs.stat(dir);
  } catch {
    return `${dir} does not exist`;
  }
  if (!st.isDirectory()) return `${dir} is a file, not a run directory (give the folder that \`sglrp run --out\` wrote)`;
  if ((await readIfExists(join(dir, RUN_FILES.config))) === undefined) {
    return `${dir} is not an sglrp run directory (it has no ${RUN_FILES.config}); give the folder that \`sglrp run --out\` wrote`;
  }
  return undefined;
}
