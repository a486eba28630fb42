/** The report stage's public surface: build a report from run directories. */
export { buildReport, type BuildReportOptions, type BuildReportResult } from './build-report.js';
export type { Claim, Verdict, MaskingPoint, PointingPoint, PointingGameRate, MethodSummary, Problem, RunInfo } from './types.js';
