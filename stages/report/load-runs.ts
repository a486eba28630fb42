/**
 * Merges the shard tables of one or more run directories: only files a manifest lists, each
 * checked against its sha256 (and its columns against results/schemas.ts) before use. A file that
 * fails is reported and skipped, never merged. An image already read from an earlier shard or
 * run directory is skipped in every later one (runs of the same config give the same rows, and
 * counting an image twice would shrink its confidence intervals for nothing).
 */
import { CorruptShardError, readColumns, type TableColumns } from '../../results/table-io.js';
import { registeredMetrics, tableSpec } from '../../metrics/registry.js';
import { readRunManifest, unlistedTableFiles, type ShardRecord } from './manifest.js';
import type { Problem, RunInfo } from './types.js';

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
          problems.push({ runDir, file: file.path, kind: missing ? 'missing' : 'corrupt', detail: `${err.reason} (listed in ${record.source}); not merged` });
          continue;
        }
        if (file.rows !== null && file.rows !== data.numRows) {
          problems.push({ runDir, file: file.path, kind: 'corrupt', detail: `holds ${data.numRows} rows but ${record.source} records ${file.rows}; not merged` });
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
      problems.push({ runDir, file: path, kind: 'unlisted', detail: 'no manifest record lists this file (a shard still running, or left from a crash); not merged' });
    }
  }
  const imagesByTable: Record<string, number> = {};
  for (const [table, own] of owners) {
    imagesByTable[table] = table === 'errors' ? new Set([...own.keys()].map((k) => k.split('\u0000')[0])).size : own.size;
  }
  return { runs, problems, rowsByTable, imagesByTable, duplicateRows };
}
