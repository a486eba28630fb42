import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type ModelConfig } from '../../pipeline/config.js';
import { describeIdentityChange, modelContentFiles, runIdentity } from '../../pipeline/run-identity.js';

const dir = mkdtempSync(join(tmpdir(), 'sglrp-identity-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const modelConfig = (path: string, extra: Record<string, unknown> = {}): ModelConfig =>
  ({ path, preprocess: 'unit', geometry: 'resize', size: 8, inputBounds: [0, 1], classes: 'digits', ...extra }) as ModelConfig;

test('modelContentFiles: model.json with every weight file of its manifest; a single-file model with model.weights when named', async () => {
  const json = join(dir, 'tfjs', 'model.json');
  mkdirSync(join(dir, 'tfjs'));
  writeFileSync(
    json,
    JSON.stringify({
      modelTopology: {},
      weightsManifest: [{ paths: ['g1-shard1of2.bin', 'g1-shard2of2.bin'] }, { paths: ['sub/g2.bin'] }],
    }),
  );
  assert.deepEqual(await modelContentFiles(modelConfig(json)), [
    json,
    join(dir, 'tfjs', 'g1-shard1of2.bin'),
    join(dir, 'tfjs', 'g1-shard2of2.bin'),
    join(dir, 'tfjs', 'sub', 'g2.bin'),
  ]);
  assert.deepEqual(await modelContentFiles(modelConfig('/m/net.onnx')), ['/m/net.onnx']);
  assert.deepEqual(await modelContentFiles(modelConfig('/m/arch.h5', { weights: '/m/w.h5' })), ['/m/arch.h5', '/m/w.h5']);
  await assert.rejects(modelContentFiles(modelConfig(join(dir, 'none.json'))), /model\.path .*none\.json: does not exist/);
});

test('runIdentity hashes the model and every annotation file; a changed file is named', async () => {
  const model = join(dir, 'm.json');
  writeFileSync(model, JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['w.bin'] }] }));
  writeFileSync(join(dir, 'w.bin'), Buffer.from([1, 2, 3, 4]));
  const xml = join(dir, 'xml');
  mkdirSync(join(xml, 'deeper'), { recursive: true });
  writeFileSync(join(xml, 'a.xml'), '<annotation/>');
  writeFileSync(join(xml, 'deeper', 'b.xml'), '<annotation/>');
  mkdirSync(join(dir, 'images'));
  const config = parseConfig(
    {
      name: 'x',
      dataset: { kind: 'imagenet', images: join(dir, 'images'), annotations: { kind: 'voc-xml', dir: xml } },
      model: { path: model, preprocess: 'caffe', geometry: 'resize', size: 16 },
    },
    'test',
  );
  const before = await runIdentity(config);
  assert.deepEqual(
    before.files.annotations.map((f) => f.path),
    [join(xml, 'a.xml'), join(xml, 'deeper', 'b.xml')],
  );
  assert.notEqual(before.annotations, null);

  writeFileSync(join(xml, 'deeper', 'b.xml'), '<annotation><object/></annotation>');
  const edited = await runIdentity(config);
  assert.equal(edited.model, before.model);
  assert.notEqual(edited.annotations, before.annotations);
  assert.equal(describeIdentityChange(before, edited), `the annotation files (${join(xml, 'deeper', 'b.xml')} changed)`);

  writeFileSync(join(dir, 'w.bin'), Buffer.from([1, 2, 3, 5]));
  const retrained = await runIdentity(config);
  assert.equal(retrained.configHash, before.configHash);
  assert.equal(describeIdentityChange(edited, retrained), `the model files (${join(dir, 'w.bin')} changed)`);
});
