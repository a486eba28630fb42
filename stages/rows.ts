import type { Row, TableName } from '../results/schemas.js';

/** Rows produced by a batch or a shard, per table. */
export type TableRows = Partial<Record<TableName, Row[]>>;

export function pushRows(into: TableRows, table: TableName, rows: Row[]): void {
  const list = (into[table] ??= []);
  for (const r of rows) list.push(r);
}

export function mergeRows(into: TableRows, from: TableRows): void {
  for (const [t, rows] of Object.entries(from) as [TableName, Row[]][]) pushRows(into, t, rows);
}
