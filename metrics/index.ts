/** Evaluation metrics: the contract, the built-in metrics and the registry. */
export type {
  AnyMetric,
  BatchContext,
  GroupContext,
  MaskedInput,
  Metric,
  MetricAggregator,
  MetricFigure,
  MetricItem,
  ShardColumns,
  SummaryColumn,
} from './metric.js';
export { maskingMetric, DEFAULT_PATCH_SIZES, FILLS, type MaskingAggregates, type MaskingConfig } from './masking.js';
export {
  pointingMetric,
  DEFAULT_ENERGIES,
  DEFAULT_TOLERANCE,
  energyKey,
  type PointingAggregates,
  type PointingConfig,
} from './pointing.js';
export {
  BUILTIN_METRICS,
  mainPhaseTables,
  metricConfigFields,
  metricConfigShape,
  metricConfigsOf,
  registerMetric,
  registeredMetrics,
  tableSpec,
  unregisterMetric,
  type MetricAggregates,
  type MetricConfigs,
} from './registry.js';
