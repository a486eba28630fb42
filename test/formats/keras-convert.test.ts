/**
 * `sglrp convert`: a Keras file written as a TF.js LayersModel explains exactly as the Keras file
 * does, through the library entry point and through the command line.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';

import { initBackend } from '../../engine/backend.js';
import { ExplainEngine } from '../../engine/explain-engine.js';
import { loadGraph } from '../../engine/model-loader.js';
import { resolveTarget } from '../../engine/targets.js';
import { METHOD_NAMES } from '../../engine/types.js';
import { formatOf, type ModelSource } from '../../formats/index.js';
import { projectRoot } from '../../io/project-root.js';
import { ConvertUsageError, runConvert } from '../../pipeline/convert-command.js';
import { randomImage } from '../util/models.js';

const FIXTURES = join(projectRoot(), 'test', 'fixtures', 'keras');
const CLI = join(projectRoot(), 'dist', 'pipeline', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'sglrp-keras-convert-'));

before(async () => {
  await initBackend('wasm');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Logits and every method's maps (top1, top2) of one image of `size`. */
async function mapsOf(source: ModelSource | string, size: number): Promise<Float32Array[]> {
  const ex = ExplainEngine.fromGraph(await loadGraph(source), { inputBounds: { low: -1, high: 1 } });
  try {
    const res = ex.explain(
      [randomImage(size * size * 3, 3, -1, 1)],
      (_i, _p, z) => [resolveTarget('top1', z, -1), resolveTarget('top2', z, -1)],
      {
        methods: [...METHOD_NAMES],
        variant: 'paper',
        seed: 0,
        imageIds: ['x'],
      },
    );
    return [res.forward.logits[0]!, ...res.explanations.map((e) => e.map)];
  } finally {
    ex.dispose();
  }
}

for (const file of ['tiny_residual.h5', 'tiny_residual.keras']) {
  test(`convert ${file}: the TF.js model's maps equal the Keras file's exactly`, async () => {
    const out = join(dir, file);
    const r = await runConvert({ input: join(FIXTURES, file), out });
    assert.equal(r.modelJson, join(out, 'model.json'));
    assert.equal(r.format, formatOf(file).name);
    assert.equal(r.parameters, 3 * 3 * 3 * 4 + 4 + 4 * 4 + 3 * 3 * 4 * 4 + 4 + 144 * 5 + 5);
    const want = await mapsOf(join(FIXTURES, file), 12);
    const got = await mapsOf(r.modelJson, 12);
    assert.equal(got.length, 1 + METHOD_NAMES.length * 2);
    got.forEach((g, i) => assert.deepEqual(g, want[i], `output ${i}`));
    await assert.rejects(
      runConvert({ input: join(FIXTURES, file), out }),
      (e: Error) => e instanceof ConvertUsageError && /exists already/.test(e.message),
    );
  });
}

test('convert --arch with an application weight file, from the command line', async () => {
  // The registry's architectures are full size (keras-vgg16.test.ts loads one); here the tiny ResNet's file, given for
  // resnet50, is refused at the first layer whose shape differs, and nothing is written.
  const out = join(dir, 'cli');
  const run = promisify(execFile);
  await assert.rejects(
    run(process.execPath, [CLI, 'convert', join(FIXTURES, 'tiny_resnet_weights.h5'), '--arch', 'resnet50', '--out', out]),
    (e: Error & { code?: number; stderr?: string }) => {
      assert.equal(e.code, 1);
      assert.match(
        e.stderr ?? '',
        /tiny_resnet_weights\.h5: layer 'conv1_conv' \(Conv2D\): weight 'conv1_conv\/kernel:0' has shape \[7, 7, 3, 8\] in the file but the model expects \[7, 7, 3, 64\]/,
      );
      return true;
    },
  );
  assert.equal(existsSync(join(out, 'model.json')), false);
  const { stdout } = await run(process.execPath, [CLI, 'convert', join(FIXTURES, 'tiny_residual.h5'), '--out', out]);
  assert.equal(stdout.trim(), join(out, 'model.json'));
  assert.ok(existsSync(join(out, 'weights.bin')));
});
