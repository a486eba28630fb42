/**
 * Dead, stopped and colliding lease holders (docs/PROTOCOL.md §9): a run exits 0 only when every
 * shard of its part is done; shards leased by a dead node or a stopped process are waited for and
 * taken over when the lease ends; a lease's holder is known by more than host and pid.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../engine/backend.js';
import { parseConfig } from '../../pipeline/config.js';
import { processIdentity } from '../../pipeline/process-identity.js';
import { RunDir } from '../../pipeline/run-dir.js';
import { formatStatus, runStatus } from '../../pipeline/status.js';
import { mergedTables, saveDigitsLikeModel, writeRunConfig } from '../util/run-fixture.js';
import { cli, killAt, signalAt } from './cli-child.js';

const dir = mkdtempSync(join(tmpdir(), 'sglrp-leases-'));
let modelPath = '';
let cfg = '';
let baseline: Record<string, string[]> = {};
/** Short leases, so that waiting for a dead holder takes seconds. */
const LEASE = { SGLRP_LEASE_MS: '1500' };

const manifests = (out: string) =>
  readdirSync(join(out, 'manifest'))
    .filter((f) => f.startsWith('main-'))
    .sort();
const ALL = ['main-00000.json', 'main-00001.json', 'main-00002.json', 'main-00003.json'];

function traces(stderr: string, point: string): string[] {
  return [...stderr.matchAll(new RegExp(`sglrp-test: at ${point} (\\w+) (\\d+)`, 'g'))].map((m) => `${m[1]} ${m[2]}`);
}

test.before(async () => {
  await initBackend('cpu');
  modelPath = await saveDigitsLikeModel(join(dir, 'model'));
  // 12 images in 4 main shards of 3, batches of 2 (so a shard has a "middle").
  cfg = writeRunConfig(dir, modelPath, { dataset: { kind: 'digits-pair', split: 'test', count: 12, seed: 3 }, shardSize: 3, batchSize: 2 });
  const r = await cli(['run', cfg, '--out', join(dir, 'baseline'), '--no-report']);
  assert.equal(r.code, 0, r.stderr);
  baseline = await mergedTables(join(dir, 'baseline'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a shard leased by a dead node is waited for and taken over; the rerun exits 0 only with every shard done', async () => {
  const out = join(dir, 'dead-node');
  const args = ['run', cfg, '--out', out, '--no-report'];
  await killAt(args, { ...LEASE, SGLRP_TEST_DELAY_AT: 'mid-shard@main:1' }, /at mid-shard main 1/);
  const lockPath = join(out, 'claims', 'main-00001.lock');
  assert.ok(existsSync(lockPath));

  // The killed holder ran here: status calls its lease stale, not running.
  const status = await cli(['status', out, '--verbose']);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /main\s+1\/4 shards done \(25%\), 1 stale/);
  assert.doesNotMatch(status.stdout, /running/);
  assert.match(status.stdout, /shard 1: stale, .* is gone/);

  // Now make it another node's lease that was renewed just before that node died. It must still
  // be live when the rerun has done the other shards and starts waiting (seconds on a loaded
  // machine), so it runs 15 s from now.
  const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(lockPath, JSON.stringify({ ...lock, host: 'node07', expiresAt: Date.now() + 15_000 }));
  const r = await cli(args, { ...LEASE, SGLRP_TEST_TRACE: '1' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /main: waiting for 1 shard leased by node07:\d+ until \d\d:\d\d:\d\d/);
  assert.deepEqual(manifests(out), ALL);
  assert.ok(traces(r.stderr, 'manifest').includes('main 1'), "the rerun computed the dead node's shard");
  assert.match(r.stderr, /main: 4\/4 shards done/);
  assert.deepEqual(await mergedTables(out), baseline);
});

test("of two concurrent processes, the one that runs out of shards first waits for the other's before exiting 0", async () => {
  const out = join(dir, 'concurrent');
  const args = ['run', cfg, '--out', out, '--no-report'];
  // A takes main shard 0 and sits on it (alive, renewing its lease) while B does the rest.
  const a = cli(args, { SGLRP_TEST_DELAY_AT: 'mid-shard@main:0', SGLRP_TEST_DELAY_MS: '12000' });
  const lock = join(out, 'claims', 'main-00000.lock');
  while (!existsSync(lock)) await new Promise((r) => setTimeout(r, 50));
  const b = await cli(args, { SGLRP_TEST_TRACE: '1' });
  assert.equal(b.code, 0, b.stderr);
  assert.deepEqual(manifests(out), ALL, "B exited 0 only once A's shard was done too");
  assert.match(b.stderr, /main: waiting for 1 shard leased by .+:\d+ until \d\d:\d\d:\d\d/);
  assert.deepEqual(
    traces(b.stderr, 'manifest')
      .filter((x) => x.startsWith('main'))
      .sort(),
    ['main 1', 'main 2', 'main 3'],
  );
  const ra = await a;
  assert.equal(ra.code, 0, ra.stderr);
  assert.deepEqual(await mergedTables(out), baseline);
});

test("a rerun in a fresh PID namespace (pid 1 again) does not mistake the dead pid 1's lease for its own", async (t) => {
  // unshare needs root (or user namespaces); --kill-child takes the namespace down with it.
  const wrap = ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child'];
  if (spawnSync(wrap[0]!, [...wrap.slice(1), 'true']).status !== 0) return t.skip('unshare --pid is not permitted here');
  const out = join(dir, 'pid-namespace');
  const args = ['run', cfg, '--out', out, '--no-report'];
  await killAt(args, { ...LEASE, SGLRP_TEST_DELAY_AT: 'mid-shard@main:1' }, /at mid-shard main 1/, wrap);
  const lock = JSON.parse(readFileSync(join(out, 'claims', 'main-00001.lock'), 'utf8')) as { pid: number };
  assert.equal(lock.pid, 1, 'the killed run was pid 1 of its namespace');
  const r = await cli(args, { ...LEASE, SGLRP_TEST_TRACE: '1' }, wrap);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(manifests(out), ALL);
  assert.ok(traces(r.stderr, 'manifest').includes('main 1'), 'the rerun (pid 1 too) computed the shard');
  assert.deepEqual(await mergedTables(out), baseline);
});

test('a process stopped (SIGSTOP) while holding a lease does not let another exit 0 early; resumed, it leaves the shard to the taker', async () => {
  const out = join(dir, 'stopped');
  const args = ['run', cfg, '--out', out, '--no-report'];
  const a = signalAt(
    args,
    { ...LEASE, SGLRP_TEST_DELAY_AT: 'mid-shard@main:1', SGLRP_TEST_DELAY_MS: '1000' },
    /at mid-shard main 1/,
    'SIGSTOP',
  );
  await a.signalled;
  try {
    const b = await cli(args, { ...LEASE, SGLRP_TEST_TRACE: '1' });
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(manifests(out), ALL, "the second process finished the stopped one's shard before exiting 0");
    assert.ok(traces(b.stderr, 'manifest').includes('main 1'));
  } finally {
    a.child.kill('SIGCONT');
  }
  const ra = await a.done;
  assert.equal(ra.code, 0, ra.stderr);
  assert.match(ra.stderr, /main shard 1: this process's lease ran out while it worked/);
  assert.deepEqual(await mergedTables(out), baseline);
});

test('a lease is known by host, boot, PID namespace, pid and start time: a reused pid is not its holder, another namespace waits for expiry', async () => {
  const model = join(dir, 'tiny-model.json');
  writeFileSync(model, JSON.stringify({ modelTopology: {}, weightsManifest: [] }));
  const config = parseConfig(
    {
      name: 't',
      dataset: { kind: 'digits-pair', count: 20 },
      model: { path: model, preprocess: 'unit', geometry: 'resize', size: 64 },
      shardSize: 10,
    },
    'test',
  );
  const runPath = join(dir, 'identity');
  const run = await RunDir.open(runPath, config);
  const me = processIdentity();
  const now = Date.now();
  const lockOf = (shard: number, holder: Record<string, unknown>) =>
    writeFileSync(
      join(runPath, 'claims', `main-0000${shard}.lock`),
      JSON.stringify({ owner: 'ghost', token: `t${shard}`, phase: 'main', shard, acquiredAt: now, expiresAt: now + 60_000, ...holder }),
    );
  // Shard 0: "ran here" as a pid that is alive now (our parent) but started at another time: the
  // pid was reused, its holder is gone.
  lockOf(0, { host: me.host, pid: process.ppid, processToken: 'other', bootId: me.bootId, pidNamespace: me.pidNamespace, startTime: '1' });
  // Shard 1: the same pid and host, but from another PID namespace (another container): its pid
  // says nothing here, only the lease's expiry can tell.
  lockOf(1, {
    host: me.host,
    pid: process.pid,
    processToken: 'other',
    bootId: me.bootId,
    pidNamespace: 'pid:[1]',
    startTime: me.startTime,
  });

  const status = await runStatus(runPath);
  const main = status.phases.find((p) => p.phase === 'main')!;
  assert.deepEqual(
    main.stale.map((s) => s.shard),
    [0],
  );
  assert.deepEqual(
    main.runners.map((s) => s.shard),
    [1],
  );
  assert.match(formatStatus(status), /1 running, 1 stale/);

  assert.ok(await run.claim('main', 0, { leaseMs: 60_000 }), "the reused pid's lease is taken over at once");
  assert.equal(await run.claim('main', 1, { leaseMs: 60_000 }), null, 'a lease from another PID namespace is live until it expires');
});

test('a renewal extends a lease by its own length from now, however often it is renewed', async () => {
  const model = join(dir, 'tiny-model-2.json');
  writeFileSync(model, JSON.stringify({ modelTopology: {}, weightsManifest: [] }));
  const config = parseConfig(
    {
      name: 't',
      dataset: { kind: 'digits-pair', count: 20 },
      model: { path: model, preprocess: 'unit', geometry: 'resize', size: 64 },
      shardSize: 10,
    },
    'test',
  );
  let now = 1_000_000;
  const run = await RunDir.open(join(dir, 'renewals'), config, { now: () => now });
  const lease = (await run.claim('main', 0, { leaseMs: 1000 }))!;
  assert.equal(lease.expiresAt, now + 1000);
  for (let i = 0; i < 3; i++) {
    now += 900;
    assert.ok(await lease.renew());
    assert.equal(lease.expiresAt, now + 1000, `renewal ${i + 1}: a dead holder is still taken over one lease after its last renewal`);
  }
});
