/**
 * The list of metrics every run computes. Adding a metric: write its module (see metric.ts) and
 * add it to BUILTIN_METRICS below. Everything that depends on the metrics (config fields, the
 * tables a shard writes, the evaluate stage, report loading, aggregation, figures and sections)
 * reads this list, so nothing else changes.
 */
import { z } from 'zod';
import { TABLES, type TableSpec } from '../results/schemas.js';
import { maskingMetric } from './masking.js';
import type { AnyMetric, Metric } from './metric.js';
import { pointingMetric } from './pointing.js';

/** The built-in metrics, in report order. */
export const BUILTIN_METRICS = [maskingMetric, pointingMetric] as const;

type BuiltinMetric = (typeof BUILTIN_METRICS)[number];
type ConfigOf<M> = M extends Metric<infer C, object, string> ? C : never;
type AggregatesOf<M> = M extends Metric<unknown, infer A, string> ? A : never;
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** Each built-in metric's config slice under its key: `{ masking: MaskingConfig; pointing: PointingConfig }`. */
export type MetricConfigs = { [M in BuiltinMetric as M['config']['key']]: ConfigOf<M> };

/** Every built-in metric's aggregates merged (`{ masking, pointing, pointingGame }`). */
export type MetricAggregates = UnionToIntersection<AggregatesOf<BuiltinMetric>>;

/** Tables every main-phase shard writes whatever the metrics (`errors` goes last). */
const CORE_MAIN_TABLES = ['forward', 'relevance'] as const;
/** Tables that belong to no metric (the stats pre-pass, forward, relevance, errors). */
const CORE_TABLES = ['stats', ...CORE_MAIN_TABLES, 'errors'];

const registered: AnyMetric[] = [...(BUILTIN_METRICS as readonly AnyMetric[])];

/** The metrics in force, built-ins first, then any registered by a plugin or a test. */
export function registeredMetrics(): readonly AnyMetric[] {
  return registered;
}

/**
 * Adds a metric in this thread (for extensions and tests: built-ins are listed in BUILTIN_METRICS).
 * A pipeline run's shard workers are separate threads that import this module afresh, so a
 * metric a run must compute belongs in BUILTIN_METRICS; registerMetric serves code that calls
 * the stages and the report in-process (library users, tests). Its name,
 * config key, tables and figure ids must not collide with anything already there, since each of
 * them names a file, a config field or a report anchor.
 */
export function registerMetric<C, A extends object, K extends string>(metric: Metric<C, A, K>): void {
  const m = metric as unknown as AnyMetric;
  const taken = (what: string, value: string, values: Iterable<string>) => {
    if ([...values].includes(value)) throw new Error(`metric ${m.name}: ${what} "${value}" is already used; pick another`);
  };
  taken(
    'name',
    m.name,
    registered.map((r) => r.name),
  );
  taken('config key', m.config.key, [...registered.map((r) => r.config.key), ...RESERVED_CONFIG_KEYS]);
  for (const t of m.tables) taken('table', t.name, [...CORE_TABLES, ...registered.flatMap((r) => r.tables.map((s) => s.name))]);
  for (const f of m.figures)
    taken(
      'figure id',
      f.id,
      registered.flatMap((r) => r.figures.map((g) => g.id)),
    );
  registered.push(m);
}

/** Removes a metric added by registerMetric (tests restore the registry with it). */
export function unregisterMetric(name: string): void {
  const i = registered.findIndex((m) => m.name === name);
  if (i < BUILTIN_METRICS.length) throw new Error(`unregisterMetric: "${name}" is ${i < 0 ? 'not registered' : 'built in'}`);
  registered.splice(i, 1);
}

/** Top-level run config fields that are not metrics (a metric's config key must avoid them). */
const RESERVED_CONFIG_KEYS = [
  'name',
  'dataset',
  'model',
  'methods',
  'variant',
  'composite',
  'targets',
  'shardSize',
  'batchSize',
  'passBudgetMB',
  'workers',
  'backend',
  'seed',
  'examples',
  'keepMaps',
];

/** The tables the main phase writes for every shard, in the order they are written. */
export function mainPhaseTables(metrics: readonly AnyMetric[] = registered): string[] {
  return [...CORE_MAIN_TABLES, ...metrics.flatMap((m) => m.tables.map((t) => t.name)), 'errors'];
}

/** The spec of a table by name: a core table of results/schemas.ts or one a metric declares. */
export function tableSpec(name: string, metrics: readonly AnyMetric[] = registered): TableSpec {
  const own = metrics.flatMap((m) => m.tables).find((t) => t.name === name);
  const spec = own ?? (TABLES as Record<string, TableSpec>)[name];
  if (!spec) throw new Error(`no table "${name}": neither results/schemas.ts nor a registered metric declares it`);
  return spec;
}

/**
 * The run config fields of the metrics: each key's schema, defaulted as a whole when the YAML
 * leaves it out (prefault: the missing mapping is parsed as `{}`, so every field's default applies).
 */
export function metricConfigShape(metrics: readonly AnyMetric[] = registered): Record<string, z.ZodType> {
  return Object.fromEntries(metrics.map((m) => [m.config.key, (m.config.schema as z.ZodType).prefault({})]));
}

/** Field names of a metric's config mapping (for "unknown field (allowed here: …)" messages). */
export function metricConfigFields(key: string, metrics: readonly AnyMetric[] = registered): string[] | undefined {
  const schema = metrics.find((m) => m.config.key === key)?.config.schema;
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : undefined;
}

/** Each metric's config slice taken from a run config (what the shard worker hands the evaluate stage). */
export function metricConfigsOf(config: object, metrics: readonly AnyMetric[] = registered): MetricConfigs {
  const c = config as Record<string, unknown>;
  return Object.fromEntries(metrics.map((m) => [m.config.key, c[m.config.key]])) as MetricConfigs;
}
