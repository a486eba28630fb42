/**
 * docs/PROTOCOL.md §6: the LOC CSV and the per-image VOC XML files hold the same numbers and are
 * read identically (as given: 0-based pixel indices, x_max/y_max inclusive). One small
 * ImageNet-layout set is written in both forms; the readers must give identical labels, boxes
 * and annotation notes, and the pointing stage identical rows.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { imagenetDataset, type ImageNetSample } from '../../data/imagenet.js';
import type { Explanation } from '../../engine/types.js';
import { clippedBoxImageCount, pointingRows } from '../../stages/pointing.js';

const TABBY = 'n02123045'; // class 281
const TENCH = 'n01440764'; // class 0

/** Per image: size and its objects as written in BOTH files (wnid, x_min, y_min, x_max, y_max). */
const SET: { n: number; w: number; h: number; objects: [string, number, number, number, number][] }[] = [
  { n: 1, w: 60, h: 30, objects: [[TENCH, 0, 0, 29, 14]] }, // a box at x = 0 (became −1 with the old −1 shift)
  {
    n: 2,
    w: 40,
    h: 40,
    objects: [
      [TABBY, 10, 10, 50, 30],
      [TABBY, 0, 35, 4, 39],
    ],
  }, // first reaches outside → clipped
  {
    n: 3,
    w: 50,
    h: 25,
    objects: [
      [TABBY, 5, 5, 20, 20],
      [TABBY, 30, 5, 25, 20],
    ],
  }, // second inverted
  {
    n: 4,
    w: 24,
    h: 48,
    objects: [
      [TENCH, 3, 7, 20, 40],
      [TABBY, 0, 0, 5, 5],
    ],
  }, // another class's box is dropped
  { n: 5, w: 30, h: 30, objects: [] }, // no annotation at all
];
const id = (n: number) => `ILSVRC2012_val_${String(n).padStart(8, '0')}`;
let root: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'annotation-forms-'));
  mkdirSync(join(root, 'val'));
  mkdirSync(join(root, 'xml'));
  let csv = 'ImageId,PredictionString\n';
  for (const img of SET) {
    const png = await sharp({ create: { width: img.w, height: img.h, channels: 3, background: { r: 7 * img.n, g: 50, b: 90 } } })
      .png()
      .toBuffer();
    writeFileSync(join(root, 'val', `${id(img.n)}.JPEG`), png);
    if (img.objects.length === 0) continue;
    csv += `${id(img.n)},${img.objects.map((o) => o.join(' ')).join(' ')}\n`;
    const objects = img.objects.map(
      ([wnid, a, b, c, d]) =>
        `<object><name>${wnid}</name><pose>Unspecified</pose><bndbox><xmin>${a}</xmin><ymin>${b}</ymin><xmax>${c}</xmax><ymax>${d}</ymax></bndbox></object>`,
    );
    writeFileSync(
      join(root, 'xml', `${id(img.n)}.xml`),
      `<annotation><filename>${id(img.n)}</filename><size><width>${img.w}</width><height>${img.h}</height><depth>3</depth></size>${objects.join('')}</annotation>`,
    );
  }
  writeFileSync(join(root, 'LOC_val_solution.csv'), csv);
});

after(() => rmSync(root, { recursive: true, force: true }));

const SIZE = 12;
const options = { size: SIZE, geometry: 'resize' as const, preset: 'unit' as const, channels: 3 as const };

async function readAll(kind: 'loc-csv' | 'voc-xml'): Promise<ImageNetSample[]> {
  const annotations = kind === 'loc-csv' ? { kind, path: join(root, 'LOC_val_solution.csv') } : { kind, dir: join(root, 'xml') };
  const reader = imagenetDataset({ ...options, imagesDir: join(root, 'val'), annotations });
  const out: ImageNetSample[] = [];
  for (let i = 0; i < reader.size(); i++) {
    const r = await reader.read(i);
    assert.ok(r.ok, r.ok ? '' : r.error.reason);
    out.push(r.sample as ImageNetSample);
  }
  return out;
}

/** A fixed, image-dependent map with ties, zeros and negatives, the same for both forms. */
function mapFor(index: number): Float32Array {
  return Float32Array.from({ length: SIZE * SIZE }, (_, p) => ((Math.floor(p / SIZE) * 7 + (p % SIZE) * 3 + index) % 11) - 2);
}

test('both annotation forms give identical labels, boxes, notes and pointing rows', async () => {
  const fromCsv = await readAll('loc-csv');
  const fromXml = await readAll('voc-xml');
  const strip = (s: ImageNetSample) => ({
    id: s.id,
    label: s.label,
    wnid: s.wnid,
    boxes: s.boxes,
    boxIssues: s.boxIssues,
    annotation: s.annotation,
  });
  assert.deepEqual(fromXml.map(strip), fromCsv.map(strip));

  // Independent arithmetic for image 1 (60×30 → 12×12): x scale 12/60, [0, 30) → [0, 6);
  // y scale 12/30, [0, 15) → [0, 6). The box at x = 0 stays at 0.
  assert.deepEqual(fromXml[0]!.boxes, [{ x0: 0, y0: 0, x1: 6, y1: 6 }]);
  // Image 2 (40×40 → 12×12, scale 0.3): (10,10,50,30) clipped to (10,10,39,30): [10,40)→[3,12),
  // [10,31)→[3,9.3)→[3,9); (0,35,4,39): [0,5)→[0,1.5)→[0,2), [35,40)→[10.5,12)→[11,12) (an edge at .5 rounds up).
  assert.deepEqual(fromXml[1]!.boxes, [
    { x0: 3, y0: 3, x1: 12, y1: 9 },
    { x0: 0, y0: 11, x1: 2, y1: 12 },
  ]);
  assert.equal(fromXml[1]!.annotation?.boxClipped, true);
  // Image 3: an inverted box takes the image out of the pointing game in both forms.
  assert.deepEqual(fromXml[2]!.boxes, []);
  assert.match(fromXml[2]!.annotation!.droppedBoxes.join(), /box \(30, 5, 25, 20\).*x_min 30 > x_max 25/);
  // Image 4 (24×48 → 12×12): x scale 0.5, [3,21) → [1.5,10.5) → [2,11); y scale 0.25, [7,41) → [1.75,10.25) → [2,10).
  assert.deepEqual(fromXml[3]!.boxes, [{ x0: 2, y0: 2, x1: 11, y1: 10 }]);
  assert.equal(fromXml[4]!.label, -1);

  const rowsOf = (samples: ImageNetSample[]) =>
    samples.map((s) => {
      const e: Explanation = {
        imageIndex: 0,
        method: 'lrp',
        target: { kind: 'gt', classIndex: s.label },
        height: SIZE,
        width: SIZE,
        map: mapFor(s.index),
        channels: 3,
      };
      return pointingRows(s, [e], [0.25, 0.5, 1], 2);
    });
  const csvRows = rowsOf(fromCsv);
  const xmlRows = rowsOf(fromXml);
  assert.deepEqual(xmlRows, csvRows);
  const pointing = xmlRows.flatMap((r) => r.pointing);
  // Images 1, 2 and 4 have boxes: 3 energies each; only image 2's row says its box was clipped.
  assert.equal(pointing.length, 9);
  assert.deepEqual([...new Set(pointing.filter((r) => r['box_clipped'] === true).map((r) => r['image_id']))], [id(2)]);
  assert.equal(clippedBoxImageCount(pointing), 1);
  // Image 1 at E = 1 selects every positive value: hits = positives inside the 6×6 box, counted here directly.
  const m = mapFor(0);
  let hits = 0;
  let misses = 0;
  for (let p = 0; p < m.length; p++)
    if (m[p]! > 0) {
      if (Math.floor(p / SIZE) < 6 && p % SIZE < 6) hits++;
      else misses++;
    }
  const full = pointing.find((r) => r['image_id'] === id(1) && r['energy'] === 1)!;
  assert.deepEqual([full['hits'], full['misses']], [hits, misses]);
});
