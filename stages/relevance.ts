import type { Explanation } from '../engine/types.js';
import type { Row } from '../results/schemas.js';
import type { Sample } from '../data/types.js';
import { argmaxFirst } from './masking-geometry.js';

/** One `relevance` row per map: where its maximum is and how much positive mass it has. */
export function relevanceRow(sample: Sample, e: Explanation): Row {
  const { row, col } = argmaxFirst(e.map, e.height, e.width);
  let sum = 0;
  let positive = 0;
  for (const v of e.map) {
    sum += v;
    if (v > 0) positive++;
  }
  return {
    image_id: sample.id,
    image_index: sample.index,
    method: e.method,
    target_kind: e.target.kind,
    target_class: e.target.classIndex,
    argmax_row: row,
    argmax_col: col,
    map_max: row >= 0 ? e.map[row * e.width + col]! : NaN,
    map_sum: sum,
    positive_count: positive,
  };
}
