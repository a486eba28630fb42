/**
 * The report's numbers as files: every figure's curve, the per-method summary and the counts,
 * each as CSV (for spreadsheets and eyes) and as an Arrow IPC file (for notebooks, lossless).
 */
import { Table, Utf8, makeVector, tableToIPC, vectorFromArray, type Vector } from 'apache-arrow';
import { join } from 'node:path';
import { writeFileAtomic } from '../../results/atomic-file.js';

export type ReportColumnType = 'string' | 'int' | 'number';

export interface ReportTable {
  /** File stem: <name>.csv and <name>.arrow. */
  name: string;
  columns: { name: string; type: ReportColumnType }[];
  rows: Record<string, string | number>[];
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
function csvField(v: string | number | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? '' : String(v);
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** CSV with a header row; numbers at full precision, NaN as an empty field. */
export function toCsv(t: ReportTable): string {
  const lines = [t.columns.map((c) => csvField(c.name)).join(',')];
  for (const row of t.rows) lines.push(t.columns.map((c) => csvField(row[c.name])).join(','));
  return lines.join('\n') + '\n';
}

/** Arrow IPC file bytes: strings as plain utf8, ints as int32, numbers as float64 (NaN kept). */
export function toArrow(t: ReportTable): Uint8Array {
  const vectors: Record<string, Vector> = {};
  for (const c of t.columns) {
    const values = t.rows.map((r) => r[c.name]);
    if (c.type === 'string')
      vectors[c.name] = vectorFromArray(
        values.map((v) => String(v ?? '')),
        new Utf8(),
      );
    else if (c.type === 'int') vectors[c.name] = makeVector(Int32Array.from(values.map((v) => Number(v ?? 0))));
    else vectors[c.name] = makeVector(Float64Array.from(values.map((v) => (typeof v === 'number' ? v : NaN))));
  }
  return tableToIPC(new Table(vectors), 'file');
}

/** Write <name>.csv and <name>.arrow into `dir`; returns both paths. */
export async function writeReportTable(dir: string, t: ReportTable): Promise<{ csv: string; arrow: string }> {
  const csv = join(dir, `${t.name}.csv`);
  const arrow = join(dir, `${t.name}.arrow`);
  await writeFileAtomic(csv, toCsv(t));
  await writeFileAtomic(arrow, toArrow(t));
  return { csv, arrow };
}
