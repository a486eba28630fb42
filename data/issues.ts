/**
 * File-level dataset problems (DatasetReader.issues: unreadable annotation lines, a class list in
 * another order, …) worded for people: `run` prints these lines when it opens the dataset, and
 * `status` and the report can show the same ones. Per-image problems are `errors` rows instead.
 */
import { datasetFromConfig } from './factory.js';
import type { DatasetRunSpec } from './spec.js';
import type { DatasetReader } from './types.js';

/** How many problems are listed one by one before the rest are only counted. */
export const LISTED_ISSUES = 20;

/**
 * Lines describing the reader's file-level problems (none: an empty list). The first line says
 * what they mean for the run (images are still evaluated; the affected labels or boxes are
 * missing); the others list the problems, at most `limit`, then how many more there are.
 */
export function formatDatasetIssues(reader: Pick<DatasetReader, 'name' | 'issues'>, limit = LISTED_ISSUES): string[] {
  const issues = reader.issues ?? [];
  if (issues.length === 0) return [];
  const n = issues.length;
  const lines = [
    `dataset ${reader.name}: ${n} problem${n === 1 ? '' : 's'} in its files ` +
      '(the run goes on; images whose annotation could not be read have no label or boxes — fix the files and start a new run to include them):',
  ];
  for (const issue of issues.slice(0, Math.max(0, limit))) lines.push(`  - ${issue}`);
  if (n > limit) lines.push(`  … and ${n - limit} more`);
  return lines;
}

/**
 * The file-level problems of the dataset a run's config names, for `status` and the report,
 * which see only the run directory: the reader is rebuilt from the stored config. Never throws:
 * when the dataset's files cannot be read from here (another machine's paths), the one line says
 * so instead.
 */
export function datasetIssueLines(config: DatasetRunSpec, limit = LISTED_ISSUES): string[] {
  let reader: DatasetReader;
  try {
    reader = datasetFromConfig(config);
  } catch (err) {
    const first = ((err as Error).message ?? String(err)).split('\n')[0];
    return [`dataset ${config.dataset.kind}: its files could not be read from here, so file-level problems are not listed (${first})`];
  }
  return formatDatasetIssues(reader, limit);
}
