/**
 * The report's "Example heatmaps" section: one table per target kind (input + one column per
 * method, so a row fits a 1,400 px page), each row labelled with the image id, why it was chosen
 * and the ground-truth and second classes with their probabilities, and one colour legend that
 * holds for every heatmap (each map is scaled to its own maximum, io/heatmap.ts).
 */
import { colormap } from '../../io/colormap.js';
import { encodePng } from '../../io/heatmap.js';
import { columnTitle } from './examples.js';
import { fmt } from './format.js';
import { REASON_TEXT, type LabelledExample } from './labelled-examples.js';
import { compareTargetKinds } from './method-order.js';
import type { ReportModel } from './model.js';
import type { Block, Legend } from './sections.js';

const LEGEND_STEPS = 11;

/** The heatmap colour scale as CSS gradient stops (same colormap as the PNGs). */
export function legendCssStops(): string {
  return Array.from({ length: LEGEND_STEPS }, (_, i) => {
    const [r, g, b] = colormap(i / (LEGEND_STEPS - 1));
    return `rgb(${r},${g},${b}) ${Math.round((100 * i) / (LEGEND_STEPS - 1))}%`;
  }).join(', ');
}

/** The same scale as a 256×16 PNG, for the Markdown report. */
export async function legendPng(): Promise<Buffer> {
  const w = 256;
  const h = 16;
  const px = new Uint8Array(w * h * 3);
  for (let x = 0; x < w; x++) {
    const c = colormap(x / (w - 1));
    for (let y = 0; y < h; y++) px.set(c, (y * w + x) * 3);
  }
  return encodePng(px, h, w);
}

export const LEGEND_FILE = 'heatmap-legend.png';

export function heatmapLegend(): Legend {
  return {
    cssStops: legendCssStops(),
    png: LEGEND_FILE,
    low: '0 (and negative)',
    high: 'maximum of that map',
    note: 'Every heatmap is scaled to its own maximum |R| and blended 70% over the input; zero and negative relevance are black.',
  };
}

function targetKindOf(key: string): string | null {
  const i = key.lastIndexOf('_');
  return i > 0 ? key.slice(i + 1) : null;
}

function caption(e: LabelledExample): string[] {
  const adv = Number.isFinite(e.advantage) ? `SGLRP advantage ${e.advantage > 0 ? '+' : ''}${fmt(e.advantage)}` : 'SGLRP advantage n/a';
  return [e.imageId, `${REASON_TEXT[e.reason]} (${adv})`, e.gtText, e.secondText].filter((s) => s !== '');
}

export function exampleBlocks(model: ReportModel, src: (path: string) => string): Block[] {
  const blocks: Block[] = [{ kind: 'heading', level: 2, text: 'Example heatmaps', anchor: 'examples' }];
  const rows = model.labelledExamples;
  if (rows.length === 0) return [...blocks, { kind: 'paragraph', text: 'No example heatmaps in the run directory (RUN_DIR/examples/).' }];
  blocks.push({
    kind: 'paragraph',
    text:
      "Chosen deliberately (docs/PROTOCOL.md §8): SGLRP's biggest wins and losses by paired difference (its masking drop minus the other methods' mean drop, " +
      "averaged over targets and patch sizes), then seeded random images. SGLRP advantage > 0: SGLRP's patch mattered more on this image.",
  });
  const columns = model.examples.columns.filter((k) => k !== 'input');
  const kinds = [...new Set(columns.map(targetKindOf).filter((k): k is string => k !== null))].sort(compareTargetKinds);
  const legend = heatmapLegend();
  for (const kind of kinds) {
    const keys = ['input', ...columns.filter((k) => targetKindOf(k) === kind)];
    blocks.push({
      kind: 'heading',
      level: 3,
      text: kind === 'gt' ? 'Target: ground truth' : kind === 'top2' ? 'Target: 2nd most probable class' : `Target: ${kind}`,
      anchor: `examples-${kind}`,
    });
    blocks.push({
      kind: 'examples',
      header: ['image', ...keys.map(columnTitle)],
      keys,
      rows: rows.map((r) => ({
        imageId: r.imageId,
        caption: caption(r),
        cells: keys.map((k) => (r.files.has(k) ? src(r.files.get(k)!) : null)),
      })),
      legend,
    });
  }
  return blocks;
}
