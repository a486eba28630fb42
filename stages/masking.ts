import type { Explanation } from '../engine/types.js';
import type { Row } from '../results/schemas.js';
import type { Sample } from '../data/types.js';
import { argmaxFirst, patchBounds, type PatchBounds } from './masking-geometry.js';

/**
 * Maximal patch masking (docs/PROTOCOL.md §4). Every (method, target, patch size) of an image yields a masked
 * input; inputs that coincide — same image, same patch, whatever the method or target — are
 * classified once. A masked input is described by its image and patch (the pixels come from the
 * fill image), so the engine can re-classify it incrementally from the unmasked activations.
 */
export interface MaskingPlan {
  /** Distinct masked inputs to classify: item index + patch bounds. */
  masks: (PatchBounds & { image: number })[];
  /** Rows waiting for y_after: `input` indexes `masks`. */
  pending: { row: Row; input: number; targetClass: number }[];
}

export function planMasking(
  items: { sample: Sample; explanations: Explanation[]; probs: Float32Array }[],
  patchSizes: readonly number[],
): MaskingPlan {
  const plan: MaskingPlan = { masks: [], pending: [] };
  items.forEach(({ sample, explanations, probs }, image) => {
    const { height: h, width: w } = sample;
    const seen = new Map<string, number>();
    for (const e of explanations) {
      const centre = argmaxFirst(e.map, h, w);
      for (const p of patchSizes) {
        const b = patchBounds(centre.row, centre.col, p, h, w);
        // The masked image depends only on the patch, y_after also on the target class.
        const key = `${b.r0},${b.r1},${b.c0},${b.c1}`;
        let input = seen.get(key);
        if (input === undefined) {
          input = plan.masks.length;
          plan.masks.push({ image, ...b });
          seen.set(key, input);
        }
        const before = probs[e.target.classIndex]!;
        plan.pending.push({
          input,
          targetClass: e.target.classIndex,
          row: {
            image_id: sample.id,
            image_index: sample.index,
            method: e.method,
            target_kind: e.target.kind,
            target_class: e.target.classIndex,
            patch_size: p,
            center_row: centre.row,
            center_col: centre.col,
            y_before: before,
            y_after: NaN,
            drop: NaN,
          },
        });
      }
    }
  });
  return plan;
}

/** Fills y_after and drop from the probabilities of each distinct masked input. */
export function finishMasking(plan: MaskingPlan, probsAfter: Float32Array[]): Row[] {
  return plan.pending.map(({ row, input, targetClass }) => {
    const after = probsAfter[input]![targetClass]!;
    return { ...row, y_after: after, drop: (row['y_before'] as number) - after };
  });
}
