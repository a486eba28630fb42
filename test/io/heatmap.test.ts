import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';

import { colormap, COLORMAP_STOPS } from '../../io/colormap.js';
import { GRID_LABEL_HEIGHT, GRID_PAD, GRID_TITLE_HEIGHT } from '../../io/grid.js';
import { encodePng, gridLayout, gridPng, heatmapRgb, overlayRgb, upscaleNearest } from '../../io/heatmap.js';

/** RGB of pixel i. */
function px(rgb: Uint8Array, i: number): number[] {
  return [rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!];
}

function solidTile(h: number, w: number, c: [number, number, number]): Uint8Array {
  const out = new Uint8Array(h * w * 3);
  for (let i = 0; i < h * w; i++) out.set(c, i * 3);
  return out;
}

describe('colormap', () => {
  test("endpoints: 0 is black, 1 is inferno's last colour (#fcffa4), out of range clamps", () => {
    assert.deepEqual(colormap(0), [0, 0, 0]);
    assert.deepEqual(colormap(1), [252, 255, 164]);
    assert.deepEqual(colormap(-5), [0, 0, 0]);
    assert.deepEqual(colormap(NaN), [0, 0, 0]);
    assert.deepEqual(colormap(7), [252, 255, 164]);
  });

  test('stops are hit exactly and interpolated linearly between', () => {
    assert.equal(COLORMAP_STOPS, 31);
    // t = 0.5 is stop 15 of 0..30: inferno #bb3755.
    assert.deepEqual(colormap(0.5), [0xbb, 0x37, 0x55]);
    // A quarter of the way from stop 29 (#f3f484) to stop 30 (#fcffa4):
    // 243 + 9/4 = 245.25, 244 + 11/4 = 246.75, 132 + 32/4 = 140.
    assert.deepEqual(colormap(29.25 / 30), [245, 247, 140]);
  });

  test('brightness increases with t (readable as "more relevance")', () => {
    let prev = -1;
    for (let i = 0; i <= 300; i++) {
      const [r, g, b] = colormap(i / 300);
      const luma = 0.299 * r + 0.587 * g + 0.114 * b;
      assert.ok(luma >= prev - 0.5, `t=${i / 300}: luma ${luma} after ${prev}`);
      prev = luma;
    }
  });
});

describe('heatmapRgb', () => {
  test('positive values normalised by max |R|', () => {
    const heat = heatmapRgb(new Float32Array([0, 1, 2, 4]), 2, 2);
    assert.equal(heat.length, 12);
    assert.deepEqual(px(heat, 0), [0, 0, 0]);
    assert.deepEqual(px(heat, 1), colormap(0.25));
    assert.deepEqual(px(heat, 2), colormap(0.5));
    assert.deepEqual(px(heat, 3), [252, 255, 164]);
  });

  test('a map scaled by 7 gives the same heatmap', () => {
    const map = new Float32Array(64).map((_, i) => ((i * 37) % 23) - 5); // small integers, some negative
    const scaled = map.map((v) => v * 7); // exact in float32
    assert.deepEqual(heatmapRgb(scaled, 8, 8), heatmapRgb(map, 8, 8));
    // …and the map is not trivially black, so the comparison means something.
    assert.ok(heatmapRgb(map, 8, 8).some((v) => v > 0));
  });

  test('negative values are black, and a large negative value dims the positive part', () => {
    const heat = heatmapRgb(new Float32Array([-4, 2, -0.5]), 1, 3);
    assert.deepEqual(px(heat, 0), [0, 0, 0]);
    assert.deepEqual(px(heat, 1), colormap(0.5)); // 2 / max|R| = 2 / 4
    assert.deepEqual(px(heat, 2), [0, 0, 0]);
  });

  test('all-zero, all-negative and non-finite maps are black', () => {
    assert.ok(heatmapRgb(new Float32Array(9), 3, 3).every((v) => v === 0));
    assert.ok(heatmapRgb(new Float32Array([-1, -2, -3]), 1, 3).every((v) => v === 0));
    // NaN and ∞ are black and do not set the scale: 2 is still the maximum.
    const heat = heatmapRgb(new Float32Array([NaN, Infinity, 2, 1]), 2, 2);
    assert.deepEqual([px(heat, 0), px(heat, 1), px(heat, 2), px(heat, 3)], [[0, 0, 0], [0, 0, 0], colormap(1), colormap(0.5)]);
  });

  test('refuses a map whose length is not h × w', () => {
    assert.throws(() => heatmapRgb(new Float32Array(5), 2, 2), /5 values given but 2×2×1 needs 4/);
  });
});

describe('overlayRgb', () => {
  test('round(alpha · heat + (1 − alpha) · display)', () => {
    const heat = new Uint8Array([200, 0, 255]);
    const display = new Uint8Array([100, 100, 0]);
    // 0.25·200 + 0.75·100 = 125; 0.75·100 = 75; 0.25·255 = 63.75 → 64
    assert.deepEqual(overlayRgb(heat, display, 1, 1, 0.25), new Uint8Array([125, 75, 64]));
    assert.deepEqual(overlayRgb(heat, display, 1, 1, 0), display);
    assert.deepEqual(overlayRgb(heat, display, 1, 1, 1), heat);
    assert.throws(() => overlayRgb(heat, display, 1, 1, 1.5), /alpha 1.5/);
  });
});

describe('upscaleNearest', () => {
  test('each pixel becomes a factor × factor block', () => {
    // 2×2 RGB: pixel k has colour (k, 10k, 100+k).
    const src = new Uint8Array([0, 0, 100, 1, 10, 101, 2, 20, 102, 3, 30, 103]);
    const big = upscaleNearest(src, 2, 2, 3);
    assert.equal(big.length, 6 * 6 * 3);
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 6; x++) {
        const k = Math.floor(y / 3) * 2 + Math.floor(x / 3);
        assert.deepEqual(px(big, y * 6 + x), [k, 10 * k, 100 + k], `(${x}, ${y})`);
      }
    }
  });

  test('works for 1 channel, and factor 1 is a copy', () => {
    assert.deepEqual(upscaleNearest(new Uint8Array([5, 6]), 1, 2, 2, 1), new Uint8Array([5, 5, 6, 6, 5, 5, 6, 6]));
    const src = new Uint8Array([1, 2, 3]);
    const same = upscaleNearest(src, 1, 1, 1);
    assert.deepEqual(same, src);
    assert.notEqual(same, src);
    assert.throws(() => upscaleNearest(src, 1, 1, 2.5), /factor 2.5/);
  });
});

describe('encodePng', () => {
  test('decodes back to the same pixels', async () => {
    const rgb = new Uint8Array(3 * 5 * 3).map((_, i) => (i * 17) % 256);
    const png = await encodePng(rgb, 3, 5, 3);
    assert.deepEqual(png.subarray(1, 4).toString('latin1'), 'PNG');
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [5, 3, 3]);
    assert.deepEqual(new Uint8Array(data), rgb);
    const grayPng = await encodePng(new Uint8Array([0, 128, 255, 7]), 2, 2, 1);
    assert.equal((await sharp(grayPng).metadata()).channels, 1); // stored as a gray PNG
    const gray = await sharp(grayPng).toColourspace('b-w').raw().toBuffer();
    assert.deepEqual(new Uint8Array(gray), new Uint8Array([0, 128, 255, 7]));
  });
});

describe('gridPng', () => {
  const red: [number, number, number] = [250, 10, 10];
  const teal: [number, number, number] = [10, 160, 160];
  const rows = [
    {
      label: 'ILSVRC2012_val_00000001 — target: zebra',
      tiles: [
        { title: 'input', rgb: solidTile(64, 64, red), h: 64, w: 64 },
        { title: 'LRP', rgb: solidTile(64, 64, teal), h: 64, w: 64 },
        { title: 'SGLRP', rgb: solidTile(64, 64, red), h: 64, w: 64 },
      ],
    },
    {
      label: 'second <image> & "quotes"',
      tiles: [
        { title: 'input', rgb: solidTile(64, 64, teal), h: 64, w: 64 },
        { title: 'CLRP', rgb: solidTile(64, 64, red), h: 64, w: 64 },
      ],
    },
  ];

  test('has the expected pixel size, with 64 px tiles upscaled ×3 to 192', async () => {
    const png = await gridPng(rows);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    // width = 8 + 3·(192 + 8) = 608; height = 8 + 2·(24 + 20 + 192 + 8) = 496
    assert.deepEqual([info.width, info.height, info.channels], [608, 496, 3]);
    assert.equal(GRID_PAD + 3 * (192 + GRID_PAD), 608);
    assert.equal(GRID_PAD + 2 * (GRID_LABEL_HEIGHT + GRID_TITLE_HEIGHT + 192 + GRID_PAD), 496);
    const at = (x: number, y: number) => Array.from(data.subarray((y * 608 + x) * 3, (y * 608 + x) * 3 + 3));
    // Row 0, column 1 tile spans x 208..399, y 52..243 (8 + 24 + 20 = 52).
    assert.deepEqual(at(208, 52), teal);
    assert.deepEqual(at(399, 243), teal);
    assert.deepEqual(at(207, 52), [255, 255, 255]); // the gap before it
    assert.deepEqual(at(400, 243), [255, 255, 255]); // the gap after it
    // Row 1, column 0 tile starts at y = 52 + 192 + 8 + 44 = 296; column 2 of row 1 is empty.
    assert.deepEqual(at(8, 296), teal);
    assert.deepEqual(at(500, 400), [255, 255, 255]);
    // Text was drawn: dark pixels in row 0's label band (y 8..31) and title band (y 32..51).
    const dark = (y0: number, y1: number) => {
      let n = 0;
      for (let y = y0; y < y1; y++) for (let x = 0; x < 608; x++) if (at(x, y)[0]! < 100) n++;
      return n;
    };
    assert.ok(dark(8, 32) > 50, `label band has ${dark(8, 32)} dark pixels`);
    assert.ok(dark(32, 52) > 20, `title band has ${dark(32, 52)} dark pixels`);
  });

  test('layout: no label band for an empty label, no upscaling for 224 px tiles, tiles centred', () => {
    const layout = gridLayout([
      { label: '', tiles: [{ title: 'a', rgb: solidTile(224, 224, red), h: 224, w: 224 }] },
      { label: 'x', tiles: [{ title: '', rgb: solidTile(100, 150, red), h: 100, w: 150 }] },
    ]);
    // Row 0: no label → 20 (title) + 224; row 1: 24 (label) + no title + 100·2 (150 → ×2 = 300 wide).
    assert.deepEqual(layout.labelHeight, [0, 24]);
    assert.deepEqual(layout.titleHeight, [20, 0]);
    assert.deepEqual(layout.columnWidth, [300]);
    assert.equal(layout.width, 8 + 300 + 8);
    assert.equal(layout.height, 8 + (20 + 224 + 8) + (24 + 200 + 8));
    assert.deepEqual(
      layout.tiles.map((t) => [t.left, t.top, t.width, t.height, t.factor]),
      [
        [8 + 38, 8 + 20, 224, 224, 1], // (300 − 224) / 2 = 38
        [8, 8 + 252 + 24, 300, 200, 2],
      ],
    );
  });

  test('refuses empty grids and tiles of the wrong length', async () => {
    await assert.rejects(gridPng([]), /no rows/);
    await assert.rejects(
      gridPng([{ label: 'r', tiles: [{ title: 'bad', rgb: new Uint8Array(10), h: 2, w: 2 }] }]),
      /tile 0 "bad".*10 values given/,
    );
  });
});
