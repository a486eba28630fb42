/**
 * A metric that exists only for the tests: the share of a map's pixels above a threshold, one row
 * per image, method and target. It is written the way a real metric would be (one module), to
 * show that registering it is all the pipeline and the report need.
 */
import { z } from 'zod';
import type { Metric } from '../../metrics/metric.js';
import type { Row, TableSpec } from '../../results/schemas.js';
import { meanCI95 } from '../../stages/statistics.js';

export interface PositiveShareConfig {
  threshold: number;
}

export interface PositiveShareAggregates {
  positiveShare: { method: string; targetKind: string; mean: number; lo: number; hi: number; n: number }[];
}

export const POSITIVE_SHARE_TABLE: TableSpec = {
  name: 'positive_share',
  columns: [
    { name: 'image_id', type: 'utf8', doc: '' },
    { name: 'image_index', type: 'int32', doc: '' },
    { name: 'method', type: 'utf8', doc: '' },
    { name: 'target_kind', type: 'utf8', doc: '' },
    { name: 'share', type: 'float64', doc: 'share of the map pixels above the threshold' },
  ],
};

/** The share of `map` strictly above `threshold` (the test checks the rows against this). */
export function shareAbove(map: Float32Array, threshold: number): number {
  let n = 0;
  for (const v of map) if (v > threshold) n++;
  return n / map.length;
}

export const positiveShareMetric: Metric<PositiveShareConfig, PositiveShareAggregates, 'positiveShare'> = {
  name: 'positive-share',
  title: 'Positive share',
  direction: 'higher-is-better',
  appliesTo: { targetKinds: 'all', needs: [] },
  protocol: '(test only)',
  config: {
    key: 'positiveShare',
    schema: z.strictObject(
      { threshold: z.number({ error: 'expected a number' }).min(0, 'expected a non-negative number').default(0) },
      { error: 'expected a mapping {threshold}' },
    ),
  },
  tables: [POSITIVE_SHARE_TABLE],
  stage: {
    onBatch({ items, config }) {
      const rows: Row[] = [];
      for (const { sample, explanations } of items) {
        for (const e of explanations)
          rows.push({
            image_id: sample.id,
            image_index: sample.index,
            method: e.method,
            target_kind: e.target.kind,
            share: shareAbove(e.map, config.threshold),
          });
      }
      return { positive_share: rows };
    },
  },
  aggregator() {
    const groups = new Map<string, { method: string; targetKind: string; values: number[] }>();
    return {
      add({ columns, rows }) {
        const method = columns.method as string[];
        const kind = columns.target_kind as string[];
        const share = columns.share as Float64Array;
        for (const i of rows) {
          const key = `${method[i]}\u0000${kind[i]}`;
          let g = groups.get(key);
          if (!g) groups.set(key, (g = { method: method[i]!, targetKind: kind[i]!, values: [] }));
          g.values.push(share[i]!);
        }
      },
      finish: () => ({
        positiveShare: [...groups.values()].map((g) => ({ method: g.method, targetKind: g.targetKind, ...meanCI95(g.values) })),
      }),
    };
  },
  figures: [
    {
      id: 'share',
      title: 'Positive share by target kind',
      caption: 'Mean share of map pixels above the threshold.',
      chart: { xTitle: 'target (0 = gt, 1 = top2)', yTitle: 'share', yDomain: [0, 1] },
      curve: (a) => a.positiveShare.map((p) => ({ method: p.method, x: p.targetKind === 'gt' ? 0 : 1, mean: p.mean, lo: p.lo, hi: p.hi })),
      blocks: (a, methods) => [
        {
          kind: 'table',
          header: ['method', 'n'],
          rows: methods.map((m) => [m, String(a.positiveShare.filter((p) => p.method === m).reduce((s, p) => s + p.n, 0))]),
        },
      ],
    },
  ],
  reportTables: (a) => [
    {
      name: 'share',
      columns: [
        { name: 'method', type: 'string' },
        { name: 'target_kind', type: 'string' },
        { name: 'mean', type: 'number' },
      ],
      rows: a.positiveShare.map((p) => ({ method: p.method, target_kind: p.targetKind, mean: p.mean })),
    },
  ],
  summary: [
    {
      name: 'mean_positive_share_gt',
      title: 'positive share (gt)',
      type: 'number',
      format: 'percent',
      value: (a, m) => a.positiveShare.find((p) => p.method === m && p.targetKind === 'gt')?.mean ?? NaN,
    },
  ],
  methodsIn: (a) => a.positiveShare.map((p) => p.method),
};
