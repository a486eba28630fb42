/**
 * `sglrp run` with `model: {path: model.h5}`: a Keras file computes exactly the tables its
 * TF.js model.json computes (the same digits-pair run, every table row equal).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { mergedTables, runCli, saveDigitsLikeModel, writeRunConfig } from '../util/run-fixture.js';
import { writeKeras2H5FromTfjs } from './keras-h5-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'sglrp-keras-run-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a run config with model.path: x.h5 writes the same tables as the same model as model.json', async () => {
  const modelJson = await saveDigitsLikeModel(join(dir, 'tfjs'));
  const h5 = join(dir, 'digits.h5');
  await writeKeras2H5FromTfjs(modelJson, h5);
  const runs: Record<string, string[]>[] = [];
  for (const [name, model] of [
    ['tfjs', modelJson],
    ['keras', h5],
  ] as const) {
    const out = join(dir, `run-${name}`);
    const cfg = writeRunConfig(dir, model, {
      name: `run-${name}`,
      dataset: { kind: 'digits-pair', split: 'test', count: 8, seed: 3 },
      shardSize: 4,
    });
    const r = runCli(['run', cfg, '--out', out, '--no-report']);
    assert.equal(r.code, 0, r.stderr);
    runs.push(await mergedTables(out));
  }
  const [tfjs, keras] = runs as [Record<string, string[]>, Record<string, string[]>];
  assert.ok(
    Object.values(tfjs).some((rows) => rows.length > 0),
    'the run wrote rows',
  );
  assert.deepEqual(keras, tfjs);
});

test('a run whose model file is missing stops before any shard, naming model.path', () => {
  const cfg = writeRunConfig(dir, join(dir, 'nope.h5'), { name: 'missing' });
  const r = runCli(['run', cfg, '--out', join(dir, 'run-missing')]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /model\.path.*nope\.h5 does not exist/);
});
