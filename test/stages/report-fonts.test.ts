import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { renderChart, svgToPng, type CurveDatum } from '../../stages/report/charts.js';
import { GRID_LABEL_HEIGHT, GRID_PAD, gridPng } from '../../io/grid.js';
import { outlineSvgText } from '../../io/text-outlines.js';

const DATA: CurveDatum[] = ['sglrp', 'lrp_z', 'gradient'].flatMap((method, m) =>
  [1, 2, 4, 8].map((x) => ({ method, x, mean: 0.1 * m + 0.05 * x, lo: 0.05 * x, hi: 0.1 * m + 0.1 * x })),
);
const OPTS = { title: 'Accuracy after masking', xTitle: 'patch size', yTitle: 'accuracy drop', zeroRule: true, tickAtData: true };

const count = (s: string, re: RegExp): number => (s.match(re) ?? []).length;

/** x extent of a path's coordinates (its d is M/L/Q/C with space-separated numbers). */
function xExtent(d: string): [number, number] {
  const xs: number[] = [];
  for (const seg of d.match(/[MLQC][^MLQCZ]*/g) ?? []) {
    const nums = seg.slice(1).trim().split(/\s+/).map(Number);
    for (let i = 0; i < nums.length; i += 2) xs.push(nums[i]!);
  }
  return [Math.min(...xs), Math.max(...xs)];
}

function pathWith(svg: string, attrFragment: string): string {
  const m = new RegExp(`<path[^>]*${attrFragment.replace(/[()]/g, '\\$&')}[^>]*/>`).exec(svg);
  assert.ok(m, `a path with ${attrFragment}`);
  return m[0];
}

test('outlineSvgText turns each vega <text> into one <path>, anchored and transformed as the text was', async () => {
  const { svg } = await renderChart(DATA, OPTS);
  const texts = count(svg, /<text\b/g);
  assert.ok(texts >= 10, `vega wrote ${texts} text elements`);
  const out = outlineSvgText(svg);
  assert.equal(count(out, /<text\b/g), 0);
  assert.equal(count(out, /<path\b/g), count(svg, /<path\b/g) + texts);
  assert.ok(!/font-family|text-anchor/.test(out), 'text-only attributes are dropped');

  // The y-axis title is rotated and centred (text-anchor middle): its outline keeps the rotation
  // and straddles x = 0 symmetrically (before the transform).
  const yTitle = pathWith(out, 'rotate(-90)');
  assert.match(yTitle, /fill="#000" opacity="1"/, 'paint attributes move to the path');
  const [lo, hi] = xExtent(/ d="([^"]*)"/.exec(yTitle)![1]!);
  assert.ok(hi - lo > 40, `"accuracy drop" at 11 px is wider than 40 px (got ${hi - lo})`);
  assert.ok(Math.abs(lo + hi) < 2, `centred on 0: ${lo}..${hi}`);
  // Tick labels on the y axis are end-anchored: they end at x = 0 (less a glyph's side bearing).
  const tick = /<text text-anchor="end" transform="([^"]*)"[^>]*>0\.0<\/text>/.exec(svg);
  assert.ok(tick, 'a y tick label "0.0"');
  const [tlo, thi] = xExtent(/ d="([^"]*)"/.exec(pathWith(out, `transform="${tick[1]}"`))![1]!);
  assert.ok(thi <= 0 && thi > -2 && tlo < -10, `end-anchored: ${tlo}..${thi}`);
});

test('outlineSvgText uses the bold face for bold text, decodes entities and reads em units', () => {
  const one = (attrs: string, text: string): string => {
    const out = outlineSvgText(`<svg><text ${attrs}>${text}</text></svg>`);
    return / d="([^"]*)"/.exec(out)![1]!;
  };
  const regular = xExtent(one('font-size="20"', 'Method'));
  const bold = xExtent(one('font-size="20" font-weight="bold"', 'Method'));
  assert.ok(bold[1] - bold[0] > regular[1] - regular[0] + 2, `bold is wider: ${bold} vs ${regular}`);
  assert.equal(one('font-size="20"', 'a &amp; b'), one('font-size="20"', 'a &#38; b'));
  assert.notEqual(one('font-size="20"', 'a &amp; b'), one('font-size="20"', 'a b'));
  assert.equal(one('font-size="20" x="10" dx="1em"', 'A'), one('font-size="20" x="30"', 'A'));
});

/** Dark pixels (every channel < 100) in a region of a PNG. */
async function darkPixels(png: Buffer, region: { left: number; top: number; width: number; height: number }): Promise<number> {
  const { data, info } = await sharp(png).extract(region).raw().toBuffer({ resolveWithObject: true });
  let n = 0;
  for (let i = 0; i < data.length; i += info.channels) {
    if (data[i]! < 100 && data[i + 1]! < 100 && data[i + 2]! < 100) n++;
  }
  return n;
}

/** Pixels that differ (any channel by more than 32) between two PNGs of the same size. */
async function differingPixels(a: Buffer, b: Buffer): Promise<number> {
  const ra = await sharp(a).removeAlpha().raw().toBuffer();
  const rb = await sharp(b).removeAlpha().raw().toBuffer();
  assert.equal(ra.length, rb.length);
  let n = 0;
  for (let i = 0; i < ra.length; i += 3) {
    if (Math.abs(ra[i]! - rb[i]!) > 32 || Math.abs(ra[i + 1]! - rb[i + 1]!) > 32 || Math.abs(ra[i + 2]! - rb[i + 2]!) > 32) n++;
  }
  return n;
}

const GRID_ROWS = [
  {
    label: 'image 7 — cat',
    tiles: ['input', 'SGLRP'].map((title) => ({ title, rgb: new Uint8Array(64 * 64 * 3).fill(255), h: 64, w: 64 })),
  },
];

test('chart and grid PNGs keep their labels when fontconfig has no fonts at all', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sglrp-nofont-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { svg } = await renderChart(DATA, OPTS);
  writeFileSync(join(dir, 'chart.svg'), svg);
  writeFileSync(
    join(dir, 'grid.json'),
    JSON.stringify(GRID_ROWS, (_, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v)),
  );
  writeFileSync(join(dir, 'fonts.conf'), '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig></fontconfig>\n');

  // sharp's librsvg reads FONTCONFIG_FILE when the process starts, so the fontless render runs in
  // a child. It also renders the raw SVG, to show the empty config really leaves no font.
  const url = (rel: string): string => pathToFileURL(fileURLToPath(new URL(rel, import.meta.url))).href;
  const script = `
    import { readFileSync, writeFileSync } from 'node:fs';
    import sharp from 'sharp';
    const { svgToPng } = await import(${JSON.stringify(url('../../stages/report/charts.js'))});
    const { gridPng } = await import(${JSON.stringify(url('../../io/grid.js'))});
    const dir = ${JSON.stringify(dir)};
    const svg = readFileSync(dir + '/chart.svg', 'utf8');
    writeFileSync(dir + '/chart.png', await svgToPng(svg));
    writeFileSync(dir + '/raw.png', await sharp(Buffer.from(svg), { density: 144 }).png().toBuffer());
    const rows = JSON.parse(readFileSync(dir + '/grid.json', 'utf8'));
    for (const r of rows) for (const tile of r.tiles) tile.rgb = Uint8Array.from(tile.rgb);
    writeFileSync(dir + '/grid.png', await gridPng(rows));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../../..', import.meta.url)),
    env: { ...process.env, FONTCONFIG_FILE: join(dir, 'fonts.conf'), FONTCONFIG_PATH: dir, XDG_CACHE_HOME: join(dir, 'cache') },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);

  const normal = await svgToPng(svg);
  const fontless = readFileSync(join(dir, 'chart.png'));
  const raw = readFileSync(join(dir, 'raw.png'));
  // The raw SVG without fonts draws boxes (or nothing) where the labels are: the control.
  assert.ok((await differingPixels(raw, fontless)) > 1000, 'the empty fontconfig changes how <text> renders');

  // The y-axis title sits alone in the left strip of the 2×-density PNG, left of the tick labels.
  const strip = { left: 0, top: 0, width: 40, height: (await sharp(normal).metadata()).height! };
  const want = await darkPixels(normal, strip);
  const got = await darkPixels(fontless, strip);
  assert.ok(want > 300, `the normal render has the title's dark pixels (${want})`);
  assert.ok(Math.abs(got - want) <= 0.05 * want, `fontless ${got} vs normal ${want} dark pixels in the title strip`);
  assert.ok((await differingPixels(normal, fontless)) < 50, 'the whole chart renders the same without fonts');

  // The grid's row label (bold, top left) is outlined too.
  const gridNormal = await gridPng(GRID_ROWS);
  const gridFontless = readFileSync(join(dir, 'grid.png'));
  const labelBand = { left: 0, top: GRID_PAD, width: (await sharp(gridNormal).metadata()).width!, height: GRID_LABEL_HEIGHT };
  const gw = await darkPixels(gridNormal, labelBand);
  const gg = await darkPixels(gridFontless, labelBand);
  assert.ok(gw > 50, `the grid label has dark pixels (${gw})`);
  assert.ok(Math.abs(gg - gw) <= 0.05 * gw, `grid label: fontless ${gg} vs normal ${gw}`);
});
