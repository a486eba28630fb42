/**
 * What the errors table of a run's finished shards says, summed up for the console: how many
 * images could not be evaluated and why, so a run that "finished" with unreadable or unlabelled
 * images says so at its end instead of only in the report.
 */
import { readTableRows } from '../results/table-io.js';
import type { ManifestRecord } from '../results/run-format.js';

/** The reasons, by the stage that recorded them (workers/shard-worker.ts, stages/evaluate.ts). */
const KINDS: Record<string, string> = { read: 'unreadable', forward: 'without a label', pointing: 'without a usable box' };

export interface ImageErrorSummary {
  /** Distinct images with at least one error row. */
  images: number;
  /** Images per kind ("unreadable", "without a label", …), largest first. */
  kinds: [string, number][];
}

/** Read the errors tables the records list (each checked against its sha256). */
export async function summarizeImageErrors(
  records: readonly ManifestRecord[],
  resolvePath: (rel: string) => string,
): Promise<ImageErrorSummary> {
  const byKind = new Map<string, Set<string>>();
  const all = new Set<string>();
  for (const record of records) {
    for (const file of record.files) {
      if (file.table !== 'errors' || file.rows === 0) continue;
      for (const row of await readTableRows(resolvePath(file.path), file.sha256)) {
        const id = String(row['image_id']);
        const kind = KINDS[String(row['stage'])] ?? `failed at ${String(row['stage'])}`;
        all.add(id);
        if (!byKind.has(kind)) byKind.set(kind, new Set());
        byKind.get(kind)!.add(id);
      }
    }
  }
  const kinds = [...byKind].map(([k, ids]): [string, number] => [k, ids.size]).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return { images: all.size, kinds };
}

/** "4 images could not be evaluated: 2 unreadable, 1 without a label, 1 without a usable box"; '' when none. */
export function formatImageErrors(summary: ImageErrorSummary): string {
  if (summary.images === 0) return '';
  const n = summary.images;
  return `${n} image${n === 1 ? '' : 's'} could not be evaluated: ${summary.kinds.map(([k, c]) => `${c} ${k}`).join(', ')}`;
}
