import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { Accumulator, energyKey } from '../../stages/report/aggregate.js';
import { compactList } from '../../stages/report/claims.js';
import { readRunManifest, unlistedTableFiles } from '../../stages/report/manifest.js';
import { formatRecord, manifestSchema, type ManifestRecord } from '../../results/run-format.js';
import { toArrow, toCsv } from '../../stages/report/report-tables.js';

const P = [1, 3, 5, 7, 9];

test('compactList merges runs of 3+ grid points only', () => {
  const grid = [0.05, 0.1, 0.15, 0.2, 0.3];
  assert.equal(compactList([0.05, 0.1, 0.15, 0.3], grid, String), '0.05–0.15, 0.3');
  assert.equal(compactList([1, 3], P, String), '1, 3');
  assert.equal(compactList([9, 1, 3, 5], P, String), '1–5, 9');
  assert.equal(compactList([], P, String), 'none');
});

test('Accumulator groups float32 energies, pools hits, counts empty maps and errors', () => {
  const acc = new Accumulator();
  const e = Math.fround(0.05);
  assert.notEqual(e, 0.05);
  assert.equal(energyKey(e), 0.05);
  acc.add(
    'pointing',
    {
      image_id: ['a', 'b', 'c', 'd'],
      method: ['lrp', 'lrp', 'lrp', 'lrp'],
      energy: Float32Array.from([0.05, 0.05, 0.05, 0.1]),
      hits: Int32Array.from([1, 3, 0, 7]),
      misses: Int32Array.from([1, 1, 0, 0]),
      accuracy: Float32Array.from([0.5, 0.75, 0, 1]),
      empty: [false, false, true, false],
    },
    [0, 1, 2, 3],
  );
  acc.add('errors', { image_id: ['a', 'b', 'c'], stage: ['read', 'read', 'forward'], reason: ['x', 'x', 'y'] }, [0, 1, 2]);
  const a = acc.finish();
  assert.equal(a.pointing.length, 2);
  const p = a.pointing[0]!;
  assert.equal(p.energy, 0.05);
  assert.equal(p.n, 3);
  assert.equal(p.empty, 1);
  assert.equal(p.mean, 1.25 / 3);
  assert.equal(p.pooled, 4 / 6);
  assert.deepEqual(a.errorsByStage, [
    { stage: 'read', count: 2, reasons: [{ reason: 'x', count: 2 }] },
    { stage: 'forward', count: 1, reasons: [{ reason: 'y', count: 1 }] },
  ]);
});

test('CSV quotes what needs quoting and leaves NaN empty; Arrow keeps types and NaN', () => {
  const t = {
    name: 't',
    columns: [
      { name: 'method', type: 'string' as const },
      { name: 'n', type: 'int' as const },
      { name: 'mean', type: 'number' as const },
    ],
    rows: [
      { method: 'a,"b"', n: 3, mean: 0.1 },
      { method: 'c', n: 1, mean: NaN },
    ],
  };
  assert.equal(toCsv(t), 'method,n,mean\n"a,""b""",3,0.1\nc,1,\n');
  const table = tableFromIPC(toArrow(t));
  assert.deepEqual(table.getChild('method')!.toArray(), ['a,"b"', 'c']);
  assert.deepEqual(Array.from(table.getChild('n')!.toArray() as Int32Array), [3, 1]);
  const mean = table.getChild('mean')!.toArray() as Float64Array;
  assert.equal(mean[0], 0.1);
  assert.ok(Number.isNaN(mean[1]));
});

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

test("manifests are read with the run format's one schema: a written record is merged, variants no writer produces and records outside the plan are problems", async () => {
  const run = await fs.mkdtemp(join(tmpdir(), 'report-manifest-'));
  dirs.push(run);
  await fs.mkdir(join(run, 'manifest'));
  await fs.mkdir(join(run, 'tables', 'masking'), { recursive: true });
  const good: ManifestRecord = {
    phase: 'main',
    shard: 1,
    identity: { configHash: 'c'.repeat(64), model: 'a'.repeat(64), annotations: null },
    files: [{ table: 'masking', path: 'tables/masking/shard-00001.arrow', rows: 10, sha256: 'ab'.repeat(32), bytes: 1 }],
    imageCount: 64,
    backend: 'webgpu',
    seconds: 12.5,
    finishedAt: '2026-01-01T00:00:00.000Z',
    host: 'n1',
  };
  await fs.writeFile(join(run, 'manifest', 'main-00001.json'), formatRecord(good, manifestSchema, 'manifest'));
  // The old tolerated variant: files keyed by table, `file` instead of `path`, an absolute path.
  await fs.writeFile(
    join(run, 'manifest', 'main-00000.json'),
    JSON.stringify({
      ...good,
      shard: 0,
      files: { masking: { file: '/some/other/mount/run/tables/masking/shard-00000.arrow', rows: 10, sha256: 'ab'.repeat(32) } },
    }),
  );
  await fs.writeFile(join(run, 'manifest', 'main-00008.json'), '{ not json');
  await fs.writeFile(join(run, 'manifest', 'main-00007.json'), formatRecord({ ...good, shard: 7 }, manifestSchema, 'manifest'));
  await fs.writeFile(join(run, 'plan.json'), JSON.stringify({ datasetSize: 1000, limit: 100, shardSize: 64, shardCount: 2 }));
  const m = await readRunManifest(run);
  assert.equal(m.records.length, 1);
  const r = m.records[0]!;
  assert.deepEqual([r.phase, r.shard, r.backend, r.seconds, r.imageCount], ['main', 1, 'webgpu', 12.5, 64]);
  assert.deepEqual(
    r.files.map((f) => [f.table, f.path, f.rows]),
    [['masking', join(run, 'tables', 'masking', 'shard-00001.arrow'), 10]],
  );
  assert.deepEqual(m.plan, { datasetSize: 1000, limit: 100, shardSize: 64, shardCount: 2 });
  assert.deepEqual(
    m.problems.map((p) => [p.kind, p.file.slice(run.length + 1)]),
    [
      ['bad-manifest', join('manifest', 'main-00000.json')],
      ['bad-manifest', join('manifest', 'main-00007.json')],
      ['bad-manifest', join('manifest', 'main-00008.json')],
    ],
  );
  assert.match(m.problems[1]!.detail, /outside the plan of 2 shards/);

  // Unlisted detection skips in-progress temp files of atomic writes.
  await fs.writeFile(join(run, 'tables', 'masking', 'shard-00001.arrow'), 'x');
  await fs.writeFile(join(run, 'tables', 'masking', 'shard-00009.arrow'), 'x');
  await fs.writeFile(join(run, 'tables', 'masking', '.shard-00010.arrow.tmp-host-1-abcdef'), 'x');
  const unlisted = await unlistedTableFiles(run, new Set(r.files.map((f) => f.path)));
  assert.deepEqual(unlisted, [join(run, 'tables', 'masking', 'shard-00009.arrow')]);
});

test('a malformed plan.json is a problem, not a crash', async () => {
  const run = await fs.mkdtemp(join(tmpdir(), 'report-plan-'));
  dirs.push(run);
  await fs.writeFile(join(run, 'plan.json'), JSON.stringify({ datasetSize: 10 }));
  const m = await readRunManifest(run);
  assert.equal(m.plan, null);
  assert.deepEqual(
    m.problems.map((p) => p.kind),
    ['bad-plan'],
  );
  assert.deepEqual(m.records, []);
});
