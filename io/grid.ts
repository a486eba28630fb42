/**
 * A figure grid in the layout of the paper's Fig. 6: one row per image, columns = the input and
 * then each method. Each row has a label line on top (e.g. the image id and target class), each
 * tile a title line above it (e.g. the method). Tiles are blitted into a white canvas in JS
 * (exact pixels); text is one SVG composited by sharp, its text outlined with the bundled DejaVu
 * Sans (io/text-outlines.ts) so no system font is needed.
 *
 * Layout, all in pixels (see `gridLayout`, which tests and callers can use to find tiles):
 *   width  = PAD + Σ_columns (columnWidth + PAD)
 *   height = PAD + Σ_rows (labelHeight + titleHeight + rowHeight + PAD)
 * where labelHeight is 0 for a row with an empty label, titleHeight is 0 for a row whose tiles
 * all have empty titles, columnWidth/rowHeight are the widest/tallest (upscaled) tile in that
 * column/row, and each tile is centred in its cell.
 */
import sharp from 'sharp';

import { checkSize, upscaleNearest } from './raster.js';
import { outlineSvgText } from './text-outlines.js';

export interface GridTile {
  title: string;
  /** 8-bit RGB, row-major h × w × 3. */
  rgb: Uint8Array;
  h: number;
  w: number;
}

export interface GridRow {
  label: string;
  tiles: GridTile[];
}

export interface GridOptions {
  /**
   * Tiles whose longer side is below this are enlarged by the smallest integer factor that
   * reaches it (nearest neighbour), so 64×64 digits render at 192 px. Default 192; 1 disables.
   */
  minTileSize?: number;
}

export const GRID_PAD = 8;
export const GRID_LABEL_HEIGHT = 24;
export const GRID_TITLE_HEIGHT = 20;
const LABEL_FONT_PX = 15;
const TITLE_FONT_PX = 13;
/** DejaVu Sans advances average about 0.62 em; used to shorten text that would overflow. */
const CHAR_EM = 0.62;

export interface PlacedTile {
  row: number;
  column: number;
  left: number;
  top: number;
  /** Size after upscaling. */
  width: number;
  height: number;
  /** The integer upscaling factor applied. */
  factor: number;
}

export interface GridLayout {
  width: number;
  height: number;
  columnLeft: number[];
  columnWidth: number[];
  /** Top of each row's label band. */
  rowTop: number[];
  labelHeight: number[];
  titleHeight: number[];
  rowHeight: number[];
  tiles: PlacedTile[];
}

function upscaleFactor(h: number, w: number, minTileSize: number): number {
  return Math.max(1, Math.ceil(minTileSize / Math.max(h, w)));
}

/** Where everything goes; pure arithmetic, no pixels. */
export function gridLayout(rows: GridRow[], opts: GridOptions = {}): GridLayout {
  const minTileSize = opts.minTileSize ?? 192;
  if (rows.length === 0) throw new Error('gridPng: no rows given; pass at least one row with one tile');
  const columns = Math.max(...rows.map((r) => r.tiles.length));
  if (columns === 0) throw new Error('gridPng: every row is empty; pass at least one tile');

  const factors = rows.map((r, ri) =>
    r.tiles.map((t, ci) => {
      checkSize(`gridPng (row ${ri} "${r.label}", tile ${ci} "${t.title}")`, t.rgb.length, t.h, t.w, 3);
      return upscaleFactor(t.h, t.w, minTileSize);
    }),
  );
  const columnWidth = new Array<number>(columns).fill(0);
  const rowHeight = rows.map(() => 0);
  rows.forEach((r, ri) =>
    r.tiles.forEach((t, ci) => {
      columnWidth[ci] = Math.max(columnWidth[ci]!, t.w * factors[ri]![ci]!);
      rowHeight[ri] = Math.max(rowHeight[ri]!, t.h * factors[ri]![ci]!);
    }),
  );
  const columnLeft: number[] = [];
  let x = GRID_PAD;
  for (const cw of columnWidth) {
    columnLeft.push(x);
    x += cw + GRID_PAD;
  }
  const labelHeight = rows.map((r) => (r.label.length > 0 ? GRID_LABEL_HEIGHT : 0));
  const titleHeight = rows.map((r) => (r.tiles.some((t) => t.title.length > 0) ? GRID_TITLE_HEIGHT : 0));
  const rowTop: number[] = [];
  const tiles: PlacedTile[] = [];
  let y = GRID_PAD;
  rows.forEach((r, ri) => {
    rowTop.push(y);
    const tilesTop = y + labelHeight[ri]! + titleHeight[ri]!;
    r.tiles.forEach((t, ci) => {
      const f = factors[ri]![ci]!;
      const width = t.w * f;
      const height = t.h * f;
      tiles.push({
        row: ri,
        column: ci,
        left: columnLeft[ci]! + Math.floor((columnWidth[ci]! - width) / 2),
        top: tilesTop + Math.floor((rowHeight[ri]! - height) / 2),
        width,
        height,
        factor: f,
      });
    });
    y = tilesTop + rowHeight[ri]! + GRID_PAD;
  });
  return { width: x, height: y, columnLeft, columnWidth, rowTop, labelHeight, titleHeight, rowHeight, tiles };
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Shorten text that would not fit `widthPx` at `fontPx`, ending it with an ellipsis. */
function fit(text: string, widthPx: number, fontPx: number): string {
  const maxChars = Math.max(1, Math.floor(widthPx / (fontPx * CHAR_EM)));
  const chars = Array.from(text); // by code point, so a multi-byte character is never split
  return chars.length <= maxChars ? text : chars.slice(0, Math.max(1, maxChars - 1)).join('') + '…';
}

/** Render the grid to PNG bytes. */
export async function gridPng(rows: GridRow[], opts: GridOptions = {}): Promise<Buffer> {
  const layout = gridLayout(rows, opts);
  const { width, height } = layout;
  const canvas = new Uint8Array(width * height * 3).fill(255);
  for (const p of layout.tiles) {
    const t = rows[p.row]!.tiles[p.column]!;
    const px = p.factor === 1 ? t.rgb : upscaleNearest(t.rgb, t.h, t.w, p.factor);
    const rowBytes = p.width * 3;
    for (let yy = 0; yy < p.height; yy++) {
      canvas.set(px.subarray(yy * rowBytes, (yy + 1) * rowBytes), ((p.top + yy) * width + p.left) * 3);
    }
  }

  const texts: string[] = [];
  rows.forEach((r, ri) => {
    if (layout.labelHeight[ri]! > 0) {
      const baseline = layout.rowTop[ri]! + GRID_LABEL_HEIGHT - 7;
      texts.push(
        `<text x="${GRID_PAD}" y="${baseline}" font-size="${LABEL_FONT_PX}" font-weight="bold">${escapeXml(fit(r.label, width - 2 * GRID_PAD, LABEL_FONT_PX))}</text>`,
      );
    }
    if (layout.titleHeight[ri]! > 0) {
      const baseline = layout.rowTop[ri]! + layout.labelHeight[ri]! + GRID_TITLE_HEIGHT - 6;
      r.tiles.forEach((t, ci) => {
        if (!t.title) return;
        const cx = layout.columnLeft[ci]! + layout.columnWidth[ci]! / 2;
        texts.push(
          `<text x="${cx}" y="${baseline}" font-size="${TITLE_FONT_PX}" text-anchor="middle">${escapeXml(fit(t.title, layout.columnWidth[ci]!, TITLE_FONT_PX))}</text>`,
        );
      });
    }
  });

  const base = sharp(Buffer.from(canvas.buffer), { raw: { width, height, channels: 3 } });
  if (texts.length === 0) return base.png().toBuffer();
  const svg = outlineSvgText(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<g font-family="DejaVu Sans, sans-serif" fill="#000000">${texts.join('')}</g></svg>`,
  );
  // Compositing adds an alpha channel to the canvas; sharp removes alpha after compositing, so
  // removeAlpha keeps the PNG plain RGB.
  return base
    .composite([{ input: Buffer.from(svg), left: 0, top: 0 }])
    .removeAlpha()
    .png()
    .toBuffer();
}
