/**
 * Crash safety through the real CLI (child processes): kill -9 at chosen moments, dying workers,
 * damaged shard files, concurrent nodes, a full disk, and 1 vs 2 worker threads. The moments are
 * made wide and deterministic by the test-only hooks of pipeline/test-hooks.ts (SGLRP_TEST_*).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../engine/backend.js';
import { mergedTables, saveDigitsLikeModel, writeRunConfig } from '../util/run-fixture.js';
import { cli, killAt } from './cli-child.js';

const dir = mkdtempSync(join(tmpdir(), 'sglrp-crash-'));
let modelPath = '';
let cfg = '';
let baseline: Record<string, string[]> = {};

const manifests = (out: string, phase = 'main') =>
  readdirSync(join(out, 'manifest'))
    .filter((f) => f.startsWith(`${phase}-`))
    .sort();

/** Temp files (of interrupted writes) in one table's folder. */
const temps = (out: string, table: string) => readdirSync(join(out, 'tables', table)).filter((f) => f.includes('.tmp-'));

/** `at <point> <phase> <shard>` trace lines of the test hooks, as "point phase shard" strings. */
function traces(stderr: string, point: string): string[] {
  return [...stderr.matchAll(new RegExp(`sglrp-test: at ${point} (\\w+) (\\d+)`, 'g'))].map((m) => `${m[1]} ${m[2]}`);
}

test.before(async () => {
  await initBackend('cpu');
  modelPath = await saveDigitsLikeModel(join(dir, 'model'));
  // 12 images in 4 main shards of 3, batches of 2 (so a shard has a "middle"), one stats shard.
  cfg = writeRunConfig(dir, modelPath, { dataset: { kind: 'digits-pair', split: 'test', count: 12, seed: 3 }, shardSize: 3, batchSize: 2 });
  const r = await cli(['run', cfg, '--out', join(dir, 'baseline'), '--no-report']);
  assert.equal(r.code, 0, r.stderr);
  baseline = await mergedTables(join(dir, 'baseline'));
  const ids = baseline['forward']!.map((row) => (JSON.parse(row) as { image_id: string }).image_id);
  assert.equal(ids.length, 12);
  assert.equal(new Set(ids).size, 12);
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('kill -9 during model load, mid-shard, while a table is written and before the manifest; each restart resumes to identical tables', async () => {
  const out = join(dir, 'killed');
  const args = ['run', cfg, '--out', out, '--no-report'];
  await killAt(args, { SGLRP_TEST_DELAY_AT: 'model-load' }, /at model-load/);
  assert.deepEqual(existsSync(join(out, 'manifest')) ? manifests(out) : [], []);

  await killAt(args, { SGLRP_TEST_DELAY_AT: 'mid-shard@main:1' }, /at mid-shard main 1/);
  assert.deepEqual(manifests(out, 'stats'), ['stats-00000.json']);
  assert.deepEqual(manifests(out), ['main-00000.json']);

  await killAt(args, { SGLRP_TEST_DELAY_AT: 'write-table@main:2' }, /at write-table main 2/);
  assert.ok(existsSync(join(out, 'tables', 'forward', 'shard-00002.arrow')), 'the first table of shard 2 was in place');
  assert.equal(temps(out, 'relevance').length, 1, 'the second was being written');
  assert.ok(!existsSync(join(out, 'tables', 'relevance', 'shard-00002.arrow')));
  assert.deepEqual(manifests(out), ['main-00000.json', 'main-00001.json']);

  await killAt(args, { SGLRP_TEST_DELAY_AT: 'manifest@main:3' }, /at manifest main 3/);
  assert.ok(existsSync(join(out, 'tables', 'errors', 'shard-00003.arrow')), 'every table of shard 3 was written');
  assert.deepEqual(manifests(out), ['main-00000.json', 'main-00001.json', 'main-00002.json']);

  // The restart computes only shard 3 (its tables without a manifest do not count as done).
  const r = await cli(args, { SGLRP_TEST_TRACE: '1' });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(traces(r.stderr, 'manifest'), ['main 3']);
  assert.deepEqual(await mergedTables(out), baseline);
  for (const table of readdirSync(join(out, 'tables'))) assert.deepEqual(temps(out, table), [], `stale temp files in tables/${table}`);
});

test('a worker that throws, or aborts out of memory, is retried a bounded number of times, then recorded as failed; a rerun completes', async () => {
  const out = join(dir, 'failing');
  const counter = join(dir, 'fail-counter');
  const r = await cli(['run', cfg, '--out', out, '--no-report'], {
    SGLRP_TEST_FAIL: 'main:1:throw,main:2:oom:1',
    SGLRP_TEST_FAIL_COUNTER: counter,
  });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /main shard 1: attempt 3\/3 failed: test-injected failure in main shard 1/);
  assert.doesNotMatch(r.stderr, /attempt 4/);
  assert.match(r.stderr, /main shard 1: failed 3 times, recorded in failures\/main-00001\.json/);
  assert.match(r.stderr, /main shard 2: attempt 1\/3 failed: .*Out of memory/);
  assert.match(r.stderr, /not complete yet/);
  // Shard 2's out-of-memory worker was replaced and the retry finished it; 0 and 3 are untouched.
  assert.deepEqual(manifests(out), ['main-00000.json', 'main-00002.json', 'main-00003.json']);
  const failure = JSON.parse(readFileSync(join(out, 'failures', 'main-00001.json'), 'utf8')) as { attempts: number; message: string };
  assert.equal(failure.attempts, 3);
  assert.match(failure.message, /test-injected failure in main shard 1/);
  assert.ok(!existsSync(join(out, 'failures', 'main-00002.json')), 'a shard that finished has no failure record');
  const status = await cli(['status', out]);
  assert.match(status.stdout, /main\s+3\/4 shards done \(75%\), 1 failed/);

  const again = await cli(['run', cfg, '--out', out, '--no-report']);
  assert.equal(again.code, 0, again.stderr);
  assert.ok(!existsSync(join(out, 'failures', 'main-00001.json')));
  assert.deepEqual(await mergedTables(out), baseline);
});

test('a shard file truncated or altered after it was written is reported by status and report, never merged, and recomputed by the next run', async () => {
  const out = join(dir, 'damaged');
  cpSync(join(dir, 'baseline'), out, { recursive: true });
  const truncated = join(out, 'tables', 'masking', 'shard-00001.arrow');
  truncateSync(truncated, Math.floor(statSync(truncated).size / 2));
  const altered = join(out, 'tables', 'forward', 'shard-00002.arrow');
  const bytes = readFileSync(altered);
  bytes[bytes.length >> 1]! ^= 0xff; // same size, other content: only the checksum can tell
  writeFileSync(altered, bytes);

  const status = await cli(['status', out]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /damaged: main shard 1: tables\/masking\/shard-00001\.arrow is truncated or rewritten/);

  const report = await cli(['report', out]);
  assert.equal(report.code, 0, report.stderr);
  const md = readFileSync(join(out, 'report', 'report.md'), 'utf8');
  assert.match(md, /masking\/shard-00001\.arrow/);
  assert.match(md, /forward\/shard-00002\.arrow/);

  const r = await cli(['run', cfg, '--out', out, '--no-report'], { SGLRP_TEST_TRACE: '1' });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(traces(r.stderr, 'manifest').sort(), ['main 1', 'main 2']);
  const reasons = readdirSync(join(out, 'manifest', 'rejected'))
    .filter((f) => f.endsWith('.reason.txt'))
    .map((f) => readFileSync(join(out, 'manifest', 'rejected', f), 'utf8'));
  assert.equal(reasons.length, 2);
  assert.ok(reasons.some((x) => /truncated or rewritten/.test(x)));
  assert.ok(reasons.some((x) => /sha256/.test(x)));
  assert.deepEqual(await mergedTables(out), baseline);
});

test('two nodes started with the same index, or with overlapping parts, compute every shard once and write no duplicate rows', async () => {
  for (const [name, a, b] of [
    ['same-index', ['--shard-index', '0', '--shard-count', '1'], ['--shard-index', '0', '--shard-count', '1']],
    ['overlap', ['--shard-index', '0', '--shard-count', '2'], []],
  ] as const) {
    const out = join(dir, name);
    const env = { SGLRP_TEST_TRACE: '1' };
    const [ra, rb] = await Promise.all([
      cli(['run', cfg, '--out', out, '--no-report', ...a], env),
      cli(['run', cfg, '--out', out, '--no-report', ...b], env),
    ]);
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    // Each shard's tables were written by exactly one process (the one that reached its manifest).
    const written = [...traces(ra.stderr, 'manifest'), ...traces(rb.stderr, 'manifest')].sort();
    assert.deepEqual(written, ['main 0', 'main 1', 'main 2', 'main 3', 'stats 0'], `${name}: ${written.join(', ')}`);
    assert.deepEqual(await mergedTables(out), baseline, name);
  }
});

test('a full disk while writing stops the run with a clear error; finished shards stay valid and a rerun completes', async () => {
  const out = join(dir, 'full');
  const r = await cli(['run', cfg, '--out', out, '--no-report'], { SGLRP_TEST_ENOSPC: join('tables', 'pointing', 'shard-00002') });
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /sglrp: no space left on device while writing main shard 2 .*The run stopped; the 3 shard\(s\) finished so far are kept/,
  );
  assert.doesNotMatch(r.stderr, /attempt 2\/3/, 'a full disk is not retried');
  assert.deepEqual(manifests(out), ['main-00000.json', 'main-00001.json'], 'no shard after the failing one was started');
  assert.deepEqual(temps(out, 'pointing'), [], 'no temp file is left behind');
  const status = await cli(['status', out]);
  assert.doesNotMatch(status.stdout, /damaged/);

  const again = await cli(['run', cfg, '--out', out, '--no-report'], { SGLRP_TEST_TRACE: '1' });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(traces(again.stderr, 'manifest'), ['main 2', 'main 3'], 'the finished shards verified and were kept');
  assert.deepEqual(await mergedTables(out), baseline);
});

test('two worker threads give tables identical to one', async () => {
  const out = join(dir, 'two-workers');
  const r = await cli(['run', cfg, '--out', out, '--no-report', '--workers', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /2 worker thread\(s\)/);
  assert.deepEqual(await mergedTables(out), baseline);
});
