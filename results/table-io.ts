/**
 * Arrow IPC (file format) I/O for the result tables in results/schemas.ts. Writers take plain row
 * objects, readers give them back (or columns, for the report); every file is written atomically
 * and identified by its SHA-256 so a shared run directory can tell a finished shard from a torn
 * or altered one.
 */
import { promises as fs } from 'node:fs';
import {
  Bool,
  Field,
  Float32,
  Float64,
  Int32,
  List,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Utf8,
  makeData,
  tableFromIPC,
  tableToIPC,
  DataType,
  type Data,
  type Vector,
} from 'apache-arrow';
import { writeFileAtomic, type AtomicWriteHooks } from './atomic-file.js';
import { sha256Hex } from './checksum.js';
import type { ColumnSpec, ColumnType, Row, TableSpec } from './schemas.js';

/** A shard file that cannot be trusted: wrong checksum, truncated, or not Arrow. Recompute it. */
export class CorruptShardError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(
      `${file}: ${reason}. The shard file is damaged or was changed; delete it and its manifest entry (or run again) so the shard is recomputed.`,
    );
    this.name = 'CorruptShardError';
  }
}

/** Rows that do not fit the table's columns: a bug in the writer, not in the data. */
export class RowShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RowShapeError';
  }
}

export interface WrittenTable {
  path: string;
  rows: number;
  sha256: string;
  bytes: number;
}

/** Schema metadata key holding the table name, so a file can be checked against its spec. */
export const TABLE_NAME_METADATA = 'sglrp.table';

// Every column is non-nullable: missing values are encoded in-band (-1, NaN, empty string) as
// the schema docs say, so readers never meet nulls.
function arrowType(type: ColumnType): DataType {
  switch (type) {
    case 'utf8':
      return new Utf8();
    case 'int32':
      return new Int32();
    case 'float32':
      return new Float32();
    case 'float64':
      return new Float64();
    case 'bool':
      return new Bool();
    case 'float32list':
      return new List(new Field('item', new Float32(), false));
  }
}

/** The Arrow schema of a table spec; the table name travels in the schema metadata. */
export function arrowSchema(spec: TableSpec): Schema {
  const fields = spec.columns.map((col) => new Field(col.name, arrowType(col.type), false));
  return new Schema(fields, new Map([[TABLE_NAME_METADATA, spec.name]]));
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function shapeError(spec: TableSpec, rowIndex: number, col: ColumnSpec, expected: string, value: unknown): RowShapeError {
  const got =
    value instanceof Float32Array ? `Float32Array(${value.length})` : typeof value === 'string' ? JSON.stringify(value) : String(value);
  return new RowShapeError(
    `table ${spec.name}, row ${rowIndex}, column ${col.name}: expected ${expected}, got ${got} (columns are defined in results/schemas.ts)`,
  );
}

function columnData(spec: TableSpec, col: ColumnSpec, type: DataType, rows: readonly Row[]): Data {
  const n = rows.length;
  switch (col.type) {
    case 'int32': {
      const values = new Int32Array(n);
      rows.forEach((row, i) => {
        const v = row[col.name];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) {
          throw shapeError(spec, i, col, 'an int32 (an integer in [-2^31, 2^31))', v);
        }
        values[i] = v;
      });
      return makeData({ type: type as Int32, length: n, nullCount: 0, data: values });
    }
    case 'float32':
    case 'float64': {
      const values = col.type === 'float32' ? new Float32Array(n) : new Float64Array(n);
      rows.forEach((row, i) => {
        const v = row[col.name];
        if (typeof v !== 'number') throw shapeError(spec, i, col, `a number (${col.type}; NaN allowed)`, v);
        values[i] = v;
      });
      return makeData({ type: type as Float32 | Float64, length: n, nullCount: 0, data: values });
    }
    case 'bool': {
      const bits = new Uint8Array(Math.ceil(n / 8));
      rows.forEach((row, i) => {
        const v = row[col.name];
        if (typeof v !== 'boolean') throw shapeError(spec, i, col, 'a boolean', v);
        if (v) bits[i >> 3]! |= 1 << (i & 7);
      });
      return makeData({ type: type as Bool, length: n, nullCount: 0, data: bits });
    }
    case 'utf8': {
      const encoder = new TextEncoder();
      const encoded: Uint8Array[] = [];
      const offsets = new Int32Array(n + 1);
      rows.forEach((row, i) => {
        const v = row[col.name];
        if (typeof v !== 'string') throw shapeError(spec, i, col, 'a string', v);
        const bytes = encoder.encode(v);
        encoded.push(bytes);
        offsets[i + 1] = offsets[i]! + bytes.length;
      });
      const data = new Uint8Array(offsets[n]!);
      encoded.forEach((bytes, i) => data.set(bytes, offsets[i]!));
      return makeData({ type: type as Utf8, length: n, nullCount: 0, valueOffsets: offsets, data });
    }
    case 'float32list': {
      const offsets = new Int32Array(n + 1);
      rows.forEach((row, i) => {
        const v = row[col.name];
        if (!(v instanceof Float32Array)) throw shapeError(spec, i, col, 'a Float32Array', v);
        const end = offsets[i]! + v.length;
        if (end > INT32_MAX) throw shapeError(spec, i, col, 'lists totalling under 2^31 values per shard (use a smaller shardSize)', v);
        offsets[i + 1] = end;
      });
      const values = new Float32Array(offsets[n]!);
      rows.forEach((row, i) => values.set(row[col.name] as Float32Array, offsets[i]!));
      const listType = type as List<Float32>;
      const child = makeData({ type: listType.children[0]!.type, length: values.length, nullCount: 0, data: values });
      return makeData({ type: listType, length: n, nullCount: 0, valueOffsets: offsets, child });
    }
  }
}

function checkRowKeys(spec: TableSpec, rows: readonly Row[]): void {
  const known = new Set(spec.columns.map((c) => c.name));
  rows.forEach((row, i) => {
    for (const key of Object.keys(row)) {
      if (!known.has(key)) {
        throw new RowShapeError(
          `table ${spec.name}, row ${i}: column ${key} is not in the table (known: ${[...known].join(', ')}; see results/schemas.ts)`,
        );
      }
    }
  });
}

/** Build an Arrow Table from rows, checking every cell against the spec. */
export function rowsToTable(spec: TableSpec, rows: readonly Row[]): Table {
  checkRowKeys(spec, rows);
  const schema = arrowSchema(spec);
  const children = spec.columns.map((col, i) => columnData(spec, col, schema.fields[i]!.type, rows));
  const struct = makeData({ type: new Struct(schema.fields), length: rows.length, nullCount: 0, children });
  return new Table([new RecordBatch(schema, struct)]);
}

/** Encode rows as an Arrow IPC file (the random-access format with a footer). */
export function encodeTable(spec: TableSpec, rows: readonly Row[]): Uint8Array {
  return tableToIPC(rowsToTable(spec, rows), 'file');
}

/**
 * Encode and write a table so that `path` holds either nothing (or its previous version) or the
 * complete new file; creates missing folders. Returns what a manifest records about the file.
 */
export async function writeTableAtomic(
  path: string,
  spec: TableSpec,
  rows: readonly Row[],
  hooks?: AtomicWriteHooks,
): Promise<WrittenTable> {
  const bytes = encodeTable(spec, rows);
  await writeFileAtomic(path, bytes, hooks);
  return { path, rows: rows.length, sha256: sha256Hex(bytes), bytes: bytes.length };
}

const MAGIC = new TextEncoder().encode('ARROW1');

function hasMagic(bytes: Uint8Array, at: number): boolean {
  if (at < 0 || at + MAGIC.length > bytes.length) return false;
  return MAGIC.every((b, i) => bytes[at + i] === b);
}

/** Read and parse a shard file; `expectedSha256` (from the manifest) is checked first when given. */
export async function readTable(path: string, expectedSha256?: string, spec?: TableSpec): Promise<Table> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CorruptShardError(path, 'file is missing');
    throw err;
  }
  if (expectedSha256 !== undefined) {
    const actual = sha256Hex(bytes);
    if (actual !== expectedSha256.toLowerCase()) {
      throw new CorruptShardError(path, `checksum mismatch: sha256 is ${actual}, the manifest expects ${expectedSha256}`);
    }
  }
  // A truncated IPC *file* can still parse as an IPC *stream* and silently lose batches, so the
  // file-format magic at both ends is checked before Arrow sees the bytes.
  if (!hasMagic(bytes, 0) || !hasMagic(bytes, bytes.length - MAGIC.length)) {
    throw new CorruptShardError(path, `not a complete Arrow IPC file (${bytes.length} bytes; truncated or another format)`);
  }
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (err) {
    throw new CorruptShardError(path, `unreadable Arrow data (${(err as Error).message})`);
  }
  if (spec) checkSchema(path, table, spec);
  return table;
}

function checkSchema(path: string, table: Table, spec: TableSpec): void {
  const expected = arrowSchema(spec);
  const stored = table.schema.metadata.get(TABLE_NAME_METADATA);
  if (stored !== undefined && stored !== spec.name) {
    throw new CorruptShardError(path, `holds table ${stored}, expected ${spec.name}`);
  }
  const got = table.schema.fields.map((f) => `${f.name}:${String(f.type)}`).join(', ');
  const want = expected.fields.map((f) => `${f.name}:${String(f.type)}`).join(', ');
  if (got !== want) {
    throw new CorruptShardError(
      path,
      `columns [${got}] do not match table ${spec.name} [${want}] (written by another version of results/schemas.ts?)`,
    );
  }
}

/** Cell values as rows hold them: list cells become independent Float32Array copies. */
function cellReader(vector: Vector, type: DataType): (i: number) => Row[string] {
  if (DataType.isList(type)) {
    return (i) => {
      const inner = vector.get(i) as Vector<Float32> | null;
      return inner ? new Float32Array(inner.toArray()) : new Float32Array(0);
    };
  }
  return (i) => vector.get(i) as Row[string];
}

/** Read a shard file back into row objects (verifying the checksum when given). */
export async function readTableRows(path: string, expectedSha256?: string, spec?: TableSpec): Promise<Row[]> {
  const table = await readTable(path, expectedSha256, spec);
  const readers = table.schema.fields.map((field, c) => ({ name: field.name, get: cellReader(table.getChildAt(c)!, field.type) }));
  const rows: Row[] = new Array(table.numRows);
  for (let i = 0; i < table.numRows; i++) {
    const row: Row = {};
    for (const { name, get } of readers) row[name] = get(i);
    rows[i] = row;
  }
  return rows;
}

/** One column as the report wants it: typed arrays for numbers, plain arrays otherwise. */
export type ColumnValues = string[] | Int32Array | Float32Array | Float64Array | boolean[] | Float32Array[];

export interface TableColumns {
  numRows: number;
  columns: Record<string, ColumnValues>;
}

/** Column-wise read: cheaper than rows for aggregation over many shards. */
export async function readColumns(path: string, expectedSha256?: string, spec?: TableSpec): Promise<TableColumns> {
  const table = await readTable(path, expectedSha256, spec);
  const columns: Record<string, ColumnValues> = {};
  table.schema.fields.forEach((field, c) => {
    const vector = table.getChildAt(c)!;
    // Types come back from IPC as generic Int_/Float instances, so test by type id, not class.
    if (DataType.isInt(field.type) || DataType.isFloat(field.type)) {
      // toArray() may be a view into the file buffer; copy so callers own their arrays.
      columns[field.name] = (vector.toArray() as Int32Array | Float32Array | Float64Array).slice();
    } else {
      const get = cellReader(vector, field.type);
      columns[field.name] = Array.from({ length: table.numRows }, (_, i) => get(i)) as ColumnValues;
    }
  });
  return { numRows: table.numRows, columns };
}
