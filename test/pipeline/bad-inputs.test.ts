/**
 * Bad inputs at the level of a whole run (the readers' own unit tests live in test/io and
 * test/data): an ImageNet-layout folder holding every kind of bad image next to good ones, run by
 * the real CLI with a tiny 3-channel model. The run completes; each bad image gets one errors row
 * with its reason (or is decoded, where it can be); status and the report count them. Also: a
 * model.json whose weight file is missing and a config with unknown keys or wrong types are
 * refused up front, naming the file or field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { imageNetValId as name } from '../../bench/imagenet-fixture.js';
import { initBackend } from '../../engine/backend.js';
import { readTableRows } from '../../results/table-io.js';
import { runCli, saveDigitsLikeModel } from '../util/run-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'sglrp-bad-'));
const images = join(dir, 'val');
let modelPath = '';

const CLASSES = ['n01440764 tench', 'n01443537 goldfish', 'n01484850 great white shark', 'n01491361 tiger shark'];

/** A small RGB picture with some structure (so the maps are not flat). */
function picture(w: number, h: number, seed: number): ReturnType<typeof sharp> {
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7 + seed * 31 + ((i / (3 * w)) | 0) * 5) & 0xff;
  return sharp(px, { raw: { width: w, height: h, channels: 3 } });
}

/** The tiny model: 32×32×3 input, one output per class of the test's class list. */
function saveTinyRgbModel(out: string): Promise<string> {
  return saveDigitsLikeModel(out, { size: 32, channels: 3, classes: CLASSES.length });
}

function writeConfig(file: string, extra: Record<string, unknown> = {}, model: string = modelPath): string {
  const cfg = {
    name: 'bad-inputs',
    dataset: { kind: 'imagenet', images, annotations: { kind: 'loc-csv', path: join(dir, 'LOC_val_solution.csv') } },
    model: {
      path: model,
      preprocess: 'unit',
      geometry: 'resize',
      size: 32,
      inputBounds: [0, 1],
      classes: join(dir, 'classes.txt'),
      gradcamLayer: 'block2_conv1',
    },
    shardSize: 5,
    batchSize: 4,
    workers: 1,
    backend: 'wasm',
    examples: 1,
    ...extra,
  };
  const path = join(dir, file);
  writeFileSync(path, JSON.stringify(cfg));
  return path;
}

/** What each image is, and the errors row it must get (stage and a pattern of the reason), if any. */
const EXPECTED: { n: number; what: string; error?: [string, RegExp] }[] = [
  { n: 1, what: 'good JPEG' },
  { n: 2, what: 'good JPEG, a box partly outside (clipped)' },
  { n: 3, what: 'unreadable (a folder with an image name)', error: ['read', /ILSVRC2012_val_00000003\.JPEG/] },
  { n: 4, what: 'zero bytes', error: ['read', /empty \(0 bytes\)/] },
  { n: 5, what: 'truncated JPEG', error: ['read', /ILSVRC2012_val_00000005\.JPEG: .*(truncated|premature|end of|corrupt|VipsJpeg)/i] },
  { n: 6, what: 'a PNG named .JPEG (decoded by content)' },
  { n: 7, what: 'CMYK JPEG' },
  { n: 8, what: 'grayscale JPEG' },
  { n: 9, what: '16-bit PNG named .JPEG' },
  { n: 10, what: '10000×10000 JPEG (decoded)' },
  { n: 11, what: 'missing from the annotations', error: ['forward', /no ground-truth label.*annotation: no annotation for this image/] },
  { n: 12, what: 'its only box has x_min > x_max', error: ['pointing', /no usable ground-truth box/] },
  { n: 13, what: 'its only box is outside the image', error: ['pointing', /no usable ground-truth box/] },
];

test.before(async () => {
  await initBackend('cpu');
  modelPath = await saveTinyRgbModel(join(dir, 'model'));
  writeFileSync(join(dir, 'classes.txt'), `${CLASSES.join('\n')}\n`);
  mkdirSync(images);
  const jpeg = (n: number) => join(images, `${name(n)}.JPEG`);
  await picture(48, 40, 1).jpeg().toFile(jpeg(1));
  await picture(40, 48, 2).jpeg().toFile(jpeg(2));
  mkdirSync(jpeg(3));
  writeFileSync(jpeg(4), '');
  const whole = await picture(64, 64, 5).jpeg({ quality: 95 }).toBuffer();
  writeFileSync(jpeg(5), whole.subarray(0, Math.floor(whole.length * 0.6)));
  await picture(40, 40, 6).png().toFile(jpeg(6));
  await picture(40, 40, 7).toColourspace('cmyk').jpeg().toFile(jpeg(7));
  await picture(40, 40, 8).toColourspace('b-w').jpeg().toFile(jpeg(8));
  await picture(40, 40, 9).toColourspace('rgb16').png().toFile(jpeg(9));
  await sharp({ create: { width: 10000, height: 10000, channels: 3, background: { r: 120, g: 60, b: 30 } } })
    .jpeg({ quality: 50 })
    .toFile(jpeg(10));
  for (const n of [11, 12, 13]) await picture(40, 40, n).jpeg().toFile(jpeg(n));
  // LOC CSV: `wnid x_min y_min x_max y_max` per box, 0-based inclusive pixels. No line for 11.
  const box = (n: number, wnid: string, b: string) => `${name(n)},${wnid} ${b}`;
  const lines = ['ImageId,PredictionString', box(1, 'n01440764', '4 4 30 30'), box(2, 'n01443537', '10 10 60 60')];
  for (const n of [3, 4, 5]) lines.push(box(n, 'n01440764', '1 1 20 20'));
  lines.push(
    box(6, 'n01484850', '0 0 39 39'),
    box(7, 'n01491361', '5 5 20 20'),
    box(8, 'n01440764', '5 5 20 20'),
    box(9, 'n01443537', '5 5 20 20'),
    box(10, 'n01484850', '100 100 5000 5000'),
  );
  lines.push(box(12, 'n01440764', '30 5 10 20'), box(13, 'n01443537', '100 100 120 120'));
  writeFileSync(join(dir, 'LOC_val_solution.csv'), `${lines.join('\n')}\n`);
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('an ImageNet folder full of bad images: the run completes, one errors row per bad image with its reason, counted by status and the report', async () => {
  const out = join(dir, 'run');
  const r = runCli(['run', writeConfig('run.yaml'), '--out', out]);
  assert.equal(r.code, 0, r.stderr);

  const rowsOf = async (table: string) => {
    const rows = [];
    for (const f of readdirSync(join(out, 'tables', table))
      .filter((x) => x.endsWith('.arrow'))
      .sort())
      rows.push(...(await readTableRows(join(out, 'tables', table, f))));
    return rows;
  };
  const errors = await rowsOf('errors');
  const bad = EXPECTED.filter((e) => e.error);
  assert.deepEqual(errors.map((e) => e['image_id']).sort(), bad.map((e) => name(e.n)).sort(), JSON.stringify(errors, null, 1));
  for (const e of bad) {
    const row = errors.find((x) => x['image_id'] === name(e.n))!;
    assert.equal(row['stage'], e.error![0], `${e.what}: ${String(row['reason'])}`);
    assert.match(String(row['reason']), e.error![1], e.what);
  }
  // Everything that could be decoded was measured (forward rows), the odd formats included.
  const forward = (await rowsOf('forward')).map((x) => x['image_id']).sort();
  assert.deepEqual(
    forward,
    EXPECTED.filter((e) => e.error?.[0] !== 'read')
      .map((e) => name(e.n))
      .sort(),
  );
  const pointed = new Set((await rowsOf('pointing_game')).map((x) => x['image_id']));
  for (const n of [1, 2, 6, 7, 8, 9, 10]) assert.ok(pointed.has(name(n)), `${name(n)} is in the pointing game`);
  for (const n of [11, 12, 13]) assert.ok(!pointed.has(name(n)), `${name(n)} is not in the pointing game`);

  const status = runCli(['status', out]);
  assert.match(status.stdout, /errors: 6 image\(s\) could not be processed/);
  const md = readFileSync(join(out, 'report', 'report.md'), 'utf8');
  assert.match(md, /Errors: 6 rows for 6 image\(s\)/);

  // Nothing finished is lost or redone: a second run finds every shard done and valid.
  const again = runCli(['run', writeConfig('run.yaml'), '--out', out, '--no-report']);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /\[(main|stats)\]/);
  assert.ok(!existsSync(join(out, 'manifest', 'rejected')), 'no manifest was rejected');
});

test('a model.json whose weight file is missing is refused before any work, naming the file', () => {
  const broken = join(dir, 'broken-model');
  cpSync(join(dir, 'model'), broken, { recursive: true });
  const manifest = JSON.parse(readFileSync(modelPath, 'utf8')) as { weightsManifest: { paths: string[] }[] };
  const shard = manifest.weightsManifest[0]!.paths[0]!;
  unlinkSync(join(broken, shard));
  const out = join(dir, 'broken-run');
  const r = runCli(['run', writeConfig('broken.yaml', {}, join(broken, 'model.json')), '--out', out]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`model\\.path: weight file\\(s\\) ${shard.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} listed in .* are missing`),
  );
  assert.ok(!existsSync(out), 'nothing was created');
});

test('a config with unknown keys or wrong types is refused, naming every field', () => {
  const r = runCli([
    'run',
    writeConfig('typo.yaml', { shardsize: 5, batchSize: 'four', masking: { fill: 'zero', patchSize: [3] } }),
    '--out',
    join(dir, 'typo-run'),
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /shardsize/);
  assert.match(r.stderr, /batchSize/);
  assert.match(r.stderr, /masking\.patchSize/);
  assert.ok(!existsSync(join(dir, 'typo-run')));
});
