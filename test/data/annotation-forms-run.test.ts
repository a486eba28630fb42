/**
 * docs/PROTOCOL.md §6 through the real pipeline: one small ImageNet-layout set whose labels and
 * boxes are written both as LOC_val_solution.csv and as per-image VOC XML files (the same
 * numbers) gives identical tables when run by the CLI with a tiny model. The CSV also holds an
 * unreadable line, which `run` reports as a file-level problem.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { initBackend } from '../../engine/backend.js';
import { mergedTables, runCli, saveDigitsLikeModel } from '../util/run-fixture.js';

const WNIDS = ['n01440764', 'n01443537', 'n01484850', 'n01491361'];
const id = (n: number) => `ILSVRC2012_val_${String(n).padStart(8, '0')}`;
/** Per image: size and objects (wnid, x_min, y_min, x_max, y_max), as written in both forms. */
const SET: { n: number; w: number; h: number; objects: [string, number, number, number, number][] }[] = [
  { n: 1, w: 48, h: 40, objects: [[WNIDS[0]!, 0, 0, 20, 19]] }, // box at x = 0
  { n: 2, w: 40, h: 48, objects: [[WNIDS[1]!, 10, 10, 60, 60]] }, // reaches outside → clipped
  {
    n: 3,
    w: 40,
    h: 40,
    objects: [
      [WNIDS[2]!, 5, 5, 20, 20],
      [WNIDS[2]!, 30, 5, 10, 20],
    ],
  }, // one inverted
  {
    n: 4,
    w: 40,
    h: 40,
    objects: [
      [WNIDS[3]!, 3, 7, 36, 33],
      [WNIDS[3]!, 1, 1, 4, 4],
    ],
  }, // two boxes
  { n: 5, w: 36, h: 44, objects: [] }, // no annotation: top2 only
];

test('LOC CSV and VOC XML forms of one set give identical tables through `run`', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sglrp-forms-'));
  try {
    await initBackend('cpu');
    const model = await saveDigitsLikeModel(join(dir, 'model'), { size: 32, channels: 3, classes: WNIDS.length });
    writeFileSync(join(dir, 'classes.txt'), WNIDS.map((w, i) => `${w} class${i}`).join('\n') + '\n');
    mkdirSync(join(dir, 'val'));
    mkdirSync(join(dir, 'xml'));
    const csv = ['ImageId,PredictionString'];
    for (const img of SET) {
      const px = Buffer.alloc(img.w * img.h * 3);
      for (let i = 0; i < px.length; i++) px[i] = (i * 7 + img.n * 31 + ((i / (3 * img.w)) | 0) * 5) & 0xff;
      await sharp(px, { raw: { width: img.w, height: img.h, channels: 3 } })
        .png()
        .toFile(join(dir, 'val', `${id(img.n)}.JPEG`));
      if (img.objects.length === 0) continue;
      csv.push(`${id(img.n)},${img.objects.map((o) => o.join(' ')).join(' ')}`);
      const objects = img.objects.map(
        ([w, a, b, c, d]) =>
          `<object><name>${w}</name><bndbox><xmin>${a}</xmin><ymin>${b}</ymin><xmax>${c}</xmax><ymax>${d}</ymax></bndbox></object>`,
      );
      writeFileSync(
        join(dir, 'xml', `${id(img.n)}.xml`),
        `<annotation><size><width>${img.w}</width><height>${img.h}</height></size>${objects.join('')}</annotation>`,
      );
    }
    csv.push('a line without any comma');
    writeFileSync(join(dir, 'LOC_val_solution.csv'), csv.join('\n') + '\n');

    const run = (form: string, annotations: Record<string, string>) => {
      const cfg = {
        name: `forms-${form}`,
        dataset: { kind: 'imagenet', images: join(dir, 'val'), annotations },
        model: {
          path: model,
          preprocess: 'unit',
          geometry: 'resize',
          size: 32,
          inputBounds: [0, 1],
          classes: join(dir, 'classes.txt'),
          gradcamLayer: 'block2_conv1',
        },
        methods: ['lrp', 'sglrp', 'random'],
        masking: { patchSizes: [1, 3] },
        pointing: { energies: [0.25, 0.5, 1] },
        shardSize: 5,
        batchSize: 5,
        workers: 1,
        backend: 'wasm',
        examples: 0,
      };
      writeFileSync(join(dir, `${form}.yaml`), JSON.stringify(cfg));
      const r = runCli(['run', join(dir, `${form}.yaml`), '--out', join(dir, `run-${form}`), '--no-report']);
      assert.equal(r.code, 0, r.stderr);
      return r;
    };
    const fromCsv = run('csv', { kind: 'loc-csv', path: join(dir, 'LOC_val_solution.csv') });
    const fromXml = run('xml', { kind: 'voc-xml', dir: join(dir, 'xml') });

    // The unreadable CSV line reaches the user; the XML run has nothing to report.
    assert.match(fromCsv.stdout + fromCsv.stderr, /1 problem in its files[\s\S]*LOC_val_solution\.csv line 6: expected "ImageId,wnid/);
    assert.doesNotMatch(fromXml.stdout + fromXml.stderr, /problems? in its files/);

    const csvTables = await mergedTables(join(dir, 'run-csv'));
    const xmlTables = await mergedTables(join(dir, 'run-xml'));
    for (const table of ['forward', 'relevance', 'masking', 'pointing', 'pointing_game', 'errors']) {
      assert.ok((csvTables[table] ?? []).length > 0, `${table} has rows`);
      assert.deepEqual(xmlTables[table], csvTables[table], `table ${table} differs between the two forms`);
    }
    const pointing = xmlTables['pointing']!.map((r) => JSON.parse(r) as Record<string, unknown>);
    // Images 1, 2 and 4 are in the pointing game (3 has an inverted box, 5 no label): 3 methods × 3 energies each.
    assert.deepEqual([...new Set(pointing.map((r) => r['image_id']))].sort(), [id(1), id(2), id(4)]);
    assert.equal(pointing.length, 3 * 3 * 3);
    assert.deepEqual([...new Set(pointing.filter((r) => r['box_clipped'] === true).map((r) => r['image_id']))], [id(2)]);
    const errors = xmlTables['errors']!.map((r) => JSON.parse(r) as Record<string, unknown>);
    assert.match(
      String(errors.find((e) => e['image_id'] === id(3))?.['reason']),
      new RegExp(`^${id(3)}: no usable ground-truth box \\(box \\(30, 5, 10, 20\\).*x_min 30 > x_max 10`),
    );
    assert.match(String(errors.find((e) => e['image_id'] === id(5))?.['reason']), /no ground-truth label.*target gt is not evaluated/);
    const relevance5 = xmlTables['relevance']!.map((r) => JSON.parse(r) as Record<string, unknown>).filter((r) => r['image_id'] === id(5));
    assert.deepEqual(
      relevance5.map((r) => r['target_kind']),
      ['top2', 'top2', 'top2'],
    );

    // status and the report show the file-level problem too, name each image with an error, and
    // count the clipped box.
    const status = runCli(['status', join(dir, 'run-csv')]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /1 problem in its files[\s\S]*LOC_val_solution\.csv line 6/);
    assert.doesNotMatch(runCli(['status', join(dir, 'run-xml')]).stdout, /problems? in its files/);
    const report = runCli(['report', join(dir, 'run-csv')]);
    assert.equal(report.code, 0, report.stderr);
    const md = readFileSync(join(dir, 'run-csv', 'report', 'report.md'), 'utf8');
    assert.match(md, /LOC_val_solution\.csv line 6/);
    assert.match(md, /1 image\(s\) had a ground-truth box clipped to the image/);
    for (const failed of [id(3), id(5)]) assert.ok(md.includes(failed), `the report names ${failed}`);
    const failedCsv = readFileSync(join(dir, 'run-csv', 'report', 'failed-images.csv'), 'utf8');
    assert.match(failedCsv, new RegExp(`${id(3)},pointing,`));
    assert.match(failedCsv, new RegExp(`${id(5)},forward,`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
