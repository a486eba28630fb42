import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../engine/backend.js';
import { mergedTables, runCli, saveDigitsLikeModel, startCli, writeRunConfig } from '../util/run-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'sglrp-run-'));
let modelPath = '';
let baseline: Record<string, string[]> = {};

test.before(async () => {
  await initBackend('cpu');
  modelPath = await saveDigitsLikeModel(join(dir, 'model'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('sglrp run: a whole run writes every table, the mean image, examples and the report', async () => {
  const cfg = writeRunConfig(dir, modelPath);
  const r = runCli(['run', cfg, '--out', join(dir, 'a')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.trim(), /report[\\/]report\.html$/);
  assert.ok(existsSync(join(dir, 'a', 'stats', 'mean.npy')));
  assert.equal(readdirSync(join(dir, 'a', 'manifest')).filter((f) => f.startsWith('main-')).length, 4);
  assert.ok(existsSync(join(dir, 'a', 'examples', 'digits-pair-test-000000', 'sglrp_gt.png')));
  baseline = await mergedTables(join(dir, 'a'));
  assert.equal(baseline['forward']!.length, 24);
  assert.equal(baseline['masking']!.length, 24 * 7 * 2 * 5);
  assert.equal(baseline['pointing']!.length, 24 * 7 * 20);
  // A second run of the same command finds everything done and recomputes nothing.
  const again = runCli(['run', cfg, '--out', join(dir, 'a')]);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /\[main\]/);
});

test('another shard size and two nodes sharing a directory give identical merged tables', async () => {
  const cfg = writeRunConfig(dir, modelPath, { shardSize: 12 });
  assert.equal(runCli(['run', cfg, '--out', join(dir, 'b')]).code, 0);
  assert.deepEqual(await mergedTables(join(dir, 'b')), baseline);
  const base = writeRunConfig(dir, modelPath);
  const n0 = runCli(['run', base, '--out', join(dir, 'c'), '--shard-index', '0', '--shard-count', '2']);
  assert.equal(n0.code, 0, n0.stderr);
  assert.match(n0.stderr, /not complete yet/);
  const n1 = runCli(['run', base, '--out', join(dir, 'c'), '--shard-index', '1', '--shard-count', '2']);
  assert.equal(n1.code, 0, n1.stderr);
  assert.deepEqual(await mergedTables(join(dir, 'c')), baseline);
});

test('a run killed with SIGKILL mid-way resumes to tables identical to an uninterrupted run', async () => {
  const cfg = writeRunConfig(dir, modelPath);
  const out = join(dir, 'killed');
  const child = startCli(['run', cfg, '--out', out]);
  // Kill as soon as the first main shard is recorded (others are then in flight or not started).
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (existsSync(join(out, 'manifest', 'main-00000.json'))) {
        clearInterval(t);
        child.kill('SIGKILL');
        resolve();
      }
    }, 20);
    child.on('exit', () => {
      clearInterval(t);
      reject(new Error('the run finished before it could be killed'));
    });
  });
  await new Promise((r) => child.on('exit', r));
  const done = readdirSync(join(out, 'manifest')).filter((f) => f.startsWith('main-')).length;
  assert.ok(done < 4, `expected an unfinished run, ${done} shards done`);
  const resumed = runCli(['run', cfg, '--out', out]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(await mergedTables(out), baseline);
});

/** Every file under `root` with its size, modification time and content hash. */
function snapshot(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[]).sort().map((rel) => {
    const st = statSync(join(root, rel));
    return st.isDirectory()
      ? `${rel}/`
      : `${rel} ${st.size} ${st.mtimeMs} ${createHash('sha256')
          .update(readFileSync(join(root, rel)))
          .digest('hex')}`;
  });
}

test('a run directory made with a different config is refused, naming the fields, and left unchanged', () => {
  const before = snapshot(join(dir, 'a'));
  const other = writeRunConfig(dir, modelPath, { variant: 'reference', seed: 5 });
  const r = runCli(['run', other, '--out', join(dir, 'a')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /different config/);
  assert.match(r.stderr, /variant/);
  assert.match(r.stderr, /seed/);
  assert.match(r.stderr, /Nothing was changed/);
  assert.deepEqual(snapshot(join(dir, 'a')), before);
});
