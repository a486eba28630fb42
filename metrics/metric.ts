/**
 * The metric contract (Quantus-style): one module per metric says everything the pipeline and the
 * report need to know about it, so adding a metric is one module plus one line in
 * metrics/registry.ts. A metric declares
 *   - its name, what "better" means and what it applies to;
 *   - its config: the slice of the run config it reads (a zod schema with defaults, under one key);
 *   - the per-image rows it produces (its Arrow table specs, from results/schemas.ts);
 *   - how rows are computed from a batch's evaluation context (the stage; the math stays in stages/);
 *   - how rows aggregate into per-method curves and summary numbers;
 *   - its figures, report tables and report sections.
 * Config validation, the shard worker, the evaluate stage, the tables a phase writes, report
 * loading, aggregation and the report's figures all walk the registered list.
 */
import type { z } from 'zod';
import type { Explanation } from '../engine/types.js';
import type { Reads } from '../engine/reads.js';
import type { Sample } from '../data/types.js';
import type { TableSpec } from '../results/schemas.js';
import type { TableColumns } from '../results/table-io.js';
import type { TableRows } from '../stages/rows.js';
import type { ChartOptions, CurveDatum } from '../stages/report/charts.js';
import type { ReportTable } from '../stages/report/report-tables.js';
import type { Block } from '../stages/report/sections.js';

/** One image of a batch as a metric sees it: the sample, every map computed for it, its softmax. */
export interface MetricItem {
  sample: Sample;
  explanations: Explanation[];
  probs: Float32Array;
}

/** A masked copy of item `image`: the box (inclusive rows/cols) is replaced by the run's fill image. */
export interface MaskedInput {
  image: number;
  r0: number;
  r1: number;
  c0: number;
  c1: number;
}

/**
 * A micro-batch inside the relevance pass, while its forward cache is alive: metrics that
 * re-classify modified inputs do it here, incrementally from the cached activations.
 */
export interface GroupContext<Config> {
  items: MetricItem[];
  config: Config;
  /** Softmax probabilities of each masked input (one classification per entry, in order). */
  classifyMasked(masks: readonly MaskedInput[]): Reads<Float32Array[]>;
}

/** A whole batch after every map is computed: metrics that need only the maps (and annotations). */
export interface BatchContext<Config> {
  items: MetricItem[];
  config: Config;
}

/** Columns of one shard of one table, and the row indices to count (duplicates already removed). */
export interface ShardColumns {
  table: string;
  columns: TableColumns['columns'];
  rows: readonly number[];
}

/** Folds a metric's rows, shard by shard, into its aggregates (never keeping whole tables). */
export interface MetricAggregator<Aggregates extends object> {
  add(shard: ShardColumns): void;
  finish(): Aggregates;
}

/** A figure of the report: a curve per method with 95% CI bands, its data table and text. */
export interface MetricFigure<Aggregates extends object> {
  /** File stem of the figure's SVG/PNG and anchor in the report (e.g. `fig11a`). */
  id: string;
  title: string;
  caption: string;
  chart: Omit<ChartOptions, 'title'>;
  curve(aggregates: Aggregates): CurveDatum[];
  /** Tables shown under the figure (the curve's numbers), given the report's method order. */
  blocks(aggregates: Aggregates, methods: readonly string[]): Block[];
}

/** One column of the report's per-method summary table. */
export interface SummaryColumn<Aggregates extends object> {
  /** CSV/Arrow column name. */
  name: string;
  /** Header in the rendered report. */
  title: string;
  type: 'int' | 'number';
  /** How the rendered report prints it. */
  format: 'number' | 'percent' | 'count';
  value(aggregates: Aggregates, method: string): number;
}

export interface Metric<Config, Aggregates extends object, ConfigKey extends string = string> {
  /** Unique name (table columns and messages use it). */
  name: string;
  title: string;
  /** Which way is better for its headline number. */
  direction: 'higher-is-better' | 'lower-is-better';
  /** What it is computed for: target kinds (`all` = every target the run explains) and what an image needs. */
  appliesTo: { targetKinds: readonly string[] | 'all'; needs: readonly ('label' | 'boxes')[] };
  /** docs/PROTOCOL.md section that defines it. */
  protocol: string;
  config: {
    /** Key of its slice in the run config (`masking:` in YAML). */
    key: ConfigKey;
    /** Strict object schema whose fields all have defaults; messages written for users. */
    schema: z.ZodType<Config>;
    /** Checks against the rest of the config (model input size…): problems with their field paths. */
    check?(config: Config, run: { model: { size: number } }): { path: string; message: string }[];
  };
  /** The tables it writes in the main phase, one Arrow file per shard each. */
  tables: readonly TableSpec[];
  stage: {
    onGroup?(ctx: GroupContext<Config>): Reads<TableRows>;
    onBatch?(ctx: BatchContext<Config>): TableRows;
  };
  aggregator(): MetricAggregator<Aggregates>;
  figures: readonly MetricFigure<Aggregates>[];
  /** CSV + Arrow tables written beside the report (figure data first, by convention named after the figure). */
  reportTables(aggregates: Aggregates): ReportTable[];
  /** Sections of its own after the figures (e.g. the original pointing game); none by default. */
  sections?(aggregates: Aggregates, methods: readonly string[]): Block[];
  summary: readonly SummaryColumn<Aggregates>[];
  /** Methods present in its aggregates (the report's method list is the union over metrics). */
  methodsIn(aggregates: Aggregates): string[];
}

/**
 * A metric with its types erased, as the registry holds it. Methods are declared with method
 * syntax above, so a `Metric<MaskingConfig, …>` is assignable here.
 */
export type AnyMetric = Metric<unknown, object>;
