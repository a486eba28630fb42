/**
 * Turns merged table rows into the report's curves: Fig. 11a/b (mean drop vs patch size per
 * method and target kind), Fig. 13 (mean pointing accuracy vs energy per method, plus the pooled
 * ratio), the original pointing game rates, and error counts. Rows arrive shard by shard (see
 * load-runs.ts), so only the per-group values are kept, never whole tables.
 */
import type { TableColumns } from '../../results/table-io.js';
import type { TableName } from '../../results/schemas.js';
import { meanCI95, pooledRatio } from '../statistics.js';
import { compareMethods, compareTargetKinds } from './method-order.js';
import type { ErrorCount, MaskingPoint, MethodSummary, PointingGameRate, PointingPoint } from './types.js';

/** Energies are stored as float32 (0.05 → 0.0500000007); group and print them at 1e-6. */
export function energyKey(e: number): number {
  return Math.round(e * 1e6) / 1e6;
}

interface PointingGroup {
  accuracy: number[];
  /** Only sums are needed for the pooled ratio; keeping per-image counts would triple memory at 50k images. */
  hits: number;
  misses: number;
  empty: number;
}

/** Distinct error reasons kept per stage; beyond it, reasons are lumped (counts stay exact). */
const MAX_REASONS = 500;

export interface Aggregates {
  masking: MaskingPoint[];
  pointing: PointingPoint[];
  pointingGame: PointingGameRate[];
  errorsByStage: ErrorCount[];
}

export class Accumulator {
  private readonly drops = new Map<string, { kind: string; method: string; p: number; values: number[] }>();
  private readonly pointingGroups = new Map<string, { method: string; energy: number; g: PointingGroup }>();
  private readonly games = new Map<string, { hit: number[]; tol: number[] }>();
  private readonly errors = new Map<string, { count: number; reasons: Map<string, number> }>();

  /** A ShardSink: add the rows `rows` of one shard of `table`. */
  readonly add = (table: TableName, columns: TableColumns['columns'], rows: readonly number[]): void => {
    if (table === 'masking') this.addMasking(columns, rows);
    else if (table === 'pointing') this.addPointing(columns, rows);
    else if (table === 'pointing_game') this.addPointingGame(columns, rows);
    else if (table === 'errors') this.addErrors(columns, rows);
  };

  private addMasking(col: TableColumns['columns'], rows: readonly number[]): void {
    const kind = col.target_kind as string[];
    const method = col.method as string[];
    const p = col.patch_size as Int32Array;
    const drop = col.drop as Float32Array;
    for (const i of rows) {
      const key = `${kind[i]}\u0000${method[i]}\u0000${p[i]}`;
      let g = this.drops.get(key);
      if (!g) this.drops.set(key, (g = { kind: kind[i]!, method: method[i]!, p: p[i]!, values: [] }));
      g.values.push(drop[i]!);
    }
  }

  private addPointing(col: TableColumns['columns'], rows: readonly number[]): void {
    const method = col.method as string[];
    const energy = col.energy as Float32Array;
    const hits = col.hits as Int32Array;
    const misses = col.misses as Int32Array;
    const accuracy = col.accuracy as Float32Array;
    const empty = col.empty as boolean[];
    for (const i of rows) {
      const e = energyKey(energy[i]!);
      const key = `${method[i]}\u0000${e}`;
      let entry = this.pointingGroups.get(key);
      if (!entry) {
        entry = { method: method[i]!, energy: e, g: { accuracy: [], hits: 0, misses: 0, empty: 0 } };
        this.pointingGroups.set(key, entry);
      }
      entry.g.accuracy.push(accuracy[i]!);
      entry.g.hits += hits[i]!;
      entry.g.misses += misses[i]!;
      if (empty[i]) entry.g.empty++;
    }
  }

  private addPointingGame(col: TableColumns['columns'], rows: readonly number[]): void {
    const method = col.method as string[];
    const hit = col.hit as boolean[];
    const tol = col.hit_tolerance as boolean[];
    for (const i of rows) {
      let g = this.games.get(method[i]!);
      if (!g) this.games.set(method[i]!, (g = { hit: [], tol: [] }));
      g.hit.push(hit[i] ? 1 : 0);
      g.tol.push(tol[i] ? 1 : 0);
    }
  }

  private addErrors(col: TableColumns['columns'], rows: readonly number[]): void {
    const stage = col.stage as string[];
    const reason = col.reason as string[];
    for (const i of rows) {
      let g = this.errors.get(stage[i]!);
      if (!g) this.errors.set(stage[i]!, (g = { count: 0, reasons: new Map() }));
      g.count++;
      const r = g.reasons.has(reason[i]!) || g.reasons.size < MAX_REASONS ? reason[i]! : '(other reasons)';
      g.reasons.set(r, (g.reasons.get(r) ?? 0) + 1);
    }
  }

  finish(): Aggregates {
    const masking: MaskingPoint[] = [...this.drops.values()]
      .map(({ kind, method, p, values }) => ({ targetKind: kind, method, patchSize: p, ...meanCI95(values) }))
      .sort((a, b) => compareTargetKinds(a.targetKind, b.targetKind) || compareMethods(a.method, b.method) || a.patchSize - b.patchSize);
    const pointing: PointingPoint[] = [...this.pointingGroups.values()]
      .map(({ method, energy, g }) => ({
        method,
        energy,
        ...meanCI95(g.accuracy),
        pooled: pooledRatio([g.hits], [g.misses]),
        hits: g.hits,
        misses: g.misses,
        empty: g.empty,
      }))
      .sort((a, b) => compareMethods(a.method, b.method) || a.energy - b.energy);
    const pointingGame: PointingGameRate[] = [...this.games.entries()]
      .map(([method, g]) => {
        // A t interval on 0/1 values can leave [0, 1] for small n; a rate's interval cannot.
        const hit = meanCI95(g.hit);
        const tol = meanCI95(g.tol);
        return { method, n: hit.n, hitRate: hit.mean, hitLo: clip01(hit.lo), hitHi: clip01(hit.hi), toleranceRate: tol.mean, toleranceLo: clip01(tol.lo), toleranceHi: clip01(tol.hi) };
      })
      .sort((a, b) => compareMethods(a.method, b.method));
    const errorsByStage: ErrorCount[] = [...this.errors.entries()]
      .map(([stage, g]) => ({
        stage,
        count: g.count,
        reasons: [...g.reasons.entries()].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
      }))
      .sort((a, b) => b.count - a.count || a.stage.localeCompare(b.stage));
    return { masking, pointing, pointingGame, errorsByStage };
  }
}

function clip01(v: number): number {
  return Number.isNaN(v) ? v : Math.min(1, Math.max(0, v));
}

/** Mean of the finite values (NaN when there are none). */
function average(values: number[]): number {
  return meanCI95(values).mean;
}

/** One row per method condensing every figure (unweighted averages over patch sizes / energies). */
export function methodSummaries(a: Aggregates, methods: readonly string[]): MethodSummary[] {
  return methods.map((method) => {
    const gt = a.masking.filter((m) => m.method === method && m.targetKind === 'gt');
    const top2 = a.masking.filter((m) => m.method === method && m.targetKind === 'top2');
    const pts = a.pointing.filter((p) => p.method === method);
    const game = a.pointingGame.find((g) => g.method === method);
    return {
      method,
      imagesMasking: gt.length ? gt[0]!.n : 0,
      meanDropGt: average(gt.map((m) => m.mean)),
      meanDropTop2: average(top2.map((m) => m.mean)),
      meanPointingAccuracy: average(pts.map((p) => p.mean)),
      pooledPointing: pooledRatio(pts.map((p) => p.hits), pts.map((p) => p.misses)),
      pointingGameHitRate: game?.hitRate ?? NaN,
      pointingGameToleranceRate: game?.toleranceRate ?? NaN,
    };
  });
}
