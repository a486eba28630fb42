/**
 * Turns merged table rows into the report's numbers: each registered metric folds its own tables
 * (metrics/registry.ts; masking → Fig. 11a/b, pointing → Fig. 13 and the original pointing game),
 * and the errors table is counted here. Rows arrive shard by shard (see load-runs.ts), so only
 * the per-group values are kept, never whole tables.
 */
import type { TableColumns } from '../../results/table-io.js';
import type { AnyMetric, MetricAggregator } from '../../metrics/metric.js';
import { registeredMetrics, type MetricAggregates } from '../../metrics/registry.js';
import type { ErrorCount, MethodSummary } from './types.js';

export { energyKey } from '../../metrics/pointing.js';

/** Distinct error reasons kept per stage; beyond it, reasons are lumped (counts stay exact). */
const MAX_REASONS = 500;

/** Every metric's aggregates (merged under their own keys) and the error counts. */
export type Aggregates = MetricAggregates & { errorsByStage: ErrorCount[] };

export class Accumulator {
  private readonly metrics: { metric: AnyMetric; aggregator: MetricAggregator<object> }[];
  private readonly errors = new Map<string, { count: number; reasons: Map<string, number> }>();

  constructor(metrics: readonly AnyMetric[] = registeredMetrics()) {
    this.metrics = metrics.map((metric) => ({ metric, aggregator: metric.aggregator() }));
  }

  /** A ShardSink: add the rows `rows` of one shard of `table`. */
  readonly add = (table: string, columns: TableColumns['columns'], rows: readonly number[]): void => {
    if (table === 'errors') return this.addErrors(columns, rows);
    for (const { metric, aggregator } of this.metrics) {
      if (metric.tables.some((t) => t.name === table)) aggregator.add({ table, columns, rows });
    }
  };

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
    const merged = Object.assign({}, ...this.metrics.map(({ aggregator }) => aggregator.finish())) as MetricAggregates;
    const errorsByStage: ErrorCount[] = [...this.errors.entries()]
      .map(([stage, g]) => ({
        stage,
        count: g.count,
        reasons: [...g.reasons.entries()]
          .map(([reason, count]) => ({ reason, count }))
          .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
      }))
      .sort((a, b) => b.count - a.count || a.stage.localeCompare(b.stage));
    return { ...merged, errorsByStage };
  }
}

/**
 * One row per method condensing every figure: each metric's summary columns, in registry order
 * (averages over patch sizes / energies are unweighted).
 */
export function methodSummaries(
  a: Aggregates,
  methods: readonly string[],
  metrics: readonly AnyMetric[] = registeredMetrics(),
): MethodSummary[] {
  return methods.map((method) => ({
    method,
    values: Object.fromEntries(metrics.flatMap((m) => m.summary.map((col) => [col.name, col.value(a, method)]))),
  }));
}

/** Methods with any aggregated number, by each metric's own account. */
export function methodsIn(a: Aggregates, metrics: readonly AnyMetric[] = registeredMetrics()): string[] {
  return metrics.flatMap((m) => m.methodsIn(a));
}
