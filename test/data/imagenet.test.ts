import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { imagenetDataset, type ImageNetSample } from '../../data/imagenet.js';
import type { SampleOrError } from '../../data/types.js';

const TABBY = 'n02123045'; // class 281
const TENCH = 'n01440764'; // class 0
let root: string;
let images: string;

/** A solid-colour lossless image (PNG bytes even when named .JPEG: decoding goes by content). */
const solid = (w: number, h: number, rgb: [number, number, number]) =>
  sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toBuffer();

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'imagenet-reader-'));
  images = join(root, 'val');
  mkdirSync(images);
  // Deliberately out of order on disk; 00000010 sorts after 00000003 by number.
  writeFileSync(join(images, 'ILSVRC2012_val_00000002.JPEG'), await solid(100, 50, [200, 100, 50]));
  writeFileSync(join(images, 'ILSVRC2012_val_00000001.JPEG'), await solid(40, 80, [10, 20, 30]));
  writeFileSync(join(images, 'ILSVRC2012_val_00000003.JPEG'), await solid(30, 30, [0, 0, 0]));
  const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 9, g: 9, b: 9 } } })
    .jpeg()
    .toBuffer();
  writeFileSync(join(images, 'ILSVRC2012_val_00000010.JPEG'), jpeg.subarray(0, jpeg.length >> 1)); // truncated
  writeFileSync(join(images, 'README.txt'), 'not an image');
  writeFileSync(join(images, 'ILSVRC2012_val_1.JPEG'), 'wrong name pattern');

  writeFileSync(
    join(root, 'LOC_val_solution.csv'),
    'ImageId,PredictionString\n' +
      `ILSVRC2012_val_00000002,${TABBY} 0 0 49 24 ${TABBY} 60 10 50 20\n` +
      `ILSVRC2012_val_00000001,${TENCH} 0 0 39 79\n` +
      `ILSVRC2012_val_00000010,${TENCH} 0 0 5 5\n`,
  );
  const xmlDir = join(root, 'xml');
  mkdirSync(xmlDir);
  const xml = (wnid: string, w: number, h: number, boxes: number[][]) =>
    `<annotation><size><width>${w}</width><height>${h}</height></size>` +
    boxes
      .map(
        ([a, b, c, d]) =>
          `<object><name>${wnid}</name><bndbox><xmin>${a}</xmin><ymin>${b}</ymin><xmax>${c}</xmax><ymax>${d}</ymax></bndbox></object>`,
      )
      .join('') +
    '</annotation>';
  // The same numbers as the CSV: both forms are read as given (docs/PROTOCOL.md §6).
  writeFileSync(
    join(xmlDir, 'ILSVRC2012_val_00000002.xml'),
    xml(TABBY, 100, 50, [
      [0, 0, 49, 24],
      [60, 10, 50, 20],
    ]),
  );
  writeFileSync(join(xmlDir, 'ILSVRC2012_val_00000001.xml'), xml(TENCH, 40, 80, [[0, 0, 39, 79]]));
});

after(() => rmSync(root, { recursive: true, force: true }));

const opts = { size: 10, geometry: 'resize' as const, preset: 'unit' as const, channels: 3 as const };
const ok = (r: SampleOrError): ImageNetSample => {
  assert.ok(r.ok, r.ok ? '' : r.error.reason);
  return r.sample as ImageNetSample;
};

for (const kind of ['loc-csv', 'voc-xml'] as const) {
  test(`ImageNet reader with ${kind} annotations: order, labels, mapped boxes, dropped boxes, failures`, async () => {
    const annotations = kind === 'loc-csv' ? { kind, path: join(root, 'LOC_val_solution.csv') } : { kind, dir: join(root, 'xml') };
    const reader = imagenetDataset({ ...opts, imagesDir: images, annotations });
    assert.equal(reader.size(), 4);
    assert.equal(reader.hasBoxes, true);
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => reader.idAt(i)),
      ['ILSVRC2012_val_00000001', 'ILSVRC2012_val_00000002', 'ILSVRC2012_val_00000003', 'ILSVRC2012_val_00000010'],
    );

    const a = ok(await reader.read(0));
    assert.equal(a.id, 'ILSVRC2012_val_00000001');
    assert.equal(a.label, 0);
    assert.equal(a.wnid, TENCH);
    assert.deepEqual([a.originalWidth, a.originalHeight, a.height, a.width, a.channels], [40, 80, 10, 10, 3]);
    assert.deepEqual(a.boxes, [{ x0: 0, y0: 0, x1: 10, y1: 10 }]); // the whole image
    assert.deepEqual(
      [a.input[0], a.input[1], a.input[2]].map((v) => Math.round(v! * 255)),
      [10, 20, 30],
    );
    assert.deepEqual([...a.display.subarray(0, 3)], [10, 20, 30]);

    const b = ok(await reader.read(1));
    assert.equal(b.label, 281);
    // The second box is inverted: the image leaves the pointing game (docs/PROTOCOL.md §6).
    assert.deepEqual(b.boxes, []);
    assert.equal(b.boxIssues.length, 1);
    assert.equal(b.boxIssues[0]!.action, 'dropped');
    assert.match(b.boxIssues[0]!.reason, /box \(60, 10, 50, 20\).*x_min 60 > x_max 50/);
    assert.deepEqual(b.annotation?.droppedBoxes, [b.boxIssues[0]!.reason]);
    assert.equal(b.annotation?.boxClipped, false);
    assert.equal(b.input.length, 10 * 10 * 3);
    assert.ok(Math.abs(b.input[3]! - 200 / 255) < 1e-6);

    const c = ok(await reader.read(2));
    assert.equal(c.label, -1);
    assert.deepEqual(c.boxes, []);
    assert.match(c.annotationIssues.join(), /no annotation/);
    assert.deepEqual(c.annotation?.issues, c.annotationIssues);

    const d = await reader.read(3);
    assert.equal(d.ok, false);
    if (!d.ok) {
      assert.equal(d.error.id, 'ILSVRC2012_val_00000010');
      assert.equal(d.error.index, 3);
      assert.match(d.error.reason, /ILSVRC2012_val_00000010\.JPEG/);
    }
    await assert.rejects(reader.read(4), RangeError);
  });
}

test('ImageNet reader without annotations, gray input, center crop', async () => {
  const reader = imagenetDataset({ ...opts, channels: 1, geometry: 'center-crop', imagesDir: images });
  assert.equal(reader.hasBoxes, false);
  const s = ok(await reader.read(1));
  assert.equal(s.label, -1);
  assert.deepEqual(s.annotationIssues, []);
  assert.equal(s.input.length, 100);
  assert.equal(s.display.length, 300);
  // Luma of (200,100,50): round((299·200 + 587·100 + 114·50)/1000) = 124, replicated in display.
  assert.deepEqual([...s.display.subarray(0, 3)], [124, 124, 124]);
  assert.ok(Math.abs(s.input[0]! - 124 / 255) < 1e-6);
});

test('ImageNet reader configuration errors name the field; a foreign synset order is reported', () => {
  assert.throws(() => imagenetDataset({ ...opts, imagesDir: join(root, 'missing') }), /cannot list imagesDir .*missing/);
  assert.throws(() => imagenetDataset({ ...opts, imagesDir: join(root, 'xml') }), /no ILSVRC2012_val_XXXXXXXX\.JPEG files/);
  assert.throws(
    () => imagenetDataset({ ...opts, preset: 'caffe', channels: 1, imagesDir: images }),
    /ImageNet reader: preprocess: preset 'caffe'.*3-channel/,
  );
  assert.throws(() => imagenetDataset({ ...opts, size: 0, imagesDir: images }), /"size" must be a positive integer/);
  assert.throws(
    () => imagenetDataset({ ...opts, imagesDir: images, annotations: { kind: 'loc-csv', path: join(root, 'nope.csv') } }),
    /cannot read the annotation file .*nope\.csv/,
  );
  assert.throws(
    () => imagenetDataset({ ...opts, imagesDir: images, annotations: { kind: 'voc-xml', dir: join(root, 'nodir') } }),
    /annotations\.dir .*nodir is unusable/,
  );

  const dir = join(root, 'withmap');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'LOC_val_solution.csv'), 'ImageId,PredictionString\n');
  writeFileSync(join(dir, 'LOC_synset_mapping.txt'), `${TENCH} tench\n${TABBY} tabby\n`);
  const r = imagenetDataset({ ...opts, imagesDir: images, annotations: { kind: 'loc-csv', path: join(dir, 'LOC_val_solution.csv') } });
  assert.equal(r.issues.length, 1);
  assert.match(r.issues[0]!, /lists 2 classes in an order that differs/);
});
