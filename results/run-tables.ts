import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readTableRows } from './table-io.js';
import { TABLE_NAMES, type Row } from './schemas.js';

/**
 * Every row of every result table of a run directory, as canonical JSON lines, sorted: two runs
 * computed the same results exactly when these are equal, whatever their shard size, worker
 * count or node count (floats compared bit for bit, NaN included). The stats table is left out:
 * its per-shard partial sums are laid out by shard on purpose.
 */
export async function mergedTables(runDir: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of TABLE_NAMES) {
    if (table === 'stats') continue;
    let files: string[] = [];
    try {
      files = readdirSync(join(runDir, 'tables', table)).filter((f) => f.endsWith('.arrow'));
    } catch {
      /* the run wrote no such table */
    }
    const rows: Row[] = [];
    for (const f of files) rows.push(...(await readTableRows(join(runDir, 'tables', table, f))));
    out[table] = rows
      .map((r) =>
        JSON.stringify(r, (_k, v) => (v instanceof Float32Array ? Array.from(v) : typeof v === 'number' && Number.isNaN(v) ? 'NaN' : v)),
      )
      .sort();
  }
  return out;
}
