import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { folderDataset, listImageFolder, type FolderSample } from '../../data/folder.js';

let root: string;
const png = (v: number) =>
  sharp({ create: { width: 8, height: 6, channels: 3, background: { r: v, g: v, b: v } } })
    .png()
    .toBuffer();

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'folder-reader-'));
  const flat = join(root, 'flat');
  mkdirSync(join(flat, 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(flat, 'b.png'), await png(20));
  writeFileSync(join(flat, 'B.PNG'), await png(21));
  writeFileSync(
    join(flat, 'a.jpg'),
    await sharp(await png(30))
      .jpeg()
      .toBuffer(),
  );
  writeFileSync(join(flat, 'a.png'), await png(31));
  writeFileSync(
    join(flat, 'c.webp'),
    await sharp(await png(40))
      .webp({ lossless: true })
      .toBuffer(),
  );
  writeFileSync(join(flat, 'broken.jpeg'), 'not really a jpeg');
  writeFileSync(join(flat, 'notes.txt'), 'skip me');
  writeFileSync(join(flat, 'sub', 'd.png'), await png(50));
  writeFileSync(join(flat, 'sub', 'deeper', 'e.png'), await png(60));
  const byClass = join(root, 'classes');
  mkdirSync(join(byClass, 'n01440764'), { recursive: true });
  mkdirSync(join(byClass, 'n99999999'));
  mkdirSync(join(byClass, 'other'));
  writeFileSync(join(byClass, 'n01440764', 'x.png'), await png(70));
  writeFileSync(join(byClass, 'n99999999', 'y.png'), await png(80));
  writeFileSync(join(byClass, 'other', 'w.png'), await png(85));
  writeFileSync(join(byClass, 'z.png'), await png(90));
});

after(() => rmSync(root, { recursive: true, force: true }));

const opts = { size: 4, geometry: 'resize' as const, preset: 'unit' as const, channels: 3 as const };

test('listing: image extensions only, code-point order, recursion only when asked', () => {
  const flat = join(root, 'flat');
  assert.deepEqual(listImageFolder(flat), ['B.PNG', 'a.jpg', 'a.png', 'b.png', 'broken.jpeg', 'c.webp']);
  assert.deepEqual(listImageFolder(flat, true), [
    'B.PNG',
    'a.jpg',
    'a.png',
    'b.png',
    'broken.jpeg',
    'c.webp',
    'sub/d.png',
    'sub/deeper/e.png',
  ]);
  assert.throws(() => listImageFolder(join(root, 'none')), /cannot list .*none/);
  assert.throws(() => folderDataset({ ...opts, dir: join(root, 'flat', 'sub', 'deeper', 'x') }), /cannot list/);
});

test('a flat folder: ids, no labels, no boxes, unreadable files become errors', async () => {
  const r = folderDataset({ ...opts, dir: join(root, 'flat') });
  assert.equal(r.size(), 6);
  assert.equal(r.hasBoxes, false);
  // a.jpg and a.png share a stem, so their ids keep the extension.
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].map((i) => r.idAt(i)),
    ['B', 'a.jpg', 'a.png', 'b', 'broken', 'c'],
  );
  const s = await r.read(3);
  assert.ok(s.ok);
  const b = s.sample as FolderSample;
  assert.equal(b.file, 'b.png');
  assert.equal(b.label, -1);
  assert.deepEqual(b.boxes, []);
  assert.equal(b.input.length, 4 * 4 * 3);
  assert.ok(b.input.every((v) => Math.abs(v - 20 / 255) < 1e-6));
  assert.ok(b.display.every((v) => v === 20));
  const w = await r.read(5);
  assert.ok(w.ok && w.sample.display[0] === 40); // lossless webp decodes exactly
  const bad = await r.read(4);
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.match(bad.error.reason, /broken\.jpeg/);
});

test('wnid sub-folders give labels; other folders are skipped unless recursive', async () => {
  const r = folderDataset({ ...opts, dir: join(root, 'classes') });
  assert.deepEqual(
    [0, 1, 2].map((i) => r.idAt(i)),
    ['n01440764/x', 'n99999999/y', 'z'],
  );
  const labels: number[] = [];
  for (let i = 0; i < r.size(); i++) {
    const s = await r.read(i);
    assert.ok(s.ok);
    labels.push(s.sample.label);
  }
  assert.deepEqual(labels, [0, -1, -1]); // tench = 0; an unknown wnid and a loose file are unlabelled
  // The unknown wnid folder is a file-level issue of the dataset (a loose file is not).
  assert.equal(r.issues?.length, 1);
  assert.match(
    r.issues![0]!,
    /classes[/\\]n99999999: the sub-folder's wnid is not among the model's 1000 classes, so its 1 image is unlabelled/,
  );
  const rec = folderDataset({ ...opts, dir: join(root, 'classes'), recursive: true });
  assert.equal(rec.size(), 4);
  assert.equal(rec.idAt(2), 'other/w');
  assert.throws(() => folderDataset({ ...opts, dir: join(root, 'classes', 'other', 'empty') }), /cannot list/);
  mkdirSync(join(root, 'empty'), { recursive: true });
  assert.throws(() => folderDataset({ ...opts, dir: join(root, 'empty') }), /no \.jpg\/\.jpeg\/\.png\/\.webp images .*recursive: true/);
});
