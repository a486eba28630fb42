/**
 * The CLI as a child process, for the pipeline tests that attack real runs: run to the end, or
 * SIGKILL / SIGSTOP at a moment the test hooks of pipeline/test-hooks.ts (SGLRP_TEST_*) announce.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from '../util/run-fixture.js';

/** The hook variables, cleared for every child unless a test sets them. */
const HOOK_VARS = [
  'SGLRP_TEST_DELAY_AT',
  'SGLRP_TEST_DELAY_MS',
  'SGLRP_TEST_TRACE',
  'SGLRP_TEST_FAIL',
  'SGLRP_TEST_FAIL_COUNTER',
  'SGLRP_TEST_ENOSPC',
  'SGLRP_LEASE_MS',
];

export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
  for (const k of HOOK_VARS) delete env[k];
  return { ...env, ...extra };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node CLI args…`, or run through `wrap` (e.g. `unshare --pid --fork`). */
function spawnCli(args: string[], env: Record<string, string>, wrap: string[]): ChildProcess {
  const argv = [...wrap, process.execPath, CLI, ...args];
  return spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(env) });
}

/** Runs the CLI to its end (asynchronously, so several can run at once). */
export function cli(args: string[], env: Record<string, string> = {}, wrap: string[] = []): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, env, wrap);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts the CLI and SIGKILLs it as soon as stderr shows `pattern`; fails if it ends first. */
export function killAt(args: string[], env: Record<string, string>, pattern: RegExp, wrap: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, env, wrap);
    let stderr = '';
    let killed = false;
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!killed && pattern.test(stderr)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('close', (_code, signal) => {
      if (killed && signal === 'SIGKILL') resolve(stderr);
      else reject(new Error(`the run ended (signal ${signal}) before ${pattern} appeared:\n${stderr}`));
    });
  });
}

/** A CLI child that is sent `signal` (e.g. SIGSTOP) once stderr shows `pattern`; `done` is its end. */
export function signalAt(
  args: string[],
  env: Record<string, string>,
  pattern: RegExp,
  signal: NodeJS.Signals,
): { child: ChildProcess; signalled: Promise<void>; done: Promise<CliResult> } {
  const child = spawnCli(args, env, []);
  let stdout = '';
  let stderr = '';
  let sent = false;
  let markSent: () => void = () => undefined;
  const signalled = new Promise<void>((r) => (markSent = r));
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (!sent && pattern.test(stderr)) {
      sent = true;
      child.kill(signal);
      markSent();
    }
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, signalled, done };
}
