import type { Target } from './types.js';

/** A class list in the model's output order (ImageNet: wnids sorted; digits: '0'…'9'). */
export interface ClassList {
  wnids: string[];
  names: string[];
}

/**
 * Resolves what the user asked for into a class index: `top1`, `top2` (second most probable),
 * `gt` (needs a label), a class index, a wnid, or a class name (the latter two need a class list).
 * `scores` are the logits (preferred: float32 probabilities underflow and tie) or probabilities.
 */
export function resolveTarget(spec: string | number, scores: ArrayLike<number>, label: number, classes?: ClassList): Target {
  const n = scores.length;
  if (typeof spec === 'number' || /^\d+$/.test(spec)) {
    const i = Number(spec);
    if (i >= n) throw new Error(`target class ${i} is outside the model's ${n} classes (0…${n - 1})`);
    return { kind: 'index', classIndex: i };
  }
  if (spec === 'top1' || spec === 'top2') {
    const order = rankClasses(scores);
    return { kind: spec, classIndex: order[spec === 'top1' ? 0 : 1]! };
  }
  if (spec === 'gt') {
    if (label < 0) throw new Error("target 'gt' needs a ground-truth label, and this image has none");
    return { kind: 'gt', classIndex: label };
  }
  if (!classes)
    throw new Error(`target '${spec}' is a class name or wnid, but no class list is known for this model (use an index, top1, top2 or gt)`);
  const lower = spec.toLowerCase();
  let i = classes.wnids.indexOf(spec);
  if (i < 0) i = classes.names.findIndex((x) => x.toLowerCase() === lower);
  if (i < 0) throw new Error(`target '${spec}' is neither a wnid nor a class name of this model's class list`);
  return { kind: 'index', classIndex: i };
}

/** Class indices by decreasing score (logit or probability; ties: lower index first). */
export function rankClasses(probs: ArrayLike<number>): number[] {
  return Array.from({ length: probs.length }, (_, i) => i).sort((a, b) => probs[b]! - probs[a]! || a - b);
}
