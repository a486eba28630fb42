import { rankClasses } from '../engine/targets.js';
import type { Target } from '../engine/types.js';
import type { Row } from '../results/schemas.js';
import type { Sample } from '../data/types.js';

/** Target kinds a run evaluates (docs/PROTOCOL.md §4: the ground truth and the second most probable class). */
export type RunTargetKind = 'gt' | 'top2';

/**
 * The run's targets for one image, or why it cannot be evaluated. Classes are ranked by logits:
 * float32 probabilities of confident models underflow to 0 and would tie.
 */
export function runTargets(sample: Sample, logits: ArrayLike<number>, kinds: readonly RunTargetKind[]): Target[] | string {
  const order = rankClasses(logits);
  const out: Target[] = [];
  for (const k of kinds) {
    if (k === 'gt') {
      if (sample.label < 0) return 'no ground-truth label for this image: it cannot be evaluated for target gt';
      out.push({ kind: 'gt', classIndex: sample.label });
    } else out.push({ kind: 'top2', classIndex: order[1]! });
  }
  return out;
}

/** One `forward` row: top-5, p(gt), the resolved targets and all logits. */
export function forwardRow(sample: Sample, logits: Float32Array, probs: Float32Array): Row {
  const order = rankClasses(logits);
  const row: Row = {
    image_id: sample.id,
    image_index: sample.index,
    label: sample.label,
    p_gt: sample.label >= 0 ? probs[sample.label]! : NaN,
    target_gt: sample.label,
    target_top2: order[1]!,
    logits,
  };
  for (let k = 0; k < 5; k++) {
    row[`top${k + 1}`] = order[k] ?? -1;
    row[`p_top${k + 1}`] = order[k] === undefined ? NaN : probs[order[k]!]!;
  }
  return row;
}
