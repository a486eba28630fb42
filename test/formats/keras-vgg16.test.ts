/**
 * A Keras VGG16 application weight file (weights only; the released file's layer names, weight
 * names and shapes, random values written at test time by keras-application-file.ts) loads into
 * the project's VGG16 builder and explains an image: `sglrp explain IMG --arch vgg16 --weights FILE`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { seededUniform } from '../../architectures/index.js';
import { ModelLoadError } from '../../engine/model-loader.js';
import { loadModelSource } from '../../formats/index.js';
import { readNpy, writeNpy } from '../../io/npy.js';
import { runExplain } from '../../pipeline/explain-command.js';
import { vgg16Layers, writeApplicationWeightFile } from './keras-application-file.js';

const dir = mkdtempSync(join(tmpdir(), 'sglrp-keras-vgg16-'));
const WEIGHTS = join(dir, 'vgg16_weights_tf_dim_ordering_tf_kernels.h5');

/** He-uniform kernels and small biases, one seeded stream per weight. */
function weightValues(layer: string, index: number, shape: number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const seed = [...layer].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 17 + index);
  if (index === 1) return seededUniform(n, seed, -0.01, 0.01);
  const limit = Math.sqrt(6 / (n / shape[shape.length - 1]!));
  return seededUniform(n, seed, -limit, limit);
}

before(async () => {
  await writeApplicationWeightFile(WEIGHTS, vgg16Layers(), weightValues);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('explain --arch vgg16 --weights vgg16_weights_tf_dim_ordering_tf_kernels.h5 explains an image', async () => {
  const input = join(dir, 'photo.npy');
  await writeNpy(input, seededUniform(224 * 224 * 3, 5, -123.68, 151.061), [224, 224, 3]);
  const out = join(dir, 'out');
  const s = await runExplain(
    { inputs: [input], arch: 'vgg16', weights: WEIGHTS, out, methods: 'lrp,gradcam', target: 'top1', backend: 'wasm' },
    { log: () => {} },
  );
  assert.equal(s.exitCode, 0, JSON.stringify(s.errors));
  assert.equal(s.model, WEIGHTS);
  // The builder starts from all-zero weights (architectures/index.ts), so non-zero maps are the file's doing.
  for (const method of ['lrp', 'gradcam']) {
    const file = s.inputs[0]!.files.find((f) => f.endsWith('.npy') && f.includes(`_${method}_`) && !f.includes('_raw'));
    assert.ok(file, `no ${method} map among ${s.inputs[0]!.files.join(', ')}`);
    const map = await readNpy(join(out, file.split('/').pop()!));
    assert.deepEqual(map.shape.slice(-2), [224, 224], method);
    assert.ok(map.data.every(Number.isFinite), `${method} has non-finite values`);
    assert.ok(
      map.data.some((v) => v > 0),
      `${method} is all zero`,
    );
  }
});

test('the weights land where the file says: block1_conv1 and fc2 hold the file’s values', async () => {
  const model = await loadModelSource({ arch: 'vgg16', weights: WEIGHTS });
  try {
    for (const name of ['block1_conv1', 'fc2']) {
      const [kernel, bias] = model.getLayer(name).getWeights();
      assert.deepEqual(kernel!.dataSync(), weightValues(name, 0, kernel!.shape), `${name} kernel`);
      assert.deepEqual(bias!.dataSync(), weightValues(name, 1, bias!.shape), `${name} bias`);
    }
  } finally {
    model.dispose();
  }
});

test('the same file given for VGG19 is refused, naming the first VGG19 layer it has no weights for', async () => {
  await assert.rejects(
    loadModelSource({ arch: 'vgg19', weights: WEIGHTS }),
    (e: Error) => e instanceof ModelLoadError && /no weights for layer 'block3_conv4' \(Conv2D\)/.test(e.message),
  );
});
