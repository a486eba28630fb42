/**
 * Ctrl-C and SIGTERM through the real CLI: the terminal is given back (cursor shown, line wrap
 * on), the user is told how far the run got and how to go on, the exit code is the shell's for
 * the signal, and rerunning the same command finishes the run with the same tables as an
 * uninterrupted one. The Ctrl-C test runs the CLI in a real pseudo-terminal (util-linux `script`)
 * and types ^C into it, so the signal comes from the terminal's line discipline as for a user.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../engine/backend.js';
import { LINE_WRAP_ON, SHOW_CURSOR } from '../../pipeline/terminal.js';
import { CLI, mergedTables, runCli, saveDigitsLikeModel, writeRunConfig } from '../util/run-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'sglrp-interrupt-'));
let cfg = '';
let baseline: Record<string, string[]> = {};

const HIDE_CURSOR = '\x1b[?25l';
const LINE_WRAP_OFF = '\x1b[?7l';
/** Pause shard 1 of the main phase after its first batch: shard 0 is done by then (one worker). */
const PAUSE = { SGLRP_TEST_DELAY_AT: 'mid-shard@main:1', SGLRP_TEST_DELAY_MS: '30000' };
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

test.before(async () => {
  await initBackend('cpu');
  const modelPath = await saveDigitsLikeModel(join(dir, 'model'));
  // 12 images in 4 main shards of 3, batches of 2, one worker thread (so shards run in order).
  cfg = writeRunConfig(dir, modelPath, {
    dataset: { kind: 'digits-pair', split: 'test', count: 12, seed: 3 },
    shardSize: 3,
    batchSize: 2,
    workers: 1,
  });
  const r = runCli(['run', cfg, '--out', join(dir, 'baseline'), '--no-report']);
  assert.equal(r.code, 0, r.stderr);
  baseline = await mergedTables(join(dir, 'baseline'));
  assert.equal(baseline['forward']!.length, 12);
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

interface Stopped {
  code: number | null;
  output: string;
}

/**
 * Starts `command` and, once its output shows the paused shard, calls `interrupt`; resolves with
 * the exit code and everything written. Fails if the pause never shows.
 */
function interruptAtPause(command: string, args: string[], interrupt: (child: ReturnType<typeof spawn>) => void): Promise<Stopped> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...PAUSE } });
    let output = '';
    let sent = false;
    const onData = (d: Buffer) => {
      output += d.toString();
      if (!sent && /sglrp-test: at mid-shard main 1/.test(output)) {
        sent = true;
        interrupt(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) =>
      sent ? resolve({ code, output }) : reject(new Error(`the run ended (code ${code}) before the pause:\n${output}`)),
    );
  });
}

const finishedMain = (out: string) =>
  readdirSync(join(out, 'manifest'))
    .filter((f) => f.startsWith('main-'))
    .sort();

test(
  'Ctrl-C in a terminal: cursor and line wrap restored, "interrupted: 1 of 4 shards done", exit 130; a rerun completes with identical tables',
  { skip: hasScript ? false : 'util-linux `script` is not installed (it provides the pseudo-terminal)' },
  async () => {
    const out = join(dir, 'ctrl-c');
    const command = [process.execPath, CLI, 'run', cfg, '--out', out, '--no-report'].map((a) => `'${a}'`).join(' ');
    // -e: exit with the child's code; -f: flush at once; -q: no banner. ^C typed into the pty.
    const r = await interruptAtPause('script', ['-qefc', `exec ${command}`, '/dev/null'], (child) => child.stdin!.write('\x03'));
    assert.equal(r.code, 130, r.output);
    assert.ok(
      r.output.includes(HIDE_CURSOR) && r.output.includes(LINE_WRAP_OFF),
      'the bar did change the terminal (else this test proves nothing)',
    );
    const restoredAt = Math.min(r.output.lastIndexOf(SHOW_CURSOR), r.output.lastIndexOf(LINE_WRAP_ON));
    assert.ok(
      restoredAt > r.output.lastIndexOf(HIDE_CURSOR) && restoredAt > r.output.lastIndexOf(LINE_WRAP_OFF),
      `the terminal was left changed:\n${JSON.stringify(r.output.slice(-400))}`,
    );
    assert.match(r.output, /interrupted: 1 of 4 shards done; rerun the same command to resume/);
    assert.deepEqual(finishedMain(out), ['main-00000.json'], 'the finished shard stays finished');

    const again = runCli(['run', cfg, '--out', out, '--no-report']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await mergedTables(out), baseline);
  },
);

test('SIGTERM without a terminal: the same message, exit 143, no escape codes in the log; a rerun completes with identical tables', async () => {
  const out = join(dir, 'sigterm');
  const r = await interruptAtPause(process.execPath, [CLI, 'run', cfg, '--out', out, '--no-report'], (child) => child.kill('SIGTERM'));
  assert.equal(r.code, 143, r.output);
  assert.match(r.output, /interrupted: 1 of 4 shards done; rerun the same command to resume/);
  assert.ok(!r.output.includes('\x1b['), 'a log file gets no terminal codes');
  assert.deepEqual(finishedMain(out), ['main-00000.json']);

  const again = runCli(['run', cfg, '--out', out, '--no-report']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(await mergedTables(out), baseline);
});

test('any other exit of a process whose bar was not stopped (an exception, process.exit) restores the terminal too; a stopped bar adds nothing', () => {
  const terminal = new URL('../../pipeline/terminal.js', import.meta.url).href;
  const run = (body: string) =>
    spawnSync(process.execPath, ['--input-type=module', '-e', `import * as t from '${terminal}'; ${body}`], { encoding: 'utf8' });
  const thrown = run(`t.terminalTouched(); throw new Error('boom');`);
  assert.notEqual(thrown.status, 0);
  assert.match(thrown.stderr, /boom/);
  assert.ok(thrown.stderr.includes(`${SHOW_CURSOR}${LINE_WRAP_ON}`), JSON.stringify(thrown.stderr));
  const exited = run(`t.terminalTouched(); process.exit(3);`);
  assert.equal(exited.status, 3);
  assert.equal(exited.stderr, `${SHOW_CURSOR}${LINE_WRAP_ON}\n`);
  const stopped = run(`t.terminalTouched(); t.terminalRestored(); process.exit(0);`);
  assert.equal(stopped.stderr, '');
});
