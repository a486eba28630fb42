/**
 * Merges the shard tables of one or more run directories: only files a manifest lists, each
 * checked against its sha256 (and its columns against results/schemas.ts) before use. A file that
 * fails is reported and skipped, never merged. An image already read from an earlier shard or
 * run directory is skipped in every later one (runs of the same config give the same rows, and
 * counting an image twice would shrink its confidence intervals for nothing).
 */
import { isAbsolute, join, relative, resolve } from 'node:path';
import { CorruptShardError, readColumns, type TableColumns } from '../../results/table-io.js';
import { identityDiff, notARunDir, readIdentity, RUN_FILES } from '../../results/run-format.js';
import { describeDiff, diffConfigs } from '../../pipeline/config.js';
import { readStoredConfig } from '../../pipeline/run-dir.js';
import { registeredMetrics, tableSpec } from '../../metrics/registry.js';
import { readRunManifest, unlistedTableFiles, type ShardRecord } from './manifest.js';
import type { Problem, RunInfo } from './types.js';

/** The report's inputs are wrong (exit 2): nothing was written. */
export class ReportInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportInputError';
  }
}

function inside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Refuse, before anything is written: a folder that is not a run directory (the report would be
 * written into it, empty); run directories whose configs differ in a result field (merged, their
 * numbers would depend on argument order: docs/PROTOCOL.md §9); and an --out folder inside a
 * run's tables/ or manifest/ (the report's own Arrow files would look like shards there).
 */
export async function checkReportInputs(runDirs: readonly string[], outDir?: string): Promise<void> {
  if (runDirs.length === 0) throw new ReportInputError('report: give at least one run directory');
  for (const dir of runDirs) {
    const problem = await notARunDir(dir);
    if (problem) throw new ReportInputError(`${problem}; nothing was written`);
  }
  const configs = await Promise.all(runDirs.map((d) => readStoredConfig(join(resolve(d), RUN_FILES.config))));
  for (const [i, config] of configs.entries()) {
    if (i === 0) continue;
    const fields = diffConfigs(configs[0]!, config, { resultsOnly: true });
    if (fields.length > 0) {
      throw new ReportInputError(
        `${runDirs[i]} and ${runDirs[0]} were run with different configs, so their numbers cannot be merged:\n${describeDiff(
          configs[0]!,
          config,
          fields,
        )
          .map((d) => `  ${d}`)
          .join('\n')}\n` + 'Report each run on its own (sglrp report RUN_DIR). Nothing was written.',
      );
    }
  }
  // The same config over other model weights or annotations is another experiment too.
  const identities = await Promise.all(runDirs.map((d) => readIdentity(resolve(d))));
  for (const [i, identity] of identities.entries()) {
    const first = identities[0];
    if (i === 0 || !identity || !first) continue;
    const parts = identityDiff(first, identity).filter((p) => p !== 'configHash');
    if (parts.length > 0) {
      throw new ReportInputError(
        `${runDirs[i]} and ${runDirs[0]} were run on different inputs (${parts.map((p) => `${p} files`).join(', ')} differ, see their ${RUN_FILES.identity}), so their numbers cannot be merged. Report each run on its own. Nothing was written.`,
      );
    }
  }
  if (outDir !== undefined) {
    const out = resolve(outDir);
    for (const dir of runDirs) {
      for (const sub of [RUN_FILES.tables, RUN_FILES.manifest]) {
        if (inside(join(resolve(dir), sub), out))
          throw new ReportInputError(
            `--out ${outDir} is inside ${join(dir, sub)}, which holds the run's own shards; choose a folder outside it (default: RUN_DIR/report). Nothing was written.`,
          );
      }
    }
  }
}

/** Receives each merged shard's columns and the indices of the rows to count. */
export type ShardSink = (table: string, columns: TableColumns['columns'], rows: readonly number[]) => void;

export interface LoadResult {
  runs: RunInfo[];
  problems: Problem[];
  rowsByTable: Record<string, number>;
  imagesByTable: Record<string, number>;
  duplicateRows: number;
}

/**
 * The tables the report aggregates: forward (counts), every registered metric's tables, errors
 * (relevance and stats are not needed for any figure).
 */
export function reportTableNames(): string[] {
  return ['forward', ...registeredMetrics().flatMap((m) => m.tables.map((t) => t.name)), 'errors'];
}

function runInfo(runDir: string, records: ShardRecord[], plan: RunInfo['plan'], configHash: string | null): RunInfo {
  const main = records.filter((r) => r.phase === 'main');
  const mainShards = new Set(main.map((r) => r.shard));
  const statsShards = new Set(records.filter((r) => r.phase === 'stats').map((r) => r.shard));
  return {
    runDir,
    configHash,
    plan,
    mainShardsDone: mainShards.size,
    statsShardsDone: statsShards.size,
    partial: plan ? mainShards.size < plan.shardCount : null,
    // The detail where a manifest has one (webgpu's adapter: a software one makes the throughput meaningless).
    backends: [...new Set(main.map((r) => r.backendDetail ?? r.backend).filter((b): b is string => b !== null))].sort(),
    seconds: main.reduce((s, r) => s + (r.seconds ?? 0), 0),
    imageCount: main.reduce((s, r) => s + (r.imageCount ?? 0), 0),
  };
}

/** Stats before main, then shard order: which shard "owns" a duplicated image is deterministic. */
function recordOrder(a: ShardRecord, b: ShardRecord): number {
  const pa = a.phase === 'stats' ? 0 : 1;
  const pb = b.phase === 'stats' ? 0 : 1;
  return pa - pb || a.phase.localeCompare(b.phase) || a.shard - b.shard;
}

/**
 * What makes rows "the same image" per table. Errors are per image and stage: the stats phase and
 * the main phase can both record an error for one image, and both must count.
 */
function ownerKeyOf(table: string, columns: TableColumns['columns']): (i: number) => string {
  const ids = columns.image_id as string[];
  if (table === 'errors') {
    const stages = columns.stage as string[];
    return (i) => `${ids[i]!}\u0000${stages[i]!}`;
  }
  return (i) => ids[i]!;
}

export async function loadRuns(runDirs: readonly string[], sink: ShardSink): Promise<LoadResult> {
  const problems: Problem[] = [];
  const runs: RunInfo[] = [];
  const rowsByTable: Record<string, number> = {};
  const owners = new Map<string, Map<string, string>>();
  let duplicateRows = 0;
  const reportTables = reportTableNames();
  for (const table of reportTables) {
    owners.set(table, new Map());
    rowsByTable[table] = 0;
  }

  for (const runDir of runDirs) {
    const manifest = await readRunManifest(runDir);
    problems.push(...manifest.problems);
    runs.push(runInfo(runDir, manifest.records, manifest.plan, manifest.configHash));
    const listed = new Set<string>();
    const seen = new Set<string>();
    for (const record of [...manifest.records].sort(recordOrder)) {
      for (const file of record.files) {
        listed.add(file.path);
        if (!reportTables.includes(file.table)) continue;
        // Two records may list the same file (e.g. re-written manifest); read each version once.
        const key = `${file.path}\u0000${file.sha256}`;
        if (seen.has(key)) continue;
        seen.add(key);
        let data: TableColumns;
        try {
          data = await readColumns(file.path, file.sha256, tableSpec(file.table));
        } catch (err) {
          if (!(err instanceof CorruptShardError)) throw err;
          const missing = /file is missing/.test(err.reason);
          problems.push({
            runDir,
            file: file.path,
            kind: missing ? 'missing' : 'corrupt',
            detail: `${err.reason} (listed in ${record.source}); not merged`,
          });
          continue;
        }
        if (file.rows !== null && file.rows !== data.numRows) {
          problems.push({
            runDir,
            file: file.path,
            kind: 'corrupt',
            detail: `holds ${data.numRows} rows but ${record.source} records ${file.rows}; not merged`,
          });
          continue;
        }
        // Ownership: the first shard that brings an image keeps it for this table.
        const ownerKey = ownerKeyOf(file.table, data.columns);
        const own = owners.get(file.table)!;
        const rows: number[] = [];
        for (let i = 0; i < data.numRows; i++) {
          const id = ownerKey(i);
          const owner = own.get(id);
          if (owner === undefined) own.set(id, key);
          else if (owner !== key) {
            duplicateRows++;
            continue;
          }
          rows.push(i);
        }
        rowsByTable[file.table]! += rows.length;
        if (rows.length > 0) sink(file.table, data.columns, rows);
      }
    }
    for (const path of await unlistedTableFiles(runDir, listed)) {
      problems.push({
        runDir,
        file: path,
        kind: 'unlisted',
        detail: 'no manifest record lists this file (a shard still running, or left from a crash); not merged',
      });
    }
  }
  const imagesByTable: Record<string, number> = {};
  for (const [table, own] of owners) {
    imagesByTable[table] = table === 'errors' ? new Set([...own.keys()].map((k) => k.split('\u0000')[0])).size : own.size;
  }
  return { runs, problems, rowsByTable, imagesByTable, duplicateRows };
}
