import type { Explanation } from '../engine/types.js';
import type { Row } from '../results/schemas.js';
import type { Sample } from '../data/types.js';
import { boxMask, energyCurve, pointingGameHit } from './pointing-metrics.js';

/**
 * The extended pointing game (docs/PROTOCOL.md §5) for the ground-truth target of images with boxes:
 * one `pointing` row per energy level and method, one `pointing_game` row per method. Each
 * `pointing` row also says whether one of the image's boxes was clipped to the image
 * (`box_clipped`, docs/PROTOCOL.md §6), so the report can count such images.
 */
export function pointingRows(
  sample: Sample,
  explanations: Explanation[],
  energies: readonly number[],
  tolerance: number,
): { pointing: Row[]; pointing_game: Row[] } {
  const out = { pointing: [] as Row[], pointing_game: [] as Row[] };
  if (sample.boxes.length === 0) return out;
  const { height: h, width: w } = sample;
  const inBox = boxMask(sample.boxes, h, w);
  const boxClipped = sample.annotation?.boxClipped ?? false;
  for (const e of explanations) {
    if (e.target.kind !== 'gt') continue;
    const base = { image_id: sample.id, image_index: sample.index, method: e.method };
    for (const p of energyCurve(e.map, h, w, inBox, energies)) {
      out.pointing.push({
        ...base,
        energy: p.energy,
        hits: p.hits,
        misses: p.misses,
        accuracy: p.accuracy,
        empty: p.empty,
        box_clipped: boxClipped,
      });
    }
    const g = pointingGameHit(e.map, h, w, inBox, tolerance);
    out.pointing_game.push({ ...base, hit: g.hit, hit_tolerance: g.hitTolerance });
  }
  return out;
}

/**
 * How many distinct images in `pointing` rows had a ground-truth box clipped to the image (the
 * `box_clipped` column): the number the report shows next to the pointing-game curves. Rows
 * written before the column existed count as not clipped.
 */
export function clippedBoxImageCount(pointing: readonly Row[]): number {
  const images = new Set<number>();
  for (const r of pointing) if (r['box_clipped'] === true) images.add(Number(r['image_index']));
  return images.size;
}
