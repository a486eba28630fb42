import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';

import { fixtureOverrides, imageNetValId, locCsv, writeImageNetFixture } from '../../bench/imagenet-fixture.js';
import { loadImageNetClasses, loadSynsetMapping } from '../../data/imagenet-classes.js';
import { imagenetDataset, type ImageNetSample } from '../../data/imagenet.js';
import { parseLocCsv } from '../../data/loc-csv.js';
import { mapBox } from '../../io/image.js';
import { parseOverride } from '../../pipeline/config.js';

const root = mkdtempSync(join(tmpdir(), 'sglrp-imagenet-fixture-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('imageNetValId pads to eight digits like the real release', () => {
  assert.equal(imageNetValId(1), 'ILSVRC2012_val_00000001');
  assert.equal(imageNetValId(50000), 'ILSVRC2012_val_00050000');
});

test('locCsv writes the Kaggle header and one "wnid x0 y0 x1 y1" group per image, read back by the project parser', () => {
  const text = locCsv([{ id: imageNetValId(2), wnid: 'n01440764', box: { xMin: 1, yMin: 2, xMax: 30, yMax: 40 } }]);
  assert.equal(text, 'ImageId,PredictionString\nILSVRC2012_val_00000002,n01440764 1 2 30 40\n');
  const csv = parseLocCsv(text);
  assert.deepEqual(csv.issues, []);
  assert.deepEqual(csv.byId.get(imageNetValId(2))!.objects, [{ wnid: 'n01440764', xMin: 1, yMin: 2, xMax: 30, yMax: 40 }]);
});

test('writeImageNetFixture: JPEGs named like the real ones, read back by the ImageNet reader with their labels and boxes', async () => {
  const f = await writeImageNetFixture(join(root, 'a'), 3, { width: 40, height: 30 });
  assert.equal(f.images.length, 3);
  for (const [i, im] of f.images.entries()) {
    assert.equal(im.id, imageNetValId(i + 1));
    assert.ok(existsSync(im.file), im.file);
    const meta = await sharp(im.file).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 40, 30]);
    assert.ok(
      im.box.xMin >= 0 &&
        im.box.yMin >= 0 &&
        im.box.xMax < 40 &&
        im.box.yMax < 30 &&
        im.box.xMin < im.box.xMax &&
        im.box.yMin < im.box.yMax,
      JSON.stringify(im.box),
    );
  }
  assert.equal(new Set(f.images.map((im) => im.wnid)).size, 3, 'different classes');
  // The synset mapping is the shipped class list, in its order.
  const classes = loadSynsetMapping(f.synsetsPath);
  assert.deepEqual(classes.wnids, loadImageNetClasses().wnids);

  const opts = { size: 16, geometry: 'resize' as const, preset: 'caffe' as const, channels: 3 as const };
  const reader = imagenetDataset({ ...opts, imagesDir: f.imagesDir, annotations: { kind: 'loc-csv', path: f.annotationsPath }, classes });
  assert.deepEqual(reader.issues, []);
  assert.equal(reader.size(), 3);
  for (const [i, im] of f.images.entries()) {
    const r = await reader.read(i);
    assert.ok(r.ok, r.ok ? '' : r.error.reason);
    const s = r.sample as ImageNetSample;
    assert.equal(s.id, im.id);
    assert.equal(s.wnid, im.wnid);
    assert.equal(s.label, im.label);
    assert.equal(loadImageNetClasses().wnids[s.label], im.wnid);
    assert.deepEqual([s.originalWidth, s.originalHeight], [40, 30]);
    assert.deepEqual(s.boxIssues, []);
    assert.deepEqual(s.annotationIssues, []);
    assert.deepEqual(s.boxes, [mapBox(im.box, 40, 30, 16, 'resize')]);
  }
});

test('writeImageNetFixture is deterministic for a seed, and refuses a bad count', async () => {
  const a = await writeImageNetFixture(join(root, 'b'), 2, { width: 24, height: 16, seed: 7 });
  const b = await writeImageNetFixture(join(root, 'c'), 2, { width: 24, height: 16, seed: 7 });
  assert.deepEqual(
    a.images.map(({ file: _f, ...x }) => x),
    b.images.map(({ file: _f, ...x }) => x),
  );
  assert.deepEqual(readFileSync(a.images[1]!.file), readFileSync(b.images[1]!.file));
  await assert.rejects(writeImageNetFixture(join(root, 'd'), 0), /count must be a positive integer/);
});

test('fixtureOverrides: --set pairs the CLI reads back as the exact paths', () => {
  const f = { imagesDir: '/tmp/x y/val', annotationsPath: '/tmp/x y/LOC_val_solution.csv', synsetsPath: "/tmp/x: y/it's.txt" };
  const args = fixtureOverrides(f, '/m/vgg16/model.json');
  assert.equal(args.length, 8);
  const pairs = Object.fromEntries(args.filter((_, i) => i % 2 === 1).map((a) => parseOverride(a)));
  assert.deepEqual(
    args.filter((_, i) => i % 2 === 0),
    ['--set', '--set', '--set', '--set'],
  );
  assert.deepEqual(pairs, {
    'dataset.images': f.imagesDir,
    'dataset.annotations.path': f.annotationsPath,
    'dataset.synsets': f.synsetsPath,
    'model.path': '/m/vgg16/model.json',
  });
});
