/**
 * The Slurm array job for real: `npm run test:slurm` (= SGLRP_SLURM_TEST=1 node --test
 * dist/test/slurm/slurm.js), run by .ci/run after `npm test`. Under plain `npm test` it is
 * skipped (see `enabled` below).
 *
 * Installs Debian's slurm-wlm and munge when missing (needs root and apt), starts a one-machine
 * cluster on localhost — munged with a generated key, slurmctld and slurmd with a slurm.conf
 * written here (the node line from `slurmd -C`, so CPUs and memory are the machine's) — submits
 * configs/slurm/sglrp-array.sbatch as an array of 4 tasks on a small digits-pair run, waits for
 * it (bounded), runs `sglrp report`, and checks the merged tables equal a single-process run of
 * the same config. Every daemon it started is stopped by its process id, also when it fails
 * (finally + a process 'exit' handler).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../engine/backend.js';
import { projectRoot } from '../../io/project-root.js';
import { CLI, mergedTables, runCli, saveDigitsLikeModel, writeRunConfig } from '../util/run-fixture.js';

const ROOT = projectRoot();
const SBATCH_SCRIPT = join(ROOT, 'configs', 'slurm', 'sglrp-array.sbatch');
const WAIT_MS = 180_000;

/** Daemons this test started: stopped by pid in `finally`, or by the 'exit' handler as a last resort. */
const daemons: { name: string; child: ChildProcess }[] = [];
process.on('exit', () => {
  for (const d of daemons)
    if (d.child.exitCode === null && d.child.pid)
      try {
        process.kill(d.child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
});

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { code: number | null; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 300_000 });
  return { code: r.status, out: r.stdout ?? '', err: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

const have = (bin: string) => sh('sh', ['-c', `command -v ${bin}`]).code === 0;

/**
 * Installs slurm-wlm and munge with apt-get when a binary is missing. Returns a reason to skip
 * when this machine cannot (not root, no apt-get); a failing apt-get is a test failure.
 */
function ensureSlurm(): string | undefined {
  const bins = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol'];
  if (bins.every(have)) return undefined;
  if (process.getuid?.() !== 0)
    return `slurm-wlm/munge are not installed and this is not root (apt-get install slurm-wlm munge, then rerun)`;
  if (!have('apt-get')) return 'slurm-wlm/munge are not installed and apt-get is not available';
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const upd = sh('apt-get', ['update', '-qq'], env);
  assert.equal(upd.code, 0, `apt-get update failed: ${upd.err.slice(-500)}`);
  const inst = sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'slurm-wlm', 'munge'], env);
  assert.equal(inst.code, 0, `apt-get install slurm-wlm munge failed: ${inst.err.slice(-500)}`);
  assert.deepEqual(
    bins.filter((b) => !have(b)),
    [],
    'binaries still missing after apt-get install slurm-wlm munge',
  );
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function startDaemon(name: string, cmd: string, args: string[], logDir: string, env: NodeJS.ProcessEnv): ChildProcess {
  const fd = openSync(join(logDir, `${name}.out`), 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  daemons.push({ name, child });
  return child;
}

async function stopDaemons(): Promise<void> {
  // Reverse order: slurmd, slurmctld, then munged (the others authenticate through it).
  for (const d of [...daemons].reverse()) {
    const pid = d.child.pid;
    if (!pid || d.child.exitCode !== null || d.child.signalCode !== null) continue;
    const gone = new Promise<void>((r) => d.child.once('exit', () => r()));
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      continue;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* exited meanwhile */
      }
    }, 5000);
    await gone;
    clearTimeout(timer);
  }
  daemons.length = 0;
}

async function waitFor<T>(what: string, ms: number, probe: () => T | undefined | false, logs: () => string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}\n${logs()}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * Node 20's `node --test dist/test/` runs every .js file below a folder named `test`, this one
 * included: it only runs when SGLRP_SLURM_TEST=1 (set by `npm run test:slurm`).
 */
const enabled = process.env['SGLRP_SLURM_TEST'] === '1';

test(
  'a Slurm array of 4 tasks runs the digits-pair benchmark to tables identical to a single process',
  { timeout: 300_000, skip: enabled ? false : 'the Slurm test runs with npm run test:slurm (SGLRP_SLURM_TEST=1)' },
  async (t) => {
    const why = ensureSlurm();
    if (why) {
      t.skip(why);
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'sglrp-slurm-'));
    const logDir = join(dir, 'log');
    for (const sub of ['log', 'state', 'spool', 'munge', 'jobs']) mkdirSync(join(dir, sub), { recursive: true });
    const logs = () =>
      readdirSync(logDir)
        .map((f) => `--- ${f}\n${readFileSync(join(logDir, f), 'utf8').slice(-3000)}`)
        .join('\n');
    try {
      // munge: a fresh key readable by root only, its own socket.
      const mungeDir = join(dir, 'munge');
      chmodSync(mungeDir, 0o711);
      const key = join(mungeDir, 'munge.key');
      writeFileSync(key, randomBytes(1024), { mode: 0o400 });
      const socket = join(mungeDir, 'munge.socket');
      startDaemon(
        'munged',
        'munged',
        [
          '-F',
          '-f',
          `--key-file=${key}`,
          `--socket=${socket}`,
          `--pid-file=${join(mungeDir, 'munged.pid')}`,
          `--log-file=${join(logDir, 'munged.log')}`,
          `--seed-file=${join(mungeDir, 'seed')}`,
        ],
        logDir,
        process.env,
      );
      await waitFor('the munge socket', 20_000, () => existsSync(socket), logs);

      // slurm.conf: one node (this machine, as `slurmd -C` describes it), one partition, no cgroups.
      const nodeLine = sh('slurmd', ['-C'])
        .out.split('\n')
        .find((l) => l.startsWith('NodeName='));
      assert.ok(nodeLine, 'slurmd -C printed no NodeName line');
      const nodeName = /^NodeName=(\S+)/.exec(nodeLine)![1]!;
      const conf = join(dir, 'slurm.conf');
      writeFileSync(
        conf,
        [
          'ClusterName=sglrptest',
          `SlurmctldHost=${nodeName}(127.0.0.1)`,
          `SlurmctldPort=${await freePort()}`,
          `SlurmdPort=${await freePort()}`,
          'SlurmUser=root',
          'SlurmdUser=root',
          'AuthType=auth/munge',
          'CredType=cred/munge',
          `AuthInfo=socket=${socket}`,
          `StateSaveLocation=${join(dir, 'state')}`,
          `SlurmdSpoolDir=${join(dir, 'spool')}`,
          `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
          `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
          `SlurmctldLogFile=${join(logDir, 'slurmctld.log')}`,
          `SlurmdLogFile=${join(logDir, 'slurmd.log')}`,
          'ProctrackType=proctrack/linuxproc',
          'TaskPlugin=task/none',
          'SelectType=select/cons_tres',
          'SelectTypeParameters=CR_CPU',
          'JobAcctGatherType=jobacct_gather/none',
          'AccountingStorageType=accounting_storage/none',
          'MpiDefault=none',
          'SwitchType=switch/none',
          'ReturnToService=2',
          'MinJobAge=600',
          `${nodeLine} NodeAddr=127.0.0.1 State=UNKNOWN`,
          'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
          '',
        ].join('\n'),
      );
      const env = { ...process.env, SLURM_CONF: conf };
      startDaemon('slurmctld', 'slurmctld', ['-D', '-f', conf], logDir, env);
      startDaemon('slurmd', 'slurmd', ['-D', '-f', conf], logDir, env);
      await waitFor('the node to be idle', 60_000, () => /idle/.test(sh('sinfo', ['-h', '-o', '%T'], env).out), logs);

      // The benchmark: 16 images in 8 shards of 2, a reference run in this process's way.
      await initBackend('cpu');
      const modelPath = await saveDigitsLikeModel(join(dir, 'model'));
      const cfg = writeRunConfig(dir, modelPath, {
        dataset: { kind: 'digits-pair', split: 'test', count: 16, seed: 5 },
        shardSize: 2,
        batchSize: 2,
      });
      const single = runCli(['run', cfg, '--out', join(dir, 'single'), '--no-report']);
      assert.equal(single.code, 0, single.stderr);

      const out = join(dir, 'array');
      const sub = sh(
        'sbatch',
        [
          '--parsable',
          '--array=0-3',
          '--cpus-per-task=1',
          '--mem=1G',
          '--time=10:00',
          `--chdir=${ROOT}`,
          `--output=${join(dir, 'jobs', 'sglrp-%A_%a.out')}`,
          SBATCH_SCRIPT,
          cfg,
          out,
        ],
        { ...env, SGLRP: `${process.execPath} ${CLI}`, CI: 'true' },
      );
      assert.equal(sub.code, 0, `sbatch failed: ${sub.err}`);
      const jobId = sub.out.trim().split(';')[0]!;
      assert.match(jobId, /^\d+$/);
      try {
        await waitFor(
          `array job ${jobId} to finish`,
          WAIT_MS,
          () => sh('squeue', ['-h', '-j', jobId], env).out.trim() === '',
          () => `${sh('squeue', ['-j', jobId], env).out}\n${jobLogs(dir)}\n${logs()}`,
        );
      } finally {
        sh('scancel', [jobId], env); // nothing left running if the wait failed
      }

      // Every task completed with exit 0, and each ran its own part (node i/4).
      const info = sh('scontrol', ['show', 'job', jobId], env).out;
      const states = [...info.matchAll(/JobState=(\S+)[\s\S]*?ExitCode=(\S+)/g)].map((m) => `${m[1]} ${m[2]}`);
      assert.deepEqual(states, Array(4).fill('COMPLETED 0:0'), `${info}\n${jobLogs(dir)}`);
      const taskLogs = jobLogs(dir);
      for (let i = 1; i <= 4; i++) assert.match(taskLogs, new RegExp(`node ${i}/4`));

      const report = runCli(['report', out]);
      assert.equal(report.code, 0, report.stderr);
      assert.ok(existsSync(join(out, 'report', 'report.html')));
      const status = runCli(['status', out]);
      assert.match(status.stdout, /main\s+8\/8 shards done \(100%\)/);
      assert.deepEqual(await mergedTables(out), await mergedTables(join(dir, 'single')));
    } finally {
      await stopDaemons();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

function jobLogs(dir: string): string {
  const jobs = join(dir, 'jobs');
  return readdirSync(jobs)
    .sort()
    .map((f) => `--- ${f}\n${readFileSync(join(jobs, f), 'utf8').slice(-2000)}`)
    .join('\n');
}
