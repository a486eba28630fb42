/**
 * Maximal patch masking (docs/PROTOCOL.md §4, paper Fig. 11) as a metric: the stage math lives in
 * stages/masking.ts (planning deduplicated masked inputs) and stages/masking-geometry.ts; this
 * module says how it is configured, which rows it writes, how they aggregate and how the report
 * shows them.
 */
import { z } from 'zod';
import { TABLES } from '../results/schemas.js';
import { finishMasking, planMasking } from '../stages/masking.js';
import { meanCI95 } from '../stages/statistics.js';
import { curveGrid } from '../stages/report/format.js';
import { compareMethods, compareTargetKinds, methodLabel } from '../stages/report/method-order.js';
import type { MaskingPoint } from '../stages/report/types.js';
import type { Metric, MetricFigure } from './metric.js';
import { CI_COLUMNS, finiteMean } from './report-parts.js';

export const FILLS = ['dataset-mean', 'channel-mean', 'zero'] as const;
export const DEFAULT_PATCH_SIZES = [1, 3, 5, 7, 9];

export interface MaskingConfig {
  /** Ascending, distinct, odd. */
  patchSizes: number[];
  fill: (typeof FILLS)[number];
}

export interface MaskingAggregates {
  /** One point per target kind, method and patch size. */
  masking: MaskingPoint[];
}

const int = (what: string) => z.int({ error: `expected ${what}` });

const configSchema = z.strictObject(
  {
    patchSizes: z
      .array(
        int('an odd positive integer')
          .min(1, 'expected an odd positive integer')
          .refine((p) => p % 2 === 1, { message: 'expected an odd positive integer (the patch is centred on a pixel)' }),
        { error: 'expected a list of odd positive integers' },
      )
      .min(1, 'expected at least one patch size')
      .refine((list) => new Set(list).size === list.length, { message: 'lists a value twice' })
      // Canonical order, so that listing the same sizes differently gives the same config hash.
      .transform((list) => [...list].sort((a, b) => a - b))
      .default(() => [...DEFAULT_PATCH_SIZES]),
    fill: z.enum(FILLS, { error: `expected one of ${FILLS.map((v) => JSON.stringify(v)).join(', ')}` }).default('dataset-mean'),
  },
  { error: 'expected a mapping {patchSizes, fill}' },
);

/** Fig. 11a targets the ground truth, Fig. 11b the second most probable class. */
function maskingFigure(id: string, targetKind: string, title: string, caption: string): MetricFigure<MaskingAggregates> {
  const points = (a: MaskingAggregates) => a.masking.filter((m) => m.targetKind === targetKind);
  return {
    id,
    title,
    caption,
    chart: { xTitle: 'patch size p', yTitle: 'mean drop of y_t', zeroRule: true, yDomain: undefined, tickAtData: true },
    curve: (a) => points(a).map((m) => ({ method: m.method, x: m.patchSize, mean: m.mean, lo: m.lo, hi: m.hi })),
    blocks(a, order) {
      const pts = points(a);
      const methods = order.filter((m) => pts.some((p) => p.method === m));
      const grid = curveGrid(pts, (p) => p.patchSize, methods);
      return [{ kind: 'table', header: ['p', ...methods.map(methodLabel)], rows: grid.xs.map((x, i) => [String(x), ...grid.cells[i]!]) }];
    },
  };
}

function maskingReportTable(name: string, a: MaskingAggregates, kind: string) {
  return {
    name,
    columns: [
      { name: 'target_kind', type: 'string' as const },
      { name: 'method', type: 'string' as const },
      { name: 'patch_size', type: 'int' as const },
      ...CI_COLUMNS,
    ],
    rows: a.masking
      .filter((m) => m.targetKind === kind)
      .map((m) => ({
        target_kind: m.targetKind,
        method: m.method,
        patch_size: m.patchSize,
        n: m.n,
        mean: m.mean,
        lo: m.lo,
        hi: m.hi,
        sd: m.sd,
        ignored: m.ignored,
      })),
  };
}

const meanDrop = (a: MaskingAggregates, method: string, kind: string) =>
  finiteMean(a.masking.filter((m) => m.method === method && m.targetKind === kind).map((m) => m.mean));

export const maskingMetric: Metric<MaskingConfig, MaskingAggregates, 'masking'> = {
  name: 'masking',
  title: 'Maximal patch masking',
  direction: 'higher-is-better',
  appliesTo: { targetKinds: 'all', needs: [] },
  protocol: 'docs/PROTOCOL.md §4',
  config: {
    key: 'masking',
    schema: configSchema,
    check(config, run) {
      const tooBig = config.patchSizes.filter((p) => p > run.model.size);
      return tooBig.length > 0
        ? [{ path: 'masking.patchSizes', message: `patch sizes ${tooBig.join(', ')} exceed model.size ${run.model.size}` }]
        : [];
    },
  },
  tables: [TABLES.masking],
  stage: {
    // Inside the relevance pass: the masked inputs are re-classified from the group's forward cache.
    *onGroup({ items, config, classifyMasked }) {
      const plan = planMasking(items, config.patchSizes);
      return { masking: finishMasking(plan, yield* classifyMasked(plan.masks)) };
    },
  },
  aggregator() {
    const drops = new Map<string, { kind: string; method: string; p: number; values: number[] }>();
    return {
      add({ table, columns: col, rows }) {
        if (table !== 'masking') return;
        const kind = col.target_kind as string[];
        const method = col.method as string[];
        const p = col.patch_size as Int32Array;
        const drop = col.drop as Float32Array;
        for (const i of rows) {
          const key = `${kind[i]}\u0000${method[i]}\u0000${p[i]}`;
          let g = drops.get(key);
          if (!g) drops.set(key, (g = { kind: kind[i]!, method: method[i]!, p: p[i]!, values: [] }));
          g.values.push(drop[i]!);
        }
      },
      finish: () => ({
        masking: [...drops.values()]
          .map(({ kind, method, p, values }) => ({ targetKind: kind, method, patchSize: p, ...meanCI95(values) }))
          .sort(
            (a, b) => compareTargetKinds(a.targetKind, b.targetKind) || compareMethods(a.method, b.method) || a.patchSize - b.patchSize,
          ),
      }),
    };
  },
  figures: [
    maskingFigure(
      'fig11a',
      'gt',
      'Fig. 11a — maximal patch masking, ground-truth target',
      'Mean drop y_t(before) − y_t(after) when the p×p patch around the map maximum is replaced by the dataset mean (95% CI band). Higher is better (the paper plots the change, where lower is better).',
    ),
    maskingFigure(
      'fig11b',
      'top2',
      'Fig. 11b — maximal patch masking, 2nd most probable class',
      'As Fig. 11a, targeting the second most probable class. A negative drop means masking increased y_t.',
    ),
  ],
  reportTables: (a) => [maskingReportTable('fig11a', a, 'gt'), maskingReportTable('fig11b', a, 'top2')],
  summary: [
    {
      name: 'images_masking_gt',
      title: 'images (masking gt)',
      type: 'int',
      format: 'count',
      value(a, method) {
        const gt = a.masking.filter((m) => m.method === method && m.targetKind === 'gt');
        return gt.length ? gt[0]!.n : 0;
      },
    },
    {
      name: 'mean_drop_gt',
      title: 'mean drop gt (avg over p)',
      type: 'number',
      format: 'number',
      value: (a, method) => meanDrop(a, method, 'gt'),
    },
    {
      name: 'mean_drop_top2',
      title: 'mean drop top2 (avg over p)',
      type: 'number',
      format: 'number',
      value: (a, method) => meanDrop(a, method, 'top2'),
    },
  ],
  methodsIn: (a) => a.masking.map((m) => m.method),
};
