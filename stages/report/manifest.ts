/**
 * Reads what a run directory says about itself: the manifest records of finished shards, the
 * shard plan and the config hash, and which table files no manifest vouches for. Only files a
 * manifest lists (with their sha256) may be merged: anything else can be a shard still being
 * written, or left over from a crashed or different run.
 *
 * Manifest record format read here (RUN_DIR/manifest/<phase>-<00000>.json):
 *   { "phase": "main", "shard": 3, "backend": "webgpu", "seconds": 41.2, "imageCount": 64,
 *     "backendDetail": "webgpu on nvidia …" (optional: what the backend name alone does not say),
 *     "files": [ { "table": "masking", "path": "tables/masking/shard-00003.arrow",
 *                  "rows": 640, "sha256": "…" }, … ] }
 * Tolerated variants: `files` as an object keyed by table name; `file` instead of `path`; an
 * absolute path (re-rooted at this RUN_DIR when it has a `tables/<table>/<file>` tail, so a
 * moved or remotely mounted run directory still reads); phase/shard taken from the file name
 * when absent.
 */
import { promises as fs } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { isTempName, readIfExists } from '../../results/atomic-file.js';
import { TABLE_NAMES, type TableName } from '../../results/schemas.js';
import type { Plan, Problem } from './types.js';

export interface ManifestFile {
  table: TableName;
  /** Absolute path on this machine. */
  path: string;
  rows: number | null;
  sha256: string;
}

export interface ShardRecord {
  phase: string;
  shard: number;
  backend: string | null;
  /** e.g. "webgpu on mesa llvmpipe … (software adapter: CPU emulation, not a GPU)"; null when absent. */
  backendDetail: string | null;
  seconds: number | null;
  imageCount: number | null;
  files: ManifestFile[];
  /** The manifest JSON it came from. */
  source: string;
}

export interface RunManifest {
  records: ShardRecord[];
  plan: Plan | null;
  configHash: string | null;
  problems: Problem[];
}

const MANIFEST_NAME = /^([A-Za-z0-9_]+)-(\d+)\.json$/;

function isTableName(name: unknown): name is TableName {
  return typeof name === 'string' && (TABLE_NAMES as readonly string[]).includes(name);
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

/** `tables/<table>/<file>` at the end of a path, if any (split on both separators). */
function tablesTail(path: string): string[] | null {
  const parts = path.split(/[\\/]+/);
  const i = parts.lastIndexOf('tables');
  return i >= 0 && parts.length - i === 3 ? parts.slice(i) : null;
}

function resolveListedPath(runDir: string, listed: string): string {
  if (!isAbsolute(listed)) return resolve(runDir, listed);
  const tail = tablesTail(listed);
  return tail ? join(runDir, ...tail) : listed;
}

function tableFromPath(path: string): string | null {
  const tail = tablesTail(path);
  return tail ? tail[1]! : null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function parseFiles(runDir: string, source: string, raw: unknown, problems: Problem[]): ManifestFile[] {
  const entries: [string | null, Record<string, unknown>][] = [];
  if (Array.isArray(raw)) {
    for (const e of raw) if (e && typeof e === 'object') entries.push([null, e as Record<string, unknown>]);
  } else if (raw && typeof raw === 'object') {
    for (const [k, e] of Object.entries(raw)) if (e && typeof e === 'object') entries.push([k, e as Record<string, unknown>]);
  } else {
    problems.push({ runDir, file: source, kind: 'bad-manifest', detail: 'no "files" list: the shard cannot be merged' });
    return [];
  }
  const files: ManifestFile[] = [];
  for (const [key, e] of entries) {
    const listed = typeof e.path === 'string' ? e.path : typeof e.file === 'string' ? e.file : null;
    const sha = typeof e.sha256 === 'string' ? e.sha256 : null;
    if (!listed || !sha) {
      problems.push({ runDir, file: source, kind: 'bad-manifest', detail: `a file entry lacks "path" or "sha256" (${JSON.stringify(e).slice(0, 120)}); it is not merged` });
      continue;
    }
    const path = resolveListedPath(runDir, listed);
    const table = e.table ?? key ?? tableFromPath(path);
    if (!isTableName(table)) {
      problems.push({ runDir, file: path, kind: 'unknown-table', detail: `listed in ${source} as table ${String(table)}, which results/schemas.ts does not define; not merged` });
      continue;
    }
    files.push({ table, path, rows: num(e.rows), sha256: sha });
  }
  return files;
}

async function readPlan(runDir: string, problems: Problem[]): Promise<Plan | null> {
  const file = join(runDir, 'plan.json');
  const bytes = await readIfExists(file);
  if (bytes === undefined) return null;
  try {
    const p = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    const shardCount = num(p.shardCount);
    if (shardCount === null) throw new Error('shardCount is missing');
    return { datasetSize: num(p.datasetSize) ?? NaN, limit: num(p.limit), shardSize: num(p.shardSize) ?? NaN, shardCount };
  } catch (err) {
    problems.push({ runDir, file, kind: 'bad-plan', detail: `cannot read the shard plan (${(err as Error).message}); completeness is unknown` });
    return null;
  }
}

/** Manifest records, plan and config hash of one run directory; malformed records become problems. */
export async function readRunManifest(runDir: string): Promise<RunManifest> {
  const problems: Problem[] = [];
  const records: ShardRecord[] = [];
  const manifestDir = join(runDir, 'manifest');
  for (const name of await listDir(manifestDir)) {
    if (isTempName(name) || !name.endsWith('.json')) continue;
    const source = join(manifestDir, name);
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(await fs.readFile(source, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      problems.push({ runDir, file: source, kind: 'bad-manifest', detail: `not valid JSON (${(err as Error).message}); its shard is not merged` });
      continue;
    }
    const m = MANIFEST_NAME.exec(name);
    const phase = typeof json.phase === 'string' ? json.phase : m?.[1];
    const shard = num(json.shard) ?? (m ? Number(m[2]) : null);
    if (!phase || shard === null) {
      problems.push({ runDir, file: source, kind: 'bad-manifest', detail: 'no phase/shard (neither in the JSON nor as <phase>-<00000>.json); not merged' });
      continue;
    }
    records.push({
      phase,
      shard,
      backend: typeof json.backend === 'string' ? json.backend : null,
      backendDetail: typeof json.backendDetail === 'string' ? json.backendDetail : null,
      seconds: num(json.seconds),
      imageCount: num(json.imageCount),
      files: parseFiles(runDir, source, json.files, problems),
      source,
    });
  }
  let configHash: string | null = null;
  try {
    configHash = (await fs.readFile(join(runDir, 'config.hash'), 'utf8')).trim() || null;
  } catch {
    // No hash: runs cannot be checked for having the same config; the report says so.
  }
  return { records, plan: await readPlan(runDir, problems), configHash, problems };
}

/** Table files under RUN_DIR/tables that no manifest lists (in-progress temp files are skipped). */
export async function unlistedTableFiles(runDir: string, listed: ReadonlySet<string>): Promise<string[]> {
  const out: string[] = [];
  const tablesDir = join(runDir, 'tables');
  for (const table of await listDir(tablesDir)) {
    for (const name of await listDir(join(tablesDir, table))) {
      if (isTempName(name)) continue;
      const path = resolve(tablesDir, table, name);
      if (!listed.has(path)) out.push(path);
    }
  }
  return out;
}
