import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { projectRoot } from '../../io/project-root.js';
import { nodeFromEnv, SHARD_COUNT_ENV } from '../../pipeline/shards.js';

const root = projectRoot();

test('the Slurm array script is valid bash, requeues, and leaves the index to sglrp (SLURM_ARRAY_TASK_*)', () => {
  const path = join(root, 'configs', 'slurm', 'sglrp-array.sbatch');
  const text = readFileSync(path, 'utf8');
  const syntax = spawnSync('bash', ['-n', path], { encoding: 'utf8' });
  assert.equal(syntax.status, 0, syntax.stderr);
  for (const d of ['--array=', '--requeue', '--cpus-per-task=', '--mem=', '--time=']) assert.match(text, new RegExp(`^#SBATCH ${d}`, 'm'));
  assert.match(text, /run "\$CONFIG" --out "\$RUN_DIR"/);
  assert.match(text, /sglrp status/);
  // Only an incomplete run (exit 3) is requeued: a usage/config error (exit 2) would fail again.
  assert.match(text, /if \[ "\$rc" -eq 3 \] .*scontrol requeue/s);
  assert.doesNotMatch(text, /-eq 2\b.*requeue/);
  // What Slurm sets for task 2 of --array=1-8 is read as node 1 of 8.
  assert.deepEqual(
    nodeFromEnv({ SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '8', SLURM_ARRAY_TASK_COUNT: '8' }),
    { index: 1, count: 8, source: 'slurm' },
  );
});

test('the Kubernetes manifest is an Indexed Job whose SGLRP_SHARD_COUNT equals its completions, on a shared volume', () => {
  const job = YAML.parse(readFileSync(join(root, 'configs', 'k8s', 'sglrp-indexed-job.yaml'), 'utf8')) as {
    kind: string;
    spec: {
      completionMode: string;
      completions: number;
      podFailurePolicy?: { rules: { action: string; onExitCodes?: { values: number[] } }[] };
      template: {
        spec: { containers: { command: string[]; env: { name: string; value: string }[]; volumeMounts: { mountPath: string }[] }[] };
      };
    };
  };
  assert.equal(job.kind, 'Job');
  assert.equal(job.spec.completionMode, 'Indexed');
  // A usage/config/setup error (exit 2) fails the index at once instead of being retried.
  assert.ok(
    job.spec.podFailurePolicy?.rules.some((r) => r.action === 'FailIndex' && r.onExitCodes?.values.includes(2)),
    'exit 2 is not retried',
  );
  const c = job.spec.template.spec.containers[0]!;
  const count = c.env.find((e) => e.name === SHARD_COUNT_ENV)?.value;
  assert.equal(Number(count), job.spec.completions);
  const out = c.command[c.command.indexOf('--out') + 1]!;
  assert.ok(
    c.volumeMounts.some((m) => out.startsWith(m.mountPath)),
    `the run directory ${out} is on a mounted volume`,
  );
  assert.deepEqual(nodeFromEnv({ JOB_COMPLETION_INDEX: '7', [SHARD_COUNT_ENV]: count }), { index: 7, count: 8, source: 'kubernetes' });
});
