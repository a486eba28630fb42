import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { collectProvenance } from '../../stages/report/provenance.js';
import type { Counts, RunInfo } from '../../stages/report/types.js';
import { projectRoot } from '../../io/project-root.js';
import { tempDir } from './report-fixture.js';

test('provenance: model digests and size, annotation digest, shard span and time, classifier accuracy', async () => {
  const dir = await tempDir();
  const modelDir = join(dir, 'model');
  await fs.mkdir(modelDir);
  const weights = Buffer.from(Array.from({ length: 40 }, (_, i) => i));
  await fs.writeFile(join(modelDir, 'weights.bin'), weights);
  const modelJson = JSON.stringify({
    format: 'layers-model',
    modelTopology: {
      class_name: 'Sequential',
      config: { layers: [{ class_name: 'InputLayer', config: { batch_input_shape: [null, 8, 8, 1] } }] },
    },
    weightsManifest: [
      {
        paths: ['weights.bin'],
        weights: [
          { name: 'k', shape: [3, 3, 1, 1], dtype: 'float32' },
          { name: 'b', shape: [1], dtype: 'float32' },
        ],
      },
    ],
  });
  await fs.writeFile(join(modelDir, 'model.json'), modelJson);
  await fs.writeFile(join(dir, 'LOC_val_solution.csv'), 'ImageId,PredictionString\n');
  const runDir = join(dir, 'run');
  await fs.mkdir(join(runDir, 'manifest'), { recursive: true });
  await fs.writeFile(
    join(runDir, 'config.yaml'),
    `model:\n  path: ${join(modelDir, 'model.json')}\n  preprocess: unit\n  geometry: resize\n  size: 8\ndataset:\n  kind: imagenet\n  images: /data/val\n  annotations:\n    kind: loc-csv\n    path: ${join(dir, 'LOC_val_solution.csv')}\nvariant: paper\nseed: 7\n`,
  );
  const record = (phase: string, shard: number, seconds: number, finishedAt: string) =>
    fs.writeFile(
      join(runDir, 'manifest', `${phase}-0000${shard}.json`),
      JSON.stringify({ phase, shard, files: [], backend: 'wasm', seconds, finishedAt, host: 'node1', imageCount: 2 }),
    );
  await record('main', 0, 10, '2026-01-01T00:00:20.000Z');
  await record('main', 1, 5, '2026-01-01T00:00:30.000Z');
  const run: RunInfo = {
    runDir,
    configHash: 'h',
    plan: { datasetSize: 4, limit: null, shardSize: 2, shardCount: 2 },
    mainShardsDone: 2,
    statsShardsDone: 0,
    partial: false,
    backends: ['wasm'],
    seconds: 15,
    imageCount: 4,
  };
  const counts: Counts = { imagesByTable: { forward: 4 }, rowsByTable: {}, duplicateRows: 0, errorsByStage: [], errorImages: 1 };
  const fwd = (label: number, top: number[]) => ({ imageIndex: 0, label, top, pTop: [0.4, 0.3, 0.1, 0.1, 0.1], pGt: 0.4 });
  const p = await collectProvenance({
    runs: [run],
    counts,
    forward: [fwd(1, [1, 2, 3, 4, 5]), fwd(2, [1, 2, 3, 4, 5]), fwd(7, [1, 2, 3, 4, 5]), fwd(1, [2, 1, 3, 4, 5])],
    generatedAt: 'now',
  });

  const r = p.runs[0]!;
  const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
  assert.deepEqual(
    r.model.files.map((f) => [f.path, f.sha256, f.bytes]),
    [
      [join(modelDir, 'model.json'), sha(modelJson), Buffer.byteLength(modelJson)],
      [join(modelDir, 'weights.bin'), sha(weights), 40],
    ],
  );
  assert.equal(r.model.parameters, 9 + 1);
  assert.deepEqual(r.model.inputShape, [8, 8, 1]);
  assert.equal(r.model.format, 'layers-model');
  assert.equal(r.dataset.annotations?.sha256, sha('ImageId,PredictionString\n'));
  assert.deepEqual([r.dataset.planned, r.dataset.evaluated, r.dataset.failed], [4, 4, 1]);
  assert.deepEqual([r.variant, r.seed], ['paper', 7]);
  // Shard 0 ran 00:00:10–00:00:20, shard 1 00:00:25–00:00:30.
  assert.equal(r.start, '2026-01-01T00:00:10.000Z');
  assert.equal(r.end, '2026-01-01T00:00:30.000Z');
  assert.equal(r.computeSeconds, 15);
  assert.deepEqual([r.backends, r.hosts], [['wasm'], ['node1']]);
  // Labels 1, 2, 7, 1 against top-1 1, 1, 1, 2: one top-1 hit; 7 is outside every top-5.
  assert.deepEqual(p.classifier, { labelled: 4, top1: 0.25, top5: 0.75 });
  assert.equal(p.software.node, process.version);
  assert.match(p.software.sglrp ?? '', /^\d+\.\d+\.\d+/);
});

/** Provenance of one run whose config names `model` (a YAML block), with nothing else recorded. */
async function modelOf(model: string) {
  const runDir = join(await tempDir(), 'run');
  await fs.mkdir(join(runDir, 'manifest'), { recursive: true });
  await fs.writeFile(join(runDir, 'config.yaml'), `model:\n${model}\ndataset:\n  kind: digits-pair\nvariant: paper\nseed: 1\n`);
  const run: RunInfo = {
    runDir,
    configHash: 'h',
    plan: null,
    mainShardsDone: 0,
    statsShardsDone: 0,
    partial: null,
    backends: [],
    seconds: 0,
    imageCount: 0,
  };
  const counts: Counts = { imagesByTable: {}, rowsByTable: {}, duplicateRows: 0, errorsByStage: [], errorImages: 0 };
  return (await collectProvenance({ runs: [run], counts, forward: [], generatedAt: 'now' })).runs[0]!.model;
}

test('provenance of ONNX and Keras models: every file hashed, shape and parameter count as for the same TF.js model', async () => {
  const fixtures = join(projectRoot(), 'test', 'fixtures');
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  // An .onnx file with external data: both files are hashed.
  const onnx = join(fixtures, 'onnx', 'alexnet.onnx');
  const fromOnnx = await modelOf(`  path: ${onnx}`);
  assert.equal(fromOnnx.format, 'onnx');
  assert.deepEqual(
    fromOnnx.files.map((f) => [f.path, f.sha256]),
    [
      [onnx, sha(await fs.readFile(onnx))],
      [`${onnx}.data`, sha(await fs.readFile(`${onnx}.data`))],
    ],
  );
  assert.equal(fromOnnx.inputShape?.length, 3);
  assert.ok((fromOnnx.parameters ?? 0) > 0);

  // A Keras .h5 and its TF.js twin (the same weights): the same input shape and parameter count,
  // the TF.js one counted from its weights manifest, the .h5 one from the loaded model.
  const h5 = await modelOf(`  path: ${join(fixtures, 'keras', 'tiny_sequential.h5')}`);
  const tfjs = await modelOf(`  path: ${join(fixtures, 'keras', 'tiny_sequential_tfjs', 'model.json')}`);
  assert.equal(h5.format, 'keras-h5');
  assert.deepEqual(h5.inputShape, tfjs.inputShape);
  assert.equal(h5.parameters, tfjs.parameters);
  assert.ok((tfjs.parameters ?? 0) > 0);
});
