import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfig } from '../../pipeline/config.js';
import { RunDir, makePlan } from '../../pipeline/run-dir.js';
import { formatStatus, runStatus } from '../../pipeline/status.js';
import { TABLES } from '../../results/schemas.js';
import { writeTableAtomic } from '../../results/table-io.js';

const tmp = await mkdtemp(join(tmpdir(), 'status-'));
after(() => fs.rm(tmp, { recursive: true, force: true }));

const MODEL_PATH = join(tmp, 'model.json');
await fs.writeFile(MODEL_PATH, JSON.stringify({ modelTopology: {}, weightsManifest: [] }));

const config = (fill: 'dataset-mean' | 'zero') =>
  parseConfig(
    {
      name: 'demo',
      dataset: { kind: 'digits-pair', count: 45 },
      model: { path: MODEL_PATH, preprocess: 'unit', geometry: 'resize', size: 64 },
      shardSize: 10,
      masking: { fill },
    },
    'test',
  );

async function finish(run: RunDir, phase: string, shard: number, errorRows: number) {
  const rows = Array.from({ length: errorRows }, (_, i) => ({ image_id: `i${i}`, image_index: i, stage: 'read', reason: 'bad' }));
  const errors = await writeTableAtomic(run.tablePath('errors', shard), TABLES.errors, rows);
  await run.markDone(phase, shard, {
    files: [{ table: 'errors', ...errors }],
    imageCount: shard === 4 ? 5 : 10,
    backend: 'cpu',
    seconds: 2,
  });
}

describe('runStatus', () => {
  it('counts done, running and failed shards per phase, and error rows', async () => {
    const dir = join(tmp, 'a');
    const run = await RunDir.open(dir, config('dataset-mean'));
    let status = await runStatus(dir);
    assert.equal(status.plan, null);
    assert.deepEqual(
      status.phases.map((p) => [p.phase, p.done, p.total]),
      [
        ['stats', 0, null],
        ['main', 0, null],
      ],
    );
    assert.match(formatStatus(status), /plan: not written yet/);

    await run.writePlan(makePlan(45, null, 10));
    await finish(run, 'stats', 0, 0); // the stats pre-pass works in blocks of STATS_BLOCK images: one here
    await finish(run, 'main', 0, 2);
    await finish(run, 'main', 4, 1);
    assert.ok(await run.claim('main', 1, { owner: 'worker-1', leaseMs: 60_000 }));
    assert.ok(await run.claim('main', 2, { owner: 'worker-2', leaseMs: 60_000 }));
    await run.recordFailure('main', 3, new Error('boom'));
    await run.recordFailure('main', 0, new Error('an earlier attempt, since finished')); // done wins over failed

    status = await runStatus(dir);
    assert.deepEqual(status.plan, { datasetSize: 45, limit: null, shardSize: 10, shardCount: 5 });
    const [stats, main] = status.phases;
    assert.deepEqual(
      { ...stats, runners: undefined },
      { phase: 'stats', done: 1, total: 1, failed: 0, running: 0, runners: undefined, stale: [], outsidePlan: [] },
    );
    assert.deepEqual(
      { ...main, runners: undefined },
      { phase: 'main', done: 2, total: 5, failed: 1, running: 2, runners: undefined, stale: [], outsidePlan: [] },
    );
    assert.deepEqual(
      main!.runners.map((r) => [r.shard, r.owner]),
      [
        [1, 'worker-1'],
        [2, 'worker-2'],
      ],
    );
    assert.equal(status.errors, 3);
    assert.equal(status.imagesDone, 15);

    const text = formatStatus(status, { verbose: true });
    assert.match(text, /run demo in /);
    assert.match(text, /plan: 45 images in 5 shards of 10/);
    assert.match(text, /stats\s+1\/1 shards done \(100%\), complete/);
    assert.match(text, /main\s+2\/5 shards done \(40%\), 2 running, 1 failed/);
    assert.match(text, /shard 1: worker-1 on /);
    assert.match(text, /errors: 3 image\(s\)/);
  });

  it('has no stats phase with a zero fill, ignores expired leases, and only reads', async () => {
    const dir = join(tmp, 'b');
    const run = await RunDir.open(dir, config('zero'), { now: () => Date.now() - 3_600_000 });
    await run.writePlan(makePlan(45, 20, 10));
    assert.ok(await run.claim('main', 0, { owner: 'gone', leaseMs: 1000 }));
    const before = (await fs.readdir(dir, { recursive: true })).sort();
    const status = await runStatus(dir);
    assert.deepEqual(
      status.phases.map((p) => [p.phase, p.done, p.total, p.running]),
      [['main', 0, 2, 0]],
    );
    assert.match(formatStatus(status), /plan: 20 images \(--limit 20 of 45\) in 2 shards of 10/);
    assert.match(formatStatus(status), /errors: none/);
    assert.deepEqual((await fs.readdir(dir, { recursive: true })).sort(), before);
  });

  it('names the folder when it is not a run directory', async () => {
    await assert.rejects(runStatus(join(tmp, 'nothing')), /config\.yaml is missing: this is not an sglrp run directory/);
  });
});
