/**
 * What a run directory says about itself, as the report needs it: the manifest records of
 * finished shards (with absolute file paths), the shard plan and the config hash, and which table
 * files no manifest vouches for. Every record is read through results/run-format.ts, the one
 * definition of the run format that `sglrp run` writes with: a record that does not parse, names
 * another shard than its file name, lies outside the plan or was computed under another run
 * identity is a problem and is never merged.
 */
import { promises as fs } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { isTempName } from '../../results/atomic-file.js';
import { identityDiff, listDir, readIdentity, readManifests, readPlan, RUN_FILES, type RunIdentity } from '../../results/run-format.js';
import type { TableName } from '../../results/schemas.js';
import type { Plan, Problem } from './types.js';

export { listDir } from '../../results/run-format.js';

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

async function planOf(runDir: string, problems: Problem[]): Promise<Plan | null> {
  try {
    return (await readPlan(runDir)) ?? null;
  } catch (err) {
    problems.push({
      runDir,
      file: join(runDir, RUN_FILES.plan),
      kind: 'bad-plan',
      detail: `cannot read the shard plan (${(err as Error).message}); completeness is unknown`,
    });
    return null;
  }
}

async function identityOf(runDir: string, problems: Problem[]): Promise<RunIdentity | null> {
  try {
    return (await readIdentity(runDir)) ?? null;
  } catch (err) {
    problems.push({
      runDir,
      file: join(runDir, RUN_FILES.identity),
      kind: 'bad-manifest',
      detail: `${(err as Error).message}; shards cannot be checked against the run's inputs`,
    });
    return null;
  }
}

/** Manifest records, plan and config hash of one run directory; malformed records become problems. */
export async function readRunManifest(runDir: string): Promise<RunManifest> {
  const problems: Problem[] = [];
  const plan = await planOf(runDir, problems);
  const identity = await identityOf(runDir, problems);
  const records: ShardRecord[] = [];
  for (const m of await readManifests(runDir)) {
    if ('problem' in m) {
      problems.push({ runDir, file: m.path, kind: 'bad-manifest', detail: `${m.problem}; its shard is not merged` });
      continue;
    }
    const r = m.record;
    if (plan && r.phase === 'main' && r.shard >= plan.shardCount) {
      problems.push({
        runDir,
        file: m.path,
        kind: 'bad-manifest',
        detail: `main shard ${r.shard} is outside the plan of ${plan.shardCount} shards (a stray copy?); not merged`,
      });
      continue;
    }
    const foreign = identity ? identityDiff(r.identity, identity) : [];
    if (foreign.length > 0) {
      problems.push({
        runDir,
        file: m.path,
        kind: 'bad-manifest',
        detail: `computed with other inputs (${foreign.join(', ')} differ from ${RUN_FILES.identity}); not merged`,
      });
      continue;
    }
    const files: ManifestFile[] = [];
    for (const f of r.files) {
      const path = resolve(runDir, ...f.path.split('/'));
      const rel = relative(runDir, path);
      if (rel.startsWith('..') || isAbsolute(rel)) {
        problems.push({
          runDir,
          file: m.path,
          kind: 'bad-manifest',
          detail: `lists ${f.path}, which is outside the run directory; not merged`,
        });
        continue;
      }
      files.push({ table: f.table, path, rows: f.rows, sha256: f.sha256 });
    }
    records.push({
      phase: r.phase,
      shard: r.shard,
      backend: r.backend,
      backendDetail: r.backendDetail ?? null,
      seconds: r.seconds,
      imageCount: r.imageCount,
      files,
      source: m.path,
    });
  }
  let configHash: string | null = null;
  try {
    configHash = (await fs.readFile(join(runDir, RUN_FILES.hash), 'utf8')).trim() || null;
  } catch {
    // No hash: runs cannot be checked for having the same config; the report says so.
  }
  return { records, plan, configHash, problems };
}

/** Table files under RUN_DIR/tables that no manifest lists (in-progress temp files are skipped). */
export async function unlistedTableFiles(runDir: string, listed: ReadonlySet<string>): Promise<string[]> {
  const out: string[] = [];
  const tablesDir = join(runDir, RUN_FILES.tables);
  for (const table of await listDir(tablesDir)) {
    for (const name of await listDir(join(tablesDir, table))) {
      if (isTempName(name)) continue;
      const path = resolve(tablesDir, table, name);
      if (!listed.has(path)) out.push(path);
    }
  }
  return out;
}
