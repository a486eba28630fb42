/**
 * data/factory.ts builds readers from a run config with plain errors that name the config field
 * (never a CLI flag), reads `classes: digits` as the built-in list, passes the image options
 * through, and exposes file-level problems through the generic DatasetReader interface.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { datasetFromConfig } from '../../data/factory.js';
import { formatDatasetIssues } from '../../data/issues.js';
import type { DatasetReader } from '../../data/types.js';
import { parseConfig } from '../../pipeline/config.js';

let root: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'dataset-factory-'));
  mkdirSync(join(root, 'val'));
  // 5×5, red = 10·row + col: nearest to 2×2 takes rows/cols ⌊(x + ½)·2.5⌋ = 1, 3.
  const raw = Buffer.alloc(5 * 5 * 3);
  for (let p = 0; p < 25; p++) raw[3 * p] = 10 * Math.floor(p / 5) + (p % 5);
  writeFileSync(
    join(root, 'val', 'ILSVRC2012_val_00000001.JPEG'),
    await sharp(raw, { raw: { width: 5, height: 5, channels: 3 } })
      .png()
      .toBuffer(),
  );
  writeFileSync(
    join(root, 'LOC_val_solution.csv'),
    'ImageId,PredictionString\nILSVRC2012_val_00000001,n01440764 0 0 4 4\nthis line has no comma\n',
  );
  mkdirSync(join(root, 'folder', '3'), { recursive: true });
  writeFileSync(
    join(root, 'folder', '3', 'a.png'),
    await sharp(raw, { raw: { width: 5, height: 5, channels: 3 } })
      .png()
      .toBuffer(),
  );
});

after(() => rmSync(root, { recursive: true, force: true }));

const config = (dataset: Record<string, unknown>, model: Record<string, unknown> = {}) =>
  parseConfig(
    {
      name: 't',
      dataset,
      model: { path: '/m/model.json', preprocess: 'unit', geometry: 'resize', size: 2, ...model },
      masking: { patchSizes: [1] },
    },
    'run.yaml',
    { baseDir: root },
  );

test('a bad model.classes names the config field, never a command-line flag', () => {
  const c = config({ kind: 'imagenet', images: 'val' }, { classes: 'no-such-classes.txt' });
  assert.throws(
    () => datasetFromConfig(c),
    (e: unknown) => {
      const msg = (e as Error).message;
      assert.match(msg, /^model\.classes: cannot read the class-name file .*no-such-classes\.txt/);
      assert.doesNotMatch(msg, /--classes/);
      return true;
    },
  );
  const s = config({ kind: 'imagenet', images: 'val', synsets: 'missing_mapping.txt' });
  assert.throws(() => datasetFromConfig(s), /dataset\.synsets: cannot read the synset mapping .*missing_mapping\.txt/);
});

test('classes: digits on a folder dataset is the built-in list, not a file named "digits"', async () => {
  const c = config({ kind: 'folder', images: 'folder' }, { classes: 'digits' });
  assert.equal(c.model.classes, 'digits');
  const reader = datasetFromConfig(c);
  assert.equal(reader.size(), 1);
  const r = await reader.read(0);
  assert.ok(r.ok, r.ok ? '' : r.error.reason);
});

test('interpolation and maxPixels reach the decoder', async () => {
  const nearest = datasetFromConfig(config({ kind: 'imagenet', images: 'val' }, { interpolation: 'nearest', antialias: false }));
  const r = await nearest.read(0);
  assert.ok(r.ok, r.ok ? '' : r.error.reason);
  // preset unit: input = value / 255; red of source pixels (1,1), (1,3), (3,1), (3,3).
  assert.deepEqual(
    [0, 1, 2, 3].map((p) => Math.round(r.sample.input[3 * p]! * 255)),
    [11, 13, 31, 33],
  );
  const small = datasetFromConfig(config({ kind: 'imagenet', images: 'val', maxPixels: 20 }));
  const refused = await small.read(0);
  assert.equal(refused.ok, false);
  if (!refused.ok)
    assert.match(refused.error.reason, /5×5 = 25 pixels is over the limit of 20 \(raise dataset\.maxPixels if this image is wanted\)/);
});

test('file-level annotation problems are on the generic reader interface and worded by formatDatasetIssues', () => {
  const reader: DatasetReader = datasetFromConfig(
    config({ kind: 'imagenet', images: 'val', annotations: { kind: 'loc-csv', path: 'LOC_val_solution.csv' } }),
  );
  assert.equal(reader.issues?.length, 1);
  assert.match(reader.issues![0]!, /LOC_val_solution\.csv line 3: expected "ImageId,wnid/);
  const lines = formatDatasetIssues(reader);
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^dataset ImageNet validation .*: 1 problem in its files \(the run goes on/);
  assert.equal(lines[1], `  - ${reader.issues![0]}`);
  // None: nothing printed. Many: the first `limit` listed, the rest counted.
  assert.deepEqual(formatDatasetIssues({ name: 'd', issues: [] }), []);
  assert.deepEqual(formatDatasetIssues({ name: 'd' }), []);
  const many = formatDatasetIssues({ name: 'd', issues: ['a', 'b', 'c', 'd', 'e'] }, 3);
  assert.deepEqual(many.slice(1), ['  - a', '  - b', '  - c', '  … and 2 more']);
  assert.match(many[0]!, /5 problems/);
});
