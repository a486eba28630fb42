import type { Row } from '../results/schemas.js';

/** Rows produced by a batch or a shard, per table (results/schemas.ts or a metric's own tables). */
export type TableRows = Partial<Record<string, Row[]>>;

export function pushRows(into: TableRows, table: string, rows: Row[]): void {
  const list = (into[table] ??= []);
  for (const r of rows) list.push(r);
}

export function mergeRows(into: TableRows, from: TableRows): void {
  for (const [t, rows] of Object.entries(from) as [string, Row[]][]) pushRows(into, t, rows);
}
