import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveAnnotation, type ImageAnnotation } from '../../data/annotations.js';
import { loadImageNetClasses } from '../../data/imagenet-classes.js';
import { parseLocCsv } from '../../data/loc-csv.js';
import { parseVocXml } from '../../data/voc-xml.js';

const classes = loadImageNetClasses();
const TABBY = 'n02123045'; // 281
const TENCH = 'n01440764'; // 0

test('LOC CSV: repeated groups, 0-based numbers kept as they are, bad parts reported per image', () => {
  const csv = parseLocCsv(
    '\uFEFFImageId,PredictionString\r\n' +
      `ILSVRC2012_val_00000001,${TABBY} 10 20 30 40 ${TABBY} 0 0 5 5 \r\n` +
      `ILSVRC2012_val_00000002,${TENCH} 1 2 3\n` +
      `ILSVRC2012_val_00000003,${TENCH} 1 2 x 4 cat 1 2 3 4\n` +
      `ILSVRC2012_val_00000001,${TABBY} 7 7 8 8\n` +
      'garbage line without comma\n',
    'sol.csv',
  );
  const a = csv.byId.get('ILSVRC2012_val_00000001')!;
  assert.deepEqual(a.objects, [
    { wnid: TABBY, xMin: 10, yMin: 20, xMax: 30, yMax: 40 },
    { wnid: TABBY, xMin: 0, yMin: 0, xMax: 5, yMax: 5 },
    { wnid: TABBY, xMin: 7, yMin: 7, xMax: 8, yMax: 8 },
  ]);
  assert.match(a.issues.join(), /sol\.csv line 5: ILSVRC2012_val_00000001 is listed again/);
  const b = csv.byId.get('ILSVRC2012_val_00000002')!;
  assert.equal(b.objects.length, 0);
  assert.match(b.issues[0]!, /not a multiple of 5/);
  const c = csv.byId.get('ILSVRC2012_val_00000003')!;
  assert.equal(c.objects.length, 0);
  assert.match(c.issues.join('|'), /non-numeric coordinates "1 2 x 4".*\|.*"cat" where a wnid/);
  assert.equal(csv.issues.length, 1);
  assert.match(csv.issues[0]!, /sol\.csv line 6/);
  assert.throws(() => parseLocCsv('id,boxes\n', 'f.csv'), /f\.csv: the first line must be "ImageId,PredictionString"/);
});

const voc = (objects: string, size = '<size><width>500</width><height>375</height><depth>3</depth></size>'): string =>
  `<?xml version="1.0"?>\n<!-- a comment <object> -->\n<annotation>\n\t<folder>val</folder>\n\t<filename>ILSVRC2012_val_00000001</filename>\n` +
  `\t<source><database>ILSVRC_2012</database></source>\n\t${size}\n\t<segmented>0</segmented>\n${objects}</annotation>\n`;
const obj = (name: string, b: string) =>
  `\t<object>\n\t\t<name>${name}</name>\n\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n\t\t<difficult>0</difficult>\n\t\t<bndbox>${b}</bndbox>\n\t</object>\n`;
const bb = (x0: number | string, y0: number, x1: number, y1: number) =>
  `\n\t\t\t<xmin>${x0}</xmin>\n\t\t\t<ymin>${y0}</ymin>\n\t\t\t<xmax>${x1}</xmax>\n\t\t\t<ymax>${y1}</ymax>\n\t\t`;

test('VOC XML: objects, size, numbers as given (like the CSV), strict about what it reads', () => {
  const a = parseVocXml(voc(obj(TABBY, bb(111, 108, 441, 343)) + obj(TABBY, bb(0, 0, 499, 374))), 'a.xml');
  assert.deepEqual(a.issues, []);
  assert.equal(a.width, 500);
  assert.equal(a.height, 375);
  assert.deepEqual(a.objects, [
    { wnid: TABBY, xMin: 111, yMin: 108, xMax: 441, yMax: 343 },
    { wnid: TABBY, xMin: 0, yMin: 0, xMax: 499, yMax: 374 },
  ]);
  const bad = parseVocXml(
    voc(
      obj(TABBY, bb('1O', 1, 5, 5)) +
        `\t<object><name>${TENCH}</name></object>\n` +
        obj('cat', bb(1, 1, 2, 2)) +
        obj(TENCH, bb(3, 4, 5, 6)),
    ),
    'b.xml',
  );
  assert.deepEqual(bad.objects, [{ wnid: TENCH, xMin: 3, yMin: 4, xMax: 5, yMax: 6 }]);
  assert.equal(bad.issues.length, 3);
  assert.match(bad.issues[0]!, /b\.xml: object 1 \(n02123045\): <xmin> is "1O", not a number/);
  assert.match(bad.issues[1]!, /object 2 \(n01440764\): expected one <bndbox>, found 0/);
  assert.match(bad.issues[2]!, /object 3: <name> "cat" is not a wnid/);
  // Truncated file: no closing </annotation>.
  const cut = voc(obj(TABBY, bb(1, 1, 5, 5))).replace('</annotation>', '');
  const t = parseVocXml(cut, 'c.xml');
  assert.equal(t.objects.length, 0);
  assert.match(t.issues[0]!, /c\.xml: expected one <annotation>/);
  const u = parseVocXml(voc(obj(TABBY, bb(1, 1, 5, 5)).replace('</object>', '')), 'd.xml');
  assert.match(u.issues[0]!, /unbalanced <object> tags \(1 opening, 0 closing\)/);
  const s = parseVocXml(voc(obj(TABBY, bb(1, 1, 5, 5)), '<size><width>big</width><height>3</height></size>'), 'e.xml');
  assert.equal(s.width, undefined);
  assert.match(s.issues[0]!, /<size> is unusable \(<width> is "big"/);
});

test('resolveAnnotation: label by wnid, ground-truth boxes mapped, bad boxes dropped or clipped with reasons', () => {
  const ann: ImageAnnotation = {
    objects: [
      { wnid: TABBY, xMin: 0, yMin: 0, xMax: 49, yMax: 24 }, // → resize 100×50→10: x [0,5), y [0,5)
      { wnid: TABBY, xMin: 100, yMin: 0, xMax: 120, yMax: 10 }, // right of the image
      { wnid: TABBY, xMin: 90, yMin: 40, xMax: 140, yMax: 70 }, // partly outside → clipped to (90,40,99,49)
      { wnid: TENCH, xMin: 0, yMin: 0, xMax: 10, yMax: 10 }, // other class
    ],
    issues: [],
    width: 100,
    height: 50,
  };
  const r = resolveAnnotation(ann, classes, { originalWidth: 100, originalHeight: 50, size: 10, geometry: 'resize' });
  assert.equal(r.label, 281);
  assert.equal(r.wnid, TABBY);
  // Independent arithmetic: x scale 10/100, y scale 10/50; [90,100)→[9,10), [40,50)→[8,10).
  assert.deepEqual(r.boxes, [
    { x0: 0, y0: 0, x1: 5, y1: 5 },
    { x0: 9, y0: 8, x1: 10, y1: 10 },
  ]);
  assert.deepEqual(
    r.boxIssues.map((i) => i.action),
    ['dropped', 'clipped', 'dropped'],
  );
  assert.match(r.boxIssues[0]!.reason, /outside the 100×50 image/);
  assert.match(r.boxIssues[1]!.reason, /clipped to \(90, 40, 99, 49\)/);
  assert.match(r.boxIssues[2]!.reason, /n01440764 differs from the image's ground truth n02123045/);
  assert.equal(r.boxClipped, true);
  assert.deepEqual(r.issues, []);

  // Nothing reaches outside: not clipped.
  const inside = resolveAnnotation({ ...ann, objects: [ann.objects[0]!] }, classes, {
    originalWidth: 100,
    originalHeight: 50,
    size: 10,
    geometry: 'resize',
  });
  assert.equal(inside.boxClipped, false);

  // An inverted ground-truth box makes the object region unknown: the image leaves the pointing
  // game (no boxes at all, the good box included), and the reason quotes the file's numbers.
  const inv = resolveAnnotation({ ...ann, objects: [ann.objects[0]!, { wnid: TABBY, xMin: 60, yMin: 10, xMax: 50, yMax: 20 }] }, classes, {
    originalWidth: 100,
    originalHeight: 50,
    size: 10,
    geometry: 'resize',
  });
  assert.equal(inv.label, 281);
  assert.deepEqual(inv.boxes, []);
  assert.match(inv.boxIssues[0]!.reason, /box \(60, 10, 50, 20\) .*as in the annotation file.* inverted: x_min 60 > x_max 50/);
  assert.match(inv.issues.join(), /inverted.*left out of the pointing game/);
  const invY = resolveAnnotation({ objects: [{ wnid: TABBY, xMin: 1, yMin: 9, xMax: 5, yMax: 3 }], issues: [] }, classes, {
    originalWidth: 100,
    originalHeight: 50,
    size: 10,
    geometry: 'resize',
  });
  assert.match(invY.boxIssues[0]!.reason, /box \(1, 9, 5, 3\).*y_min 9 > y_max 3/);

  // Center crop of 100×50 keeps columns 25..74: a box in columns 0..20 is cut away.
  const crop = resolveAnnotation({ objects: [{ wnid: TENCH, xMin: 0, yMin: 0, xMax: 20, yMax: 49 }], issues: [] }, classes, {
    originalWidth: 100,
    originalHeight: 50,
    size: 10,
    geometry: 'center-crop',
  });
  assert.equal(crop.label, 0);
  assert.deepEqual(crop.boxes, []);
  assert.match(crop.boxIssues[0]!.reason, /outside the center-crop 10×10 input/);
  assert.match(crop.issues[0]!, /no box of the ground-truth class n01440764 survived/);
  // Size stated by the annotation differs from the real image: reported, real size used.
  const sized = resolveAnnotation({ ...ann, objects: [ann.objects[0]!], width: 200 }, classes, {
    originalWidth: 100,
    originalHeight: 50,
    size: 10,
    geometry: 'resize',
  });
  assert.match(sized.issues[0]!, /says the image is 200×50 but it is 100×50/);
});

test('resolveAnnotation: no annotation, no objects, or an unknown class give label −1 and say why', () => {
  const img = { originalWidth: 10, originalHeight: 10, size: 5, geometry: 'resize' as const };
  const none = resolveAnnotation(undefined, classes, img);
  assert.deepEqual([none.label, none.boxes, none.wnid], [-1, [], null]);
  assert.match(none.issues[0]!, /no annotation/);
  const empty = resolveAnnotation({ objects: [], issues: ['x.xml: no <object> elements'] }, classes, img);
  assert.equal(empty.label, -1);
  assert.deepEqual(empty.issues, ['x.xml: no <object> elements', 'the annotation lists no usable object']);
  const unknown = resolveAnnotation({ objects: [{ wnid: 'n00000001', xMin: 0, yMin: 0, xMax: 1, yMax: 1 }], issues: [] }, classes, img);
  assert.equal(unknown.label, -1);
  assert.equal(unknown.wnid, 'n00000001');
  assert.deepEqual(unknown.boxes, []);
  assert.match(unknown.issues[0]!, /n00000001 is not among the model's 1000 classes/);
});
