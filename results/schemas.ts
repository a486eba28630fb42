/**
 * The Arrow tables every run writes, one file per table per shard. This file is the single
 * source of truth for their columns: writers build Arrow schemas from it, the report reads by
 * these names. Row objects are plain JS objects keyed by column name.
 */

export type ColumnType = 'utf8' | 'int32' | 'float32' | 'float64' | 'bool' | 'float32list';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  /** What the number means (docs/PROTOCOL.md section), shown in report appendices. */
  doc: string;
}

export interface TableSpec {
  /** A TableName, or the name of a table a registered metric declares (metrics/metric.ts). */
  name: string;
  columns: ColumnSpec[];
}

export const TABLE_NAMES = ['stats', 'forward', 'relevance', 'masking', 'pointing', 'pointing_game', 'errors'] as const;
export type TableName = (typeof TABLE_NAMES)[number];

const c = (name: string, type: ColumnType, doc: string): ColumnSpec => ({ name, type, doc });

export const TABLES: Record<TableName, TableSpec> = {
  /** Stats pre-pass: per shard, the pixel sums of the preprocessed images (for the mean fill). */
  stats: {
    name: 'stats',
    columns: [
      c('shard', 'int32', 'shard index'),
      c('count', 'int32', 'images summed in this shard'),
      c('sum', 'float32list', 'per-pixel, per-channel sum of preprocessed inputs, H×W×C row-major (float64 accumulated, stored float32)'),
    ],
  },
  forward: {
    name: 'forward',
    columns: [
      c('image_id', 'utf8', 'dataset image id'),
      c('image_index', 'int32', 'position in the dataset order'),
      c('label', 'int32', 'ground-truth class index, -1 if unknown'),
      c('top1', 'int32', 'most probable class'),
      c('top2', 'int32', 'second most probable class'),
      c('top3', 'int32', ''),
      c('top4', 'int32', ''),
      c('top5', 'int32', ''),
      c('p_top1', 'float32', 'softmax probability of top1'),
      c('p_top2', 'float32', ''),
      c('p_top3', 'float32', ''),
      c('p_top4', 'float32', ''),
      c('p_top5', 'float32', ''),
      c('p_gt', 'float32', 'probability of the ground truth (NaN if unknown)'),
      c('target_gt', 'int32', 'resolved target for kind gt (-1 if unknown)'),
      c('target_top2', 'int32', 'resolved target for kind top2'),
      c('logits', 'float32list', 'all logits'),
    ],
  },
  relevance: {
    name: 'relevance',
    columns: [
      c('image_id', 'utf8', ''),
      c('image_index', 'int32', ''),
      c('method', 'utf8', 'lrp|clrp|sglrp|gbp|gradcam|ggcam|random'),
      c('target_kind', 'utf8', 'gt|top2|top1|index'),
      c('target_class', 'int32', ''),
      c('argmax_row', 'int32', 'row of the map maximum (first in row-major order on ties; seeded for random)'),
      c('argmax_col', 'int32', ''),
      c('map_max', 'float32', ''),
      c('map_sum', 'float32', 'sum of the final map'),
      c('positive_count', 'int32', 'pixels with map > 0'),
    ],
  },
  masking: {
    name: 'masking',
    columns: [
      c('image_id', 'utf8', ''),
      c('image_index', 'int32', ''),
      c('method', 'utf8', ''),
      c('target_kind', 'utf8', 'gt|top2'),
      c('target_class', 'int32', ''),
      c('patch_size', 'int32', 'p of the p×p patch'),
      c('center_row', 'int32', 'patch centre'),
      c('center_col', 'int32', ''),
      c('y_before', 'float32', 'softmax probability of the target on the unmodified input'),
      c('y_after', 'float32', 'same after masking'),
      c('drop', 'float32', 'y_before − y_after (higher = better method), docs/PROTOCOL.md §4'),
    ],
  },
  pointing: {
    name: 'pointing',
    columns: [
      c('image_id', 'utf8', ''),
      c('image_index', 'int32', ''),
      c('method', 'utf8', ''),
      c('energy', 'float32', 'energy level E'),
      c('hits', 'int32', 'selected pixels inside the box union'),
      c('misses', 'int32', 'selected pixels outside'),
      c('accuracy', 'float32', 'hits/(hits+misses); 0 when no positive relevance'),
      c('empty', 'bool', 'true when the map has no positive value (flagged, docs/PROTOCOL.md §5)'),
      c('box_clipped', 'bool', 'a ground-truth box of this image reached outside the image and was clipped to it (docs/PROTOCOL.md §6)'),
    ],
  },
  pointing_game: {
    name: 'pointing_game',
    columns: [
      c('image_id', 'utf8', ''),
      c('image_index', 'int32', ''),
      c('method', 'utf8', ''),
      c('hit', 'bool', 'arg-max inside the box union'),
      c('hit_tolerance', 'bool', 'arg-max within the tolerance (default 15 px) of the box union'),
    ],
  },
  errors: {
    name: 'errors',
    columns: [
      c('image_id', 'utf8', ''),
      c('image_index', 'int32', ''),
      c('stage', 'utf8', 'read|forward|relevance|masking|pointing|stats'),
      c('reason', 'utf8', 'what went wrong and what to do'),
    ],
  },
};

/** A row of any table: column name → value (numbers, strings, booleans, Float32Array for lists). */
export type Row = Record<string, string | number | boolean | Float32Array>;
