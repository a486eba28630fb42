/**
 * The report's example rows, chosen and labelled: among the images whose heatmaps the workers
 * saved (each shard's candidates, example-choice.ts), SGLRP's k biggest wins and k biggest losses
 * by paired difference and k seeded random images; each row names the image, why it was chosen,
 * the ground-truth class and the second most probable class with their probabilities.
 */
import type { ClassNamer } from './class-names.js';
import { chooseExamples, randomExampleKey, sglrpAdvantage, type DropEntry, type ExampleReason } from './example-choice.js';
import { fmt } from './format.js';
import type { ForwardInfo, PerImageCollector } from './per-image.js';
import type { ExampleRow } from './types.js';

export interface LabelledExample extends ExampleRow {
  reason: ExampleReason;
  /** SGLRP's drop minus the other methods' mean drop, averaged over targets and patch sizes. */
  advantage: number;
  forward: ForwardInfo | null;
  /** "gt 3 (p 0.912)", "2nd 5 (p 0.041)". */
  gtText: string;
  secondText: string;
}

/** Every masking value of one image, for its SGLRP advantage. */
export function imageDrops(data: PerImageCollector, imageNumber: number): DropEntry[] {
  const out: DropEntry[] = [];
  for (const s of data.allSeries()) {
    if (s.metric !== 'masking') continue;
    const v = s.values[imageNumber];
    if (v !== undefined && Number.isFinite(v)) out.push({ method: s.method, targetKind: s.targetKind, patchSize: s.x, drop: v });
  }
  return out;
}

export const REASON_TEXT: Record<ExampleReason, string> = { win: 'SGLRP wins', loss: 'SGLRP loses', random: 'random pick' };

export function labelExamples(
  rows: readonly ExampleRow[],
  data: PerImageCollector,
  names: ClassNamer,
  seed: number,
  perKind: number,
): LabelledExample[] {
  const candidates = rows.map((row) => {
    const n = data.numberOf(row.imageId);
    const advantage = n === undefined ? NaN : sglrpAdvantage(imageDrops(data, n));
    return { imageId: row.imageId, row, n, advantage, randomKey: randomExampleKey(seed, row.imageId) };
  });
  return chooseExamples(candidates, perKind).map(({ candidate: c, reason }) => {
    const f = c.n === undefined ? null : (data.forward[c.n] ?? null);
    const gtText = f ? (f.label >= 0 ? `gt ${names(f.label)} (p ${fmt(f.pGt, 3)})` : 'gt unknown') : 'no forward row';
    // The second class is the run's own `top2` target: the most probable class other than the top one.
    const secondText = f ? `2nd ${names(f.top[1]!)} (p ${fmt(f.pTop[1]!, 3)})` : '';
    return { ...c.row, reason, advantage: c.advantage, forward: f, gtText, secondText };
  });
}
