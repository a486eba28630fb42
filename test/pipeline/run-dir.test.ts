import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { parseConfig, type RunConfig } from '../../pipeline/config.js';
import { ConfigMismatchError, PlanMismatchError, RunDir, makePlan } from '../../pipeline/run-dir.js';
import { parseLock } from '../../pipeline/claims.js';
import { TABLES } from '../../results/schemas.js';
import { writeTableAtomic } from '../../results/table-io.js';

const tmp = await mkdtemp(join(tmpdir(), 'run-dir-'));
after(() => fs.rm(tmp, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = () => join(tmp, `run-${dirCount++}`);

/** A model file whose bytes make up the run's identity (RunDir.open hashes them). */
const MODEL_PATH = join(tmp, 'model.json');
await fs.writeFile(MODEL_PATH, JSON.stringify({ modelTopology: {}, weightsManifest: [] }));

const CONFIG: RunConfig = parseConfig(
  {
    name: 't',
    dataset: { kind: 'digits-pair', count: 20 },
    model: { path: MODEL_PATH, preprocess: 'unit', geometry: 'resize', size: 64 },
    shardSize: 10,
  },
  'test',
);

/** Every file under a folder with its bytes, to prove a refused open changed nothing. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    out.set(path, entry.isFile() ? (await fs.readFile(path)).toString('base64') : 'dir');
  }
  return out;
}

/** Write one errors-table shard and mark it done. */
async function finishShard(run: RunDir, phase: string, shard: number, errorRows = 1) {
  const rows = Array.from({ length: errorRows }, (_, i) => ({
    image_id: `img${i}`,
    image_index: shard * 10 + i,
    stage: 'read',
    reason: 'truncated JPEG',
  }));
  const written = await writeTableAtomic(run.tablePath('errors', shard), TABLES.errors, rows);
  return run.markDone(phase, shard, { files: [{ table: 'errors', ...written }], imageCount: 10, backend: 'cpu', seconds: 1.5 });
}

/**
 * Race claimers in worker threads: each opens the run directory, waits for the start signal,
 * then tries to claim every shard. Returns the shards each worker won.
 */
async function raceClaimers(
  dir: string,
  config: RunConfig,
  shards: number,
  workers: number,
  options: { leaseMs: number },
): Promise<number[][]> {
  const url = new URL('../../pipeline/run-dir.js', import.meta.url).href;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.url).then(async ({ RunDir }) => {
      const run = await RunDir.open(workerData.dir, workerData.config);
      parentPort.once('message', async () => {
        const won = [];
        for (let s = 0; s < workerData.shards; s++) {
          const claim = await run.claim('main', s, { leaseMs: workerData.leaseMs, owner: 'w' + workerData.id });
          if (claim) won.push(s);
        }
        parentPort.postMessage(won);
      });
      parentPort.postMessage('ready');
    });`;
  const threads = Array.from(
    { length: workers },
    (_, id) => new Worker(code, { eval: true, workerData: { url, dir, config, shards, leaseMs: options.leaseMs, id } }),
  );
  const ready = threads.map(
    (w) =>
      new Promise<void>((res, rej) => {
        w.once('message', () => res());
        w.once('error', rej);
      }),
  );
  await Promise.all(ready);
  const results = threads.map(
    (w) =>
      new Promise<number[]>((res, rej) => {
        w.once('message', res);
        w.once('error', rej);
      }),
  );
  for (const w of threads) w.postMessage('go');
  const won = await Promise.all(results);
  await Promise.all(threads.map((w) => w.terminate()));
  return won;
}

function assertExactlyOneWinner(won: number[][], shards: number): void {
  const all = won.flat().sort((a, b) => a - b);
  assert.deepEqual(
    all,
    Array.from({ length: shards }, (_, i) => i),
    `each shard won exactly once (per worker: ${won.map((w) => w.length).join(', ')})`,
  );
}

describe('RunDir.open', () => {
  it('creates the directory with the resolved config and its hash', async () => {
    const dir = freshDir();
    const run = await RunDir.open(dir, CONFIG);
    assert.equal((await fs.readFile(join(dir, 'config.hash'), 'utf8')).trim(), run.hash);
    assert.match(await fs.readFile(join(dir, 'config.yaml'), 'utf8'), /name: t/);
    for (const sub of ['tables', 'manifest', 'claims']) assert.ok((await fs.stat(join(dir, sub))).isDirectory());
    const reopened = await RunDir.openExisting(dir);
    assert.deepEqual(reopened.config, CONFIG);
    assert.equal(reopened.hash, run.hash);
    // A result-neutral change (workers) resumes fine.
    await RunDir.open(dir, { ...CONFIG, workers: 3, backend: 'wasm' });
  });

  it('refuses a different config, naming the fields, and changes nothing', async () => {
    const dir = freshDir();
    const run = await RunDir.open(dir, CONFIG);
    await finishShard(run, 'main', 0);
    const before = await snapshot(dir);
    const other = { ...CONFIG, variant: 'reference' as const, masking: { ...CONFIG.masking, fill: 'zero' as const }, workers: 5 };
    await assert.rejects(RunDir.open(dir, other), (err: unknown) => {
      assert.ok(err instanceof ConfigMismatchError);
      assert.deepEqual(err.fields, ['masking.fill', 'variant']);
      assert.match(err.message, /variant: "paper" → "reference"/);
      assert.match(err.message, /masking\.fill: "dataset-mean" → "zero"/);
      assert.doesNotMatch(err.message, /workers/);
      assert.match(err.message, /Nothing was changed/);
      return true;
    });
    assert.deepEqual(await snapshot(dir), before);
  });

  it('refuses a non-empty folder that is not a run directory', async () => {
    const dir = freshDir();
    await fs.mkdir(dir);
    await fs.writeFile(join(dir, 'thesis.tex'), '...');
    await assert.rejects(RunDir.open(dir, CONFIG), /is not an sglrp run directory.*thesis\.tex/);
    assert.deepEqual(await fs.readdir(dir), ['thesis.tex']);
  });

  it('lets one of many simultaneous first opens create it, the rest agree', async () => {
    const dir = freshDir();
    const runs = await Promise.all(Array.from({ length: 5 }, () => RunDir.open(dir, CONFIG)));
    assert.equal(new Set(runs.map((r) => r.hash)).size, 1);
    const different = { ...CONFIG, seed: 9 };
    await assert.rejects(RunDir.open(dir, different), (err: unknown) => err instanceof ConfigMismatchError && err.fields.join() === 'seed');
  });
});

describe('plan', () => {
  it('writes once, reads back, refuses a different plan naming the fields', async () => {
    const run = await RunDir.open(freshDir(), CONFIG);
    assert.equal(await run.readPlan(), undefined);
    const plan = makePlan(20, null, 10);
    assert.deepEqual(plan, { datasetSize: 20, limit: null, shardSize: 10, shardCount: 2 });
    await run.writePlan(plan);
    assert.deepEqual(await run.readPlan(), plan);
    await run.writePlan(makePlan(20, null, 10)); // same plan from another node: fine
    await assert.rejects(
      run.writePlan(makePlan(25, 15, 10)),
      (err: unknown) => err instanceof PlanMismatchError && err.fields.join() === 'datasetSize,limit',
    );
    await assert.rejects(run.writePlan({ ...plan, shardCount: 3 }), /shardCount 3 does not match/);
    await assert.rejects(run.writePlan(makePlan(20, null, 5)), /differs from the config's shardSize 10/);
  });
});

describe('claims', () => {
  it('a live lease blocks others; release frees it', async () => {
    const run = await RunDir.open(freshDir(), CONFIG);
    const a = await run.claim('main', 3, { leaseMs: 60_000, owner: 'a' });
    assert.ok(a);
    const lock = parseLock(await fs.readFile(run.claimPath('main', 3)));
    assert.equal(lock?.owner, 'a');
    assert.equal(lock?.shard, 3);
    assert.equal(await run.claim('main', 3, { leaseMs: 60_000, owner: 'b' }), null);
    assert.ok(await run.claim('stats', 3, { leaseMs: 60_000, owner: 'b' }), 'another phase is another lock');
    assert.equal((await run.running('main')).length, 1);
    assert.ok(await a.renew());
    await a.release();
    await assert.rejects(fs.stat(run.claimPath('main', 3)), { code: 'ENOENT' });
    assert.ok(await run.claim('main', 3, { leaseMs: 60_000, owner: 'b' }));
  });

  it('two concurrent claimers never both win a shard', async () => {
    const dir = freshDir();
    await RunDir.open(dir, CONFIG);
    const won = await raceClaimers(dir, CONFIG, 150, 2, { leaseMs: 60_000 });
    assertExactlyOneWinner(won, 150);
  });

  it('a stale lease is taken over by exactly one of several racing takers', async () => {
    const dir = freshDir();
    const run = await RunDir.open(dir, CONFIG, { now: () => Date.now() - 3_600_000 });
    // Leases that ended an hour ago (their owner "died").
    for (let s = 0; s < 100; s++) assert.ok(await run.claim('main', s, { leaseMs: 1000, owner: 'dead' }));
    const won = await raceClaimers(dir, CONFIG, 100, 3, { leaseMs: 60_000 });
    assertExactlyOneWinner(won, 100);
    for (let s = 0; s < 100; s++) assert.notEqual(parseLock(await fs.readFile(run.claimPath('main', s)))?.owner, 'dead');
  });

  it('takes over an expired lease; the old holder learns it lost and cannot remove the new lock', async () => {
    let now = 1_000_000;
    const opts = { now: () => now, staleGraceMs: 100 };
    const dir = freshDir();
    const runA = await RunDir.open(dir, CONFIG, { ...opts, host: 'A' });
    const runB = await RunDir.open(dir, CONFIG, { ...opts, host: 'B' });
    const a = await runA.claim('main', 0, { leaseMs: 1000, owner: 'a' });
    assert.ok(a);
    now += 1050; // expired, but inside the grace period: not yet stale
    assert.equal(await runB.claim('main', 0, { leaseMs: 1000, owner: 'b' }), null);
    now += 100;
    const b = await runB.claim('main', 0, { leaseMs: 1000, owner: 'b' });
    assert.ok(b, 'stale lease taken over');
    assert.equal(await a.renew(), false);
    assert.equal(a.lost, true);
    await a.release();
    assert.equal(parseLock(await fs.readFile(runB.claimPath('main', 0)))?.owner, 'b');
    assert.ok(await b.renew());
  });

  it('waits for a takeover in progress, and recovers from a taker that died mid-takeover', async () => {
    const dir = freshDir();
    const old = await RunDir.open(dir, CONFIG, { now: () => Date.now() - 3_600_000 });
    const dead = await old.claim('main', 0, { leaseMs: 1000, owner: 'dead' });
    assert.ok(dead);
    // Another taker holds the takeover marker for this stale lease.
    await fs.writeFile(`${old.claimPath('main', 0)}.takeover-${dead.token}-1`, 'someone');
    const patient = await RunDir.open(dir, CONFIG, { takeoverTimeoutMs: 60_000 });
    assert.equal(await patient.claim('main', 0, { owner: 'p' }), null, 'a recent marker means someone is taking over');
    const later = await RunDir.open(dir, CONFIG, { now: () => Date.now() + 120_000, takeoverTimeoutMs: 60_000 });
    const claim = await later.claim('main', 0, { owner: 'late' });
    assert.ok(claim, 'a marker older than the takeover timeout is skipped');
    assert.equal(parseLock(await fs.readFile(later.claimPath('main', 0)))?.owner, 'late');
  });

  it('keepAlive renews the lease', async () => {
    const run = await RunDir.open(freshDir(), CONFIG);
    const claim = await run.claim('main', 1, { leaseMs: 300, owner: 'k' });
    assert.ok(claim);
    const first = claim.expiresAt;
    const stop = claim.keepAlive({ intervalMs: 30 });
    await new Promise((r) => setTimeout(r, 200));
    stop();
    assert.ok(claim.expiresAt > first, 'expiry moved forward');
    assert.ok(parseLock(await fs.readFile(run.claimPath('main', 1)))!.expiresAt > first);
  });
});

describe('manifest', () => {
  it('markDone writes the record, releases the claim, and isDone sees it', async () => {
    const run = await RunDir.open(freshDir(), CONFIG, { host: 'node-7' });
    assert.equal(await run.isDone('main', 0), false);
    const claim = await run.claim('main', 0, { owner: 'me' });
    assert.ok(claim);
    await run.recordFailure('main', 0, new Error('out of memory'));
    assert.equal((await run.failures('main'))[0]?.attempts, 1);
    const record = await finishShard(run, 'main', 0, 3);
    assert.deepEqual(
      record.files.map((f) => [f.table, f.path, f.rows]),
      [['errors', 'tables/errors/shard-00000.arrow', 3]],
    );
    assert.equal(record.host, 'node-7');
    assert.equal(record.imageCount, 10);
    const onDisk = JSON.parse(await fs.readFile(run.manifestPath('main', 0), 'utf8'));
    assert.deepEqual(onDisk, record);
    assert.equal(await run.isDone('main', 0), true);
    assert.equal(await run.isDone('main', 0, { verify: true }), true);
    await assert.rejects(fs.stat(run.claimPath('main', 0)), { code: 'ENOENT' }, 'claim released');
    assert.equal(claim.lost, true);
    assert.deepEqual(await run.failures('main'), [], 'failure record cleared');
    assert.deepEqual(
      (await run.finished('main')).map((r) => r.shard),
      [0],
    );
    assert.deepEqual(await run.finished('stats'), []);
  });

  it('refuses to mark done with a missing file', async () => {
    const run = await RunDir.open(freshDir(), CONFIG);
    await assert.rejects(
      run.markDone('main', 1, {
        files: [{ table: 'forward', path: run.tablePath('forward', 1), rows: 0, sha256: '0'.repeat(64) }],
        imageCount: 10,
        backend: 'cpu',
        seconds: 0,
      }),
      /tables\/forward\/shard-00001\.arrow does not exist/,
    );
    assert.equal(await run.isDone('main', 1), false);
  });

  it('detects an altered shard file (verify), moves the record aside, and the shard is redone', async () => {
    const dir = freshDir();
    const run = await RunDir.open(dir, CONFIG);
    await finishShard(run, 'main', 0, 5);
    const file = run.tablePath('errors', 0);
    const bytes = await fs.readFile(file);
    bytes[bytes.length >> 1]! ^= 0xff; // same size: only the checksum can tell
    await fs.writeFile(file, bytes);
    assert.equal(await run.isDone('main', 0), true, 'without verify only sizes are checked');
    const check = await run.checkDone('main', 0, { verify: true });
    assert.equal(check.done, false);
    assert.match(!check.done ? check.reason : '', /does not match its sha256/);
    const rejected = await fs.readdir(join(dir, 'manifest', 'rejected'));
    assert.equal(rejected.filter((n) => n.endsWith('.json')).length, 1);
    assert.match(
      await fs.readFile(
        join(
          dir,
          'manifest',
          'rejected',
          rejected.find((n) => n.endsWith('.txt'))!,
        ),
        'utf8',
      ),
      /sha256/,
    );
    assert.equal(await run.isDone('main', 0), false, 'record gone: the shard will be recomputed');
    assert.ok(await run.claim('main', 0, { owner: 'redo' }));
  });

  it('detects a truncated or missing shard file without verify', async () => {
    const run = await RunDir.open(freshDir(), CONFIG);
    await finishShard(run, 'main', 0);
    await finishShard(run, 'main', 1);
    const file0 = run.tablePath('errors', 0);
    await fs.truncate(file0, (await fs.stat(file0)).size - 10);
    assert.deepEqual(await run.checkDone('main', 0), {
      done: false,
      reason:
        'tables/errors/shard-00000.arrow has ' +
        (await fs.stat(file0)).size +
        ' bytes, the manifest says ' +
        ((await fs.stat(file0)).size + 10) +
        ' (truncated or rewritten)',
    });
    await fs.rm(run.tablePath('errors', 1));
    assert.equal(await run.isDone('main', 1), false);
  });

  it('rejects a manifest that is not JSON or names another shard', async () => {
    const run = await RunDir.open(freshDir(), CONFIG);
    await fs.writeFile(run.manifestPath('main', 4), '{"phase": "main", "sha');
    const check4 = await run.checkDone('main', 4);
    assert.equal(check4.done, false);
    assert.match(!check4.done ? check4.reason : '', /^manifest is not valid JSON/);
    const record = await finishShard(run, 'main', 5);
    await fs.writeFile(run.manifestPath('main', 6), JSON.stringify(record));
    const check = await run.checkDone('main', 6);
    assert.match(!check.done ? check.reason : '', /manifest is for main shard 5/);
  });

  it('names paths as the layout says', async () => {
    const run = await RunDir.open(freshDir(), CONFIG);
    assert.ok(run.tablePath('masking', 42).endsWith(join('tables', 'masking', 'shard-00042.arrow')));
    assert.ok(run.manifestPath('stats', 7).endsWith(join('manifest', 'stats-00007.json')));
    assert.ok(run.claimPath('main', 7).endsWith(join('claims', 'main-00007.lock')));
    assert.throws(() => run.manifestPath('Main-x', 1), /phase "Main-x"/);
    assert.throws(() => run.relativePath('/etc/passwd'), /not inside the run directory/);
  });
});
