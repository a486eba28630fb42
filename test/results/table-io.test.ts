import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sha256File } from '../../results/checksum.js';
import { TABLES, type Row, type TableSpec } from '../../results/schemas.js';
import {
  CorruptShardError,
  RowShapeError,
  arrowSchema,
  encodeTable,
  readColumns,
  readTableRows,
  writeTableAtomic,
} from '../../results/table-io.js';

// A spec with one column of every type; TableSpec.name is typed, the cast keeps the test independent of the real tables.
const ALL_TYPES = {
  name: 'errors',
  columns: [
    { name: 's', type: 'utf8', doc: '' },
    { name: 'i', type: 'int32', doc: '' },
    { name: 'f', type: 'float32', doc: '' },
    { name: 'd', type: 'float64', doc: '' },
    { name: 'b', type: 'bool', doc: '' },
    { name: 'l', type: 'float32list', doc: '' },
  ],
} as TableSpec;

const ROWS: Row[] = [
  { s: 'ILSVRC2012_val_00000001', i: 0, f: 0.1, d: 0.1, b: true, l: new Float32Array([1, -2.5, NaN]) },
  { s: 'ünïcødé ✓', i: -2147483648, f: NaN, d: NaN, b: false, l: new Float32Array([]) },
  { s: '', i: 2147483647, f: -Infinity, d: 1e300, b: true, l: new Float32Array([Infinity, 3]) },
  ...Array.from({ length: 20 }, (_, k) => ({ s: `r${k}`, i: k, f: k / 3, d: k / 3, b: k % 3 === 0, l: new Float32Array(k).fill(k) })),
];

const dir = await mkdtemp(join(tmpdir(), 'table-io-'));
after(() => fs.rm(dir, { recursive: true, force: true }));

function sameFloat(actual: number, expected: number, message: string): void {
  if (Number.isNaN(expected)) assert.ok(Number.isNaN(actual), message);
  else assert.equal(actual, expected, message);
}

describe('table-io', () => {
  it('builds Arrow types from the spec', () => {
    const types = arrowSchema(ALL_TYPES).fields.map((f) => String(f.type));
    assert.deepEqual(types, ['Utf8', 'Int32', 'Float32', 'Float64', 'Bool', 'List<Float32>']);
  });

  it('round-trips every column type, NaN and empty lists included', async () => {
    const path = join(dir, 'nested', 'deeper', 'all.arrow');
    const written = await writeTableAtomic(path, ALL_TYPES, ROWS);
    assert.equal(written.rows, ROWS.length);
    assert.equal(written.sha256, await sha256File(path));
    assert.equal(written.bytes, (await fs.stat(path)).size);
    const back = await readTableRows(path, written.sha256, ALL_TYPES);
    assert.equal(back.length, ROWS.length);
    back.forEach((row, r) => {
      const want = ROWS[r]!;
      assert.equal(row.s, want.s);
      assert.equal(row.i, want.i);
      sameFloat(row.f as number, Math.fround(want.f as number), `f row ${r}`);
      sameFloat(row.d as number, want.d as number, `d row ${r}`);
      assert.equal(row.b, want.b);
      assert.ok(row.l instanceof Float32Array, `l row ${r} is a Float32Array`);
      assert.deepEqual(Array.from(row.l as Float32Array), Array.from(want.l as Float32Array));
    });
    // Rows own their lists: changing one must not change another read.
    (back[0]!.l as Float32Array)[0] = 99;
    const again = await readTableRows(path);
    assert.equal((again[0]!.l as Float32Array)[0], 1);
  });

  it('reads columns as typed arrays', async () => {
    const path = join(dir, 'cols.arrow');
    await writeTableAtomic(path, ALL_TYPES, ROWS);
    const { numRows, columns } = await readColumns(path);
    assert.equal(numRows, ROWS.length);
    assert.ok(columns.i instanceof Int32Array);
    assert.ok(columns.d instanceof Float64Array);
    assert.equal((columns.i as Int32Array)[2], 2147483647);
    assert.deepEqual((columns.b as boolean[]).slice(0, 3), [true, false, true]);
    assert.equal((columns.l as Float32Array[])[3]!.length, 0);
  });

  it('writes and reads empty tables with their schema', async () => {
    for (const spec of Object.values(TABLES)) {
      const path = join(dir, 'empty', `${spec.name}.arrow`);
      const written = await writeTableAtomic(path, spec, []);
      assert.equal(written.rows, 0);
      assert.deepEqual(await readTableRows(path, written.sha256, spec), []);
      const { columns } = await readColumns(path);
      assert.deepEqual(
        Object.keys(columns),
        spec.columns.map((c) => c.name),
      );
    }
  });

  it('detects a flipped byte by checksum and a truncated file without one', async () => {
    const path = join(dir, 'flip.arrow');
    const { sha256 } = await writeTableAtomic(path, ALL_TYPES, ROWS);
    const bytes = await fs.readFile(path);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await fs.writeFile(path, bytes);
    await assert.rejects(readTableRows(path, sha256), (err: unknown) => {
      assert.ok(err instanceof CorruptShardError);
      assert.equal(err.file, path);
      assert.match(err.message, /checksum mismatch/);
      assert.ok(err.message.includes(path));
      return true;
    });
    await fs.writeFile(path, bytes.subarray(0, bytes.length - 30));
    await assert.rejects(
      readTableRows(path),
      (err: unknown) => err instanceof CorruptShardError && /not a complete Arrow IPC file/.test(err.message),
    );
    await fs.writeFile(path, 'not arrow at all');
    await assert.rejects(readTableRows(path), CorruptShardError);
    await assert.rejects(
      readTableRows(join(dir, 'missing.arrow')),
      (err: unknown) => err instanceof CorruptShardError && /missing/.test(err.message),
    );
  });

  it('refuses a file whose columns do not match the expected table', async () => {
    const path = join(dir, 'other.arrow');
    await writeTableAtomic(path, TABLES.pointing_game, []);
    await assert.rejects(
      readTableRows(path, undefined, TABLES.pointing),
      (err: unknown) => err instanceof CorruptShardError && /holds table pointing_game/.test(err.message),
    );
  });

  it('names table, row and column for cells of the wrong type or unknown columns', () => {
    const good = ROWS[0]!;
    assert.throws(
      () => encodeTable(ALL_TYPES, [good, { ...good, i: 1.5 }]),
      (err: unknown) => err instanceof RowShapeError && /row 1, column i: expected an int32/.test(err.message),
    );
    assert.throws(() => encodeTable(ALL_TYPES, [{ ...good, l: [1, 2] as unknown as Float32Array }]), /column l: expected a Float32Array/);
    assert.throws(() => encodeTable(ALL_TYPES, [{ ...good, b: 1 }]), /column b: expected a boolean/);
    const { s: _dropped, ...missing } = good;
    assert.throws(() => encodeTable(ALL_TYPES, [missing]), /column s: expected a string, got undefined/);
    assert.throws(() => encodeTable(ALL_TYPES, [{ ...good, extra: 1 }]), /column extra is not in the table/);
  });

  it('is atomic: nothing at the final path until the file is complete, no temp left behind', async () => {
    const folder = join(dir, 'atomic');
    const path = join(folder, 'shard-00000.arrow');
    let sawTemp = false;
    const written = await writeTableAtomic(path, ALL_TYPES, ROWS, {
      beforeCommit: async (temp) => {
        await assert.rejects(fs.stat(path), { code: 'ENOENT' });
        // The temp already holds every byte, so the rename publishes a complete file.
        const tempBytes = await fs.readFile(temp);
        assert.equal(tempBytes.length, encodeTable(ALL_TYPES, ROWS).length);
        sawTemp = true;
      },
    });
    assert.ok(sawTemp);
    assert.equal((await fs.stat(path)).size, written.bytes);
    assert.deepEqual(await fs.readdir(folder), ['shard-00000.arrow']);

    // A failure before the commit leaves the old file untouched and no temp file.
    await assert.rejects(
      writeTableAtomic(path, ALL_TYPES, [], {
        beforeCommit: () => {
          throw new Error('disk full');
        },
      }),
      /disk full/,
    );
    assert.equal(await sha256File(path), written.sha256);
    assert.deepEqual(await fs.readdir(folder), ['shard-00000.arrow']);
  });
});
