/**
 * `sglrp status RUN_DIR`: how far a run is, read only from the run directory (so it works from any
 * node, while the run goes on): shards done / planned per phase, shards leased right now, shards
 * whose last attempt failed, and how many images ended in the errors table.
 */
import { datasetIssueLines } from '../data/issues.js';
import { stat } from 'node:fs/promises';
import { RunDir, phasesFor, planImages, type Phase, type RunDirOptions, type RunPlan } from './run-dir.js';
import { phaseShards } from './shards.js';

export interface PhaseStatus {
  phase: string;
  /** Shards with a manifest (not re-verified: `status` must stay cheap on 50,000 images). */
  done: number;
  /** Planned shards; null until the runner has written plan.json. */
  total: number | null;
  /** Shards whose last attempt failed and that are not done. */
  failed: number;
  /** Live leases: shards being computed now. */
  running: number;
  /** Owners of the live leases, for "who is working on what". */
  runners: { shard: number; owner: string; host: string; expiresAt: number }[];
  /**
   * Leases whose holder ran on this machine and is gone (killed): not running, whatever their
   * expiry says; the next run takes them over at once.
   */
  stale: { shard: number; owner: string; host: string }[];
  /** Manifest files of shards the plan does not have: ignored (never counted or merged). */
  outsidePlan: string[];
}

export interface RunStatus {
  dir: string;
  name: string;
  configHash: string;
  plan: RunPlan | null;
  phases: PhaseStatus[];
  /** Rows of the errors table in finished shards: images that could not be processed. */
  errors: number;
  /** Images covered by finished shards of the last phase. */
  imagesDone: number;
  /**
   * Finished shards whose files are missing or have another size than their manifest records
   * (truncated or rewritten): the next run recomputes them. A cheap check (one stat per file);
   * `run` and `report` also verify every file's sha256.
   */
  damaged: { phase: string; shard: number; file: string; reason: string }[];
  /** File-level problems of the run's dataset (data/issues.ts), as `run` printed them; empty when none. */
  datasetIssues: string[];
}

/** Shards a phase has under a plan (the stats phase works in fixed blocks, see STATS_BLOCK). */
function phaseTotal(plan: RunPlan, phase: Phase): number {
  return phaseShards(phase, planImages(plan), plan.shardSize).length;
}

/** Read the status of a run directory (made by RunDir.open). */
export async function runStatus(dir: string, options: RunDirOptions = {}): Promise<RunStatus> {
  const run = await RunDir.openExisting(dir, options);
  const plan = (await run.readPlan()) ?? null;
  const phases: PhaseStatus[] = [];
  let errors = 0;
  let imagesDone = 0;
  const damaged: RunStatus['damaged'] = [];
  for (const phase of phasesFor(run.config)) {
    const total = plan ? phaseTotal(plan, phase) : null;
    const records = await run.finished(phase, total ?? undefined);
    for (const record of records) {
      for (const file of record.files) {
        if (file.table === 'errors') errors += file.rows;
        let size: number | undefined;
        try {
          size = (await stat(run.resolvePath(file.path))).size;
        } catch {
          size = undefined;
        }
        if (size !== file.bytes)
          damaged.push({
            phase,
            shard: record.shard,
            file: file.path,
            reason: size === undefined ? 'missing' : `${size} bytes, the manifest says ${file.bytes}`,
          });
      }
    }
    const doneShards = new Set(records.map((r) => r.shard));
    const failures = (await run.failures(phase)).filter((f) => !doneShards.has(f.shard));
    const leases = (await run.leases(phase)).filter((l) => !doneShards.has(l.shard));
    const live = leases.filter((l) => l.state === 'live');
    const stale = leases.filter((l) => l.state === 'stale');
    imagesDone = records.reduce((sum, r) => sum + r.imageCount, 0);
    phases.push({
      phase,
      done: records.length,
      total,
      failed: failures.length,
      running: live.length,
      runners: live
        .map((l) => ({ shard: l.shard, owner: l.owner, host: l.host, expiresAt: l.expiresAt }))
        .sort((a, b) => a.shard - b.shard),
      stale: stale.map((l) => ({ shard: l.shard, owner: l.owner, host: l.host })).sort((a, b) => a.shard - b.shard),
      outsidePlan: total === null ? [] : await run.outsidePlan(phase, total),
    });
  }
  const datasetIssues = datasetIssueLines(run.config);
  return { dir: run.dir, name: run.config.name, configHash: run.hash, plan, phases, errors, imagesDone, damaged, datasetIssues };
}

function percent(done: number, total: number): string {
  return total === 0 ? '100%' : `${Math.floor((100 * done) / total)}%`;
}

/** Human-readable status, one line per phase; `verbose` lists who runs which shard. */
export function formatStatus(status: RunStatus, options: { verbose?: boolean; now?: number } = {}): string {
  const lines: string[] = [];
  const { plan } = status;
  lines.push(`run ${status.name} in ${status.dir} (config ${status.configHash.slice(0, 12)})`);
  if (plan) {
    const images = planImages(plan);
    const limited = plan.limit !== null && plan.limit < plan.datasetSize ? ` (--limit ${plan.limit} of ${plan.datasetSize})` : '';
    lines.push(`plan: ${images} images${limited} in ${plan.shardCount} shards of ${plan.shardSize}`);
  } else {
    lines.push('plan: not written yet (the runner writes plan.json once it has read the dataset)');
  }
  const width = Math.max(...status.phases.map((p) => p.phase.length));
  for (const p of status.phases) {
    const progress = p.total === null ? `${p.done} shards done` : `${p.done}/${p.total} shards done (${percent(p.done, p.total)})`;
    const stale = p.stale ?? [];
    const extra = [
      p.running > 0 ? `${p.running} running` : '',
      stale.length > 0 ? `${stale.length} stale (holder gone; the next run takes ${stale.length === 1 ? 'it' : 'them'} over)` : '',
      p.failed > 0 ? `${p.failed} failed (will be retried)` : '',
    ].filter(Boolean);
    const complete = p.total !== null && p.done >= p.total ? ', complete' : '';
    lines.push(`  ${p.phase.padEnd(width)}  ${progress}${extra.length ? `, ${extra.join(', ')}` : ''}${complete}`);
    if (options.verbose) {
      const now = options.now ?? Date.now();
      for (const r of p.runners)
        lines.push(
          `      shard ${r.shard}: ${r.owner} on ${r.host}, lease ends in ${Math.max(0, Math.round((r.expiresAt - now) / 1000))} s`,
        );
      for (const r of stale) lines.push(`      shard ${r.shard}: stale, ${r.owner} on ${r.host} is gone`);
    }
    const outside = p.outsidePlan ?? [];
    if (outside.length > 0) lines.push(`      ignored: ${outside.join(', ')} (outside the plan of ${p.total} shards)`);
  }
  for (const d of status.damaged ?? [])
    lines.push(
      `damaged: ${d.phase} shard ${d.shard}: ${d.file} is ${d.reason === 'missing' ? 'missing' : `truncated or rewritten (${d.reason})`}; the next run recomputes the shard`,
    );
  for (const line of status.datasetIssues ?? []) lines.push(line);
  lines.push(
    status.errors === 0
      ? 'errors: none'
      : `errors: ${status.errors} image(s) could not be processed (see the errors table: tables/errors/)`,
  );
  return `${lines.join('\n')}\n`;
}
