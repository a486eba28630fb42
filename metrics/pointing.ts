/**
 * The extended pointing game (docs/PROTOCOL.md §5, paper Fig. 13) and the original pointing game
 * as a metric: the math lives in stages/pointing.ts and stages/pointing-metrics.ts; this module
 * says how it is configured, which rows it writes, how they aggregate and how the report shows them.
 */
import { z } from 'zod';
import { TABLES, type Row } from '../results/schemas.js';
import { pointingRows } from '../stages/pointing.js';
import { meanCI95, pooledRatio } from '../stages/statistics.js';
import { curveGrid, fmt, fmtCI } from '../stages/report/format.js';
import { compareMethods, methodLabel } from '../stages/report/method-order.js';
import type { PointingGameRate, PointingPoint } from '../stages/report/types.js';
import type { Metric } from './metric.js';
import { CI_COLUMNS, finiteMean } from './report-parts.js';

/** 0.05, 0.10, …, 1.00: k/20 is the double nearest each decimal, same as the written literal. */
export const DEFAULT_ENERGIES = Array.from({ length: 20 }, (_, k) => (k + 1) / 20);
export const DEFAULT_TOLERANCE = 15;

export interface PointingConfig {
  /** Ascending, distinct, in (0, 1]. */
  energies: number[];
  /** Original pointing game tolerance, in input pixels. */
  tolerance: number;
}

export interface PointingAggregates {
  /** The Fig. 13 curve: one point per method and energy level. */
  pointing: PointingPoint[];
  /** The original pointing game, one rate per method. */
  pointingGame: PointingGameRate[];
}

/** Energies are stored as float32 (0.05 → 0.0500000007); group and print them at 1e-6. */
export function energyKey(e: number): number {
  return Math.round(e * 1e6) / 1e6;
}

const inUnit = 'expected a number in (0, 1]';
const configSchema = z.strictObject(
  {
    energies: z
      .array(z.number({ error: inUnit }).gt(0, inUnit).lte(1, inUnit), { error: 'expected a list of numbers in (0, 1]' })
      .min(1, 'expected at least one energy level')
      .refine((list) => new Set(list).size === list.length, { message: 'lists a value twice' })
      // Canonical order, so that listing the same levels differently gives the same config hash.
      .transform((list) => [...list].sort((a, b) => a - b))
      .default(() => [...DEFAULT_ENERGIES]),
    tolerance: z
      .int({ error: 'expected a non-negative integer (pixels)' })
      .min(0, 'expected a non-negative integer (pixels)')
      .default(DEFAULT_TOLERANCE),
  },
  { error: 'expected a mapping {energies, tolerance}' },
);

interface PointingGroup {
  accuracy: number[];
  /** Only sums are needed for the pooled ratio; keeping per-image counts would triple memory at 50k images. */
  hits: number;
  misses: number;
  empty: number;
}

function clip01(v: number): number {
  return Number.isNaN(v) ? v : Math.min(1, Math.max(0, v));
}

const curvePoints = (a: PointingAggregates, method: string) => a.pointing.filter((p) => p.method === method);

export const pointingMetric: Metric<PointingConfig, PointingAggregates, 'pointing'> = {
  name: 'pointing',
  title: 'Extended pointing game',
  direction: 'higher-is-better',
  appliesTo: { targetKinds: ['gt'], needs: ['label', 'boxes'] },
  protocol: 'docs/PROTOCOL.md §5',
  config: { key: 'pointing', schema: configSchema },
  tables: [TABLES.pointing, TABLES.pointing_game],
  stage: {
    onBatch({ items, config }) {
      const out = { pointing: [] as Row[], pointing_game: [] as Row[] };
      for (const it of items) {
        const p = pointingRows(it.sample, it.explanations, config.energies, config.tolerance);
        out.pointing.push(...p.pointing);
        out.pointing_game.push(...p.pointing_game);
      }
      return out;
    },
  },
  aggregator() {
    const groups = new Map<string, { method: string; energy: number; g: PointingGroup }>();
    const games = new Map<string, { hit: number[]; tol: number[] }>();
    return {
      add({ table, columns: col, rows }) {
        if (table === 'pointing') {
          const method = col.method as string[];
          const energy = col.energy as Float32Array;
          const hits = col.hits as Int32Array;
          const misses = col.misses as Int32Array;
          const accuracy = col.accuracy as Float32Array;
          const empty = col.empty as boolean[];
          for (const i of rows) {
            const e = energyKey(energy[i]!);
            const key = `${method[i]}\u0000${e}`;
            let entry = groups.get(key);
            if (!entry) {
              entry = { method: method[i]!, energy: e, g: { accuracy: [], hits: 0, misses: 0, empty: 0 } };
              groups.set(key, entry);
            }
            entry.g.accuracy.push(accuracy[i]!);
            entry.g.hits += hits[i]!;
            entry.g.misses += misses[i]!;
            if (empty[i]) entry.g.empty++;
          }
        } else if (table === 'pointing_game') {
          const method = col.method as string[];
          const hit = col.hit as boolean[];
          const tol = col.hit_tolerance as boolean[];
          for (const i of rows) {
            let g = games.get(method[i]!);
            if (!g) games.set(method[i]!, (g = { hit: [], tol: [] }));
            g.hit.push(hit[i] ? 1 : 0);
            g.tol.push(tol[i] ? 1 : 0);
          }
        }
      },
      finish() {
        const pointing: PointingPoint[] = [...groups.values()]
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
        const pointingGame: PointingGameRate[] = [...games.entries()]
          .map(([method, g]) => {
            // A t interval on 0/1 values can leave [0, 1] for small n; a rate's interval cannot.
            const hit = meanCI95(g.hit);
            const tol = meanCI95(g.tol);
            return {
              method,
              n: hit.n,
              hitRate: hit.mean,
              hitLo: clip01(hit.lo),
              hitHi: clip01(hit.hi),
              toleranceRate: tol.mean,
              toleranceLo: clip01(tol.lo),
              toleranceHi: clip01(tol.hi),
            };
          })
          .sort((a, b) => compareMethods(a.method, b.method));
        return { pointing, pointingGame };
      },
    };
  },
  figures: [
    {
      id: 'fig13',
      title: 'Fig. 13 — extended pointing game',
      caption:
        'Mean per-image pointing accuracy hits / (hits + misses) of the pixels holding the top E share of the positive relevance (95% CI band). Higher is better.',
      chart: { xTitle: 'energy E', yTitle: 'pointing accuracy', zeroRule: false, yDomain: [0, 1], tickAtData: false },
      curve: (a) => a.pointing.map((p) => ({ method: p.method, x: p.energy, mean: p.mean, lo: p.lo, hi: p.hi })),
      blocks(a, order) {
        const pts = a.pointing;
        const methods = order.filter((m) => pts.some((p) => p.method === m));
        const grid = curveGrid(pts, (p) => p.energy, methods);
        return [
          { kind: 'table', header: ['E', ...methods.map(methodLabel)], rows: grid.xs.map((x, i) => [String(x), ...grid.cells[i]!]) },
          { kind: 'paragraph', text: 'Pooled ratio Σhits / Σ(hits + misses) per energy level:' },
          {
            kind: 'table',
            header: ['E', ...methods.map(methodLabel)],
            rows: grid.xs.map((x) => [
              String(x),
              ...methods.map((m) => fmt(pts.find((p) => p.method === m && p.energy === x)?.pooled ?? NaN)),
            ]),
          },
        ];
      },
    },
  ],
  reportTables: (a) => [
    {
      name: 'fig13',
      columns: [
        { name: 'method', type: 'string' },
        { name: 'energy', type: 'number' },
        ...CI_COLUMNS,
        { name: 'pooled', type: 'number' },
        { name: 'hits', type: 'number' },
        { name: 'misses', type: 'number' },
        { name: 'empty', type: 'int' },
      ],
      rows: a.pointing.map((p) => ({
        method: p.method,
        energy: p.energy,
        n: p.n,
        mean: p.mean,
        lo: p.lo,
        hi: p.hi,
        sd: p.sd,
        ignored: p.ignored,
        pooled: p.pooled,
        hits: p.hits,
        misses: p.misses,
        empty: p.empty,
      })),
    },
    {
      name: 'pointing-game',
      columns: [
        { name: 'method', type: 'string' },
        { name: 'n', type: 'int' },
        { name: 'hit_rate', type: 'number' },
        { name: 'hit_lo', type: 'number' },
        { name: 'hit_hi', type: 'number' },
        { name: 'tolerance_rate', type: 'number' },
        { name: 'tolerance_lo', type: 'number' },
        { name: 'tolerance_hi', type: 'number' },
      ],
      rows: a.pointingGame.map((g) => ({
        method: g.method,
        n: g.n,
        hit_rate: g.hitRate,
        hit_lo: g.hitLo,
        hit_hi: g.hitHi,
        tolerance_rate: g.toleranceRate,
        tolerance_lo: g.toleranceLo,
        tolerance_hi: g.toleranceHi,
      })),
    },
  ],
  sections(a) {
    const blocks: ReturnType<NonNullable<Metric<PointingConfig, PointingAggregates>['sections']>> = [
      { kind: 'heading', level: 2, text: 'Original pointing game', anchor: 'pointing-game' },
    ];
    if (a.pointingGame.length === 0) return [...blocks, { kind: 'paragraph', text: 'No pointing_game rows in this run.' }];
    blocks.push({
      kind: 'paragraph',
      text: "Share of images whose map's arg-max lies inside the ground-truth box union (95% CI), and within the tolerance of it.",
    });
    blocks.push({
      kind: 'table',
      header: ['method', 'images', 'hit rate', 'hit rate with tolerance'],
      rows: a.pointingGame.map((g) => [
        methodLabel(g.method),
        String(g.n),
        fmtCI(g.hitRate, g.hitLo, g.hitHi),
        fmtCI(g.toleranceRate, g.toleranceLo, g.toleranceHi),
      ]),
    });
    return blocks;
  },
  summary: [
    {
      name: 'mean_pointing_accuracy',
      title: 'pointing accuracy (avg over E)',
      type: 'number',
      format: 'number',
      value: (a, m) => finiteMean(curvePoints(a, m).map((p) => p.mean)),
    },
    {
      name: 'pooled_pointing',
      title: 'pooled pointing (all E)',
      type: 'number',
      format: 'number',
      value(a, m) {
        const pts = curvePoints(a, m);
        return pooledRatio(
          pts.map((p) => p.hits),
          pts.map((p) => p.misses),
        );
      },
    },
    {
      name: 'pointing_game_hit_rate',
      title: 'pointing game',
      type: 'number',
      format: 'percent',
      value: (a, m) => a.pointingGame.find((g) => g.method === m)?.hitRate ?? NaN,
    },
    {
      name: 'pointing_game_tolerance_rate',
      title: 'pointing game (tolerance)',
      type: 'number',
      format: 'percent',
      value: (a, m) => a.pointingGame.find((g) => g.method === m)?.toleranceRate ?? NaN,
    },
  ],
  methodsIn: (a) => [...a.pointing, ...a.pointingGame].map((p) => p.method),
};
