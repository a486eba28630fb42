/**
 * Per-image problems the report names one by one (docs/PROTOCOL.md §5–§6): every image in the
 * errors table with its stage and reason, and the images whose ground-truth box was clipped to
 * the image. A ShardSink beside the aggregates (load-runs.ts), keeping one small record per
 * problem, never a whole table.
 */
import type { TableColumns } from '../../results/table-io.js';
import type { ReportTable } from './report-tables.js';

export interface FailedImage {
  imageId: string;
  stage: string;
  reason: string;
}

/** How many failed images the report lists inline; the rest are in failed-images.csv. */
export const LISTED_FAILED_IMAGES = 50;

export class ImageProblemCollector {
  readonly failed: FailedImage[] = [];
  private readonly clipped = new Set<string>();

  readonly add = (table: string, columns: TableColumns['columns'], rows: readonly number[]): void => {
    if (table === 'errors') {
      const ids = columns.image_id as string[];
      const stages = columns.stage as string[];
      const reasons = columns.reason as string[];
      for (const i of rows) this.failed.push({ imageId: ids[i]!, stage: stages[i]!, reason: reasons[i]! });
    } else if (table === 'pointing' && columns.box_clipped) {
      const ids = columns.image_id as string[];
      const clipped = columns.box_clipped as boolean[];
      for (const i of rows) if (clipped[i]) this.clipped.add(ids[i]!);
    }
  };

  /** Images with at least one ground-truth box clipped to the image (the pointing table's box_clipped). */
  get clippedBoxImages(): number {
    return this.clipped.size;
  }

  /** Failed images in a stable order (image id, then stage), for the report and its CSV. */
  sortedFailures(): FailedImage[] {
    return [...this.failed].sort((a, b) => (a.imageId < b.imageId ? -1 : a.imageId > b.imageId ? 1 : a.stage.localeCompare(b.stage)));
  }
}

/** failed-images.csv / .arrow: every row of the errors table, named. */
export function failedImagesTable(failed: readonly FailedImage[]): ReportTable {
  return {
    name: 'failed-images',
    columns: [
      { name: 'image_id', type: 'string' },
      { name: 'stage', type: 'string' },
      { name: 'reason', type: 'string' },
    ],
    rows: failed.map((f) => ({ image_id: f.imageId, stage: f.stage, reason: f.reason })),
  };
}
