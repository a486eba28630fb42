/** Pieces the built-in metrics share in their report tables. */
import { meanCI95 } from '../stages/statistics.js';
import type { ReportColumnType } from '../stages/report/report-tables.js';

/** A mean with its 95% interval (stages/statistics.ts `meanCI95`), as report table columns. */
export const CI_COLUMNS: readonly { name: string; type: ReportColumnType }[] = [
  { name: 'n', type: 'int' },
  { name: 'mean', type: 'number' },
  { name: 'lo', type: 'number' },
  { name: 'hi', type: 'number' },
  { name: 'sd', type: 'number' },
  { name: 'ignored', type: 'int' },
];

/** Mean of the finite values (NaN when there are none): per-method summaries average a curve over its x axis. */
export function finiteMean(values: readonly number[]): number {
  return meanCI95(values).mean;
}
