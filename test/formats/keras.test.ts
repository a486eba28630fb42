/**
 * Keras files load directly (formats/keras/). The fixtures in test/fixtures/keras/ are written by
 * scripts/fixtures/keras_h5.py with h5py in exactly Keras' layouts; `tiny_residual_tfjs/` holds the
 * same network and weights as a TF.js LayersModel, written by that script from the same arrays, so
 * the maps compared here come from two independent files.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';

import { initBackend } from '../../engine/backend.js';
import { ExplainEngine } from '../../engine/explain-engine.js';
import { loadGraph, ModelLoadError } from '../../engine/model-loader.js';
import { resolveTarget } from '../../engine/targets.js';
import { METHOD_NAMES } from '../../engine/types.js';
import { formatOf, loadModelSource, type ModelSource } from '../../formats/index.js';
import { keras3LayerPaths, kerasSnakeCase } from '../../formats/keras/keras3.js';
import { loadWeightsInto } from '../../formats/keras/index.js';
import { projectRoot } from '../../io/project-root.js';
import { buildTinyResNet } from '../util/architectures.js';
import { randomImage } from '../util/models.js';

const FIXTURES = join(projectRoot(), 'test', 'fixtures', 'keras');
const H5 = join(FIXTURES, 'tiny_residual.h5');
const SIZE = 12;

before(async () => {
  await initBackend('wasm');
});

/** Every method's maps for two images and targets top1, top2 (paper variant). */
async function mapsOf(source: ModelSource | string): Promise<Map<string, Float32Array>> {
  const ex = ExplainEngine.fromGraph(await loadGraph(source), { inputBounds: { low: -1, high: 1 } });
  try {
    const inputs = [randomImage(SIZE * SIZE * 3, 7, -1, 1), randomImage(SIZE * SIZE * 3, 8, -1, 1)];
    const res = ex.explain(inputs, (_i, _p, logits) => [resolveTarget('top1', logits, -1), resolveTarget('top2', logits, -1)], {
      methods: [...METHOD_NAMES],
      variant: 'paper',
      seed: 0,
      imageIds: ['a', 'b'],
    });
    const out = new Map<string, Float32Array>();
    out.set('logits', Float32Array.from(res.forward.logits.flatMap((l) => [...l])));
    for (const e of res.explanations) out.set(`${e.imageIndex}/${e.method}/${e.target.kind}`, e.map);
    return out;
  } finally {
    ex.dispose();
  }
}

function assertSameMaps(got: Map<string, Float32Array>, want: Map<string, Float32Array>): void {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  for (const [key, w] of want) assert.deepEqual(got.get(key), w, `${key} differs`);
  // Maps that are all zero would prove nothing: every method has non-zero maps here.
  for (const method of METHOD_NAMES) {
    assert.ok(
      [...want].some(([key, w]) => key.includes(`/${method}/`) && w.some((v) => v !== 0)),
      `every ${method} map is zero`,
    );
  }
}

describe('Keras files', () => {
  test('the registry picks the Keras formats by extension', () => {
    assert.equal(formatOf('m.h5').name, 'keras-h5');
    assert.equal(formatOf('M.KERAS').name, 'keras');
    assert.equal(formatOf('model.json').name, 'tfjs');
  });

  for (const net of ['tiny_residual', 'tiny_sequential']) {
    const tfjs = join(FIXTURES, `${net}_tfjs`, 'model.json');
    test(`Keras 2 full-model .h5 (${net}): every map equals the same weights' TF.js LayersModel exactly`, async () => {
      assertSameMaps(await mapsOf(join(FIXTURES, `${net}.h5`)), await mapsOf(tfjs));
    });

    test(`Keras 3 .keras (${net}): every map equals the same weights' TF.js LayersModel exactly`, async () => {
      assertSameMaps(await mapsOf({ path: join(FIXTURES, `${net}.keras`) }), await mapsOf(tfjs));
    });
  }

  test('the loaded model keeps the file’s layer names, classes and weights', async () => {
    const model = await loadModelSource(H5);
    try {
      assert.deepEqual(
        model.layers.map((l) => `${l.name}:${l.getClassName()}`),
        [
          'input_1:InputLayer',
          'conv1:Conv2D',
          'bn1:BatchNormalization',
          'act1:Activation',
          'conv2:Conv2D',
          'add:Add',
          'pool:MaxPooling2D',
          'flatten:Flatten',
          'predictions:Dense',
        ],
      );
      // The TF.js fixture's weights.bin holds the same arrays, in manifest order: conv1's kernel first.
      const bin = readFileSync(join(FIXTURES, 'tiny_residual_tfjs', 'weights.bin'));
      const kernel = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + 3 * 3 * 3 * 4 * 4));
      assert.deepEqual(model.getLayer('conv1').getWeights()[0]!.dataSync(), kernel);
    } finally {
      model.dispose();
    }
  });

  test("saving_lib's storage paths: snake-case class names with a per-class counter", () => {
    assert.equal(kerasSnakeCase('Conv2D'), 'conv2d');
    assert.equal(kerasSnakeCase('BatchNormalization'), 'batch_normalization');
    assert.equal(kerasSnakeCase('MaxPooling2D'), 'max_pooling2d');
    assert.equal(kerasSnakeCase('ReLU'), 're_lu');
    assert.deepEqual(keras3LayerPaths(['InputLayer', 'Conv2D', 'BatchNormalization', 'Conv2D', 'Dense', 'Conv2D']), [
      'layers/input_layer',
      'layers/conv2d',
      'layers/batch_normalization',
      'layers/conv2d_1',
      'layers/dense',
      'layers/conv2d_2',
    ]);
  });

  test('an application weight file (weights only) loads into the builder at Keras names', async () => {
    const sums = JSON.parse(readFileSync(join(FIXTURES, 'tiny_resnet_weights.sums.json'), 'utf8')) as Record<string, number[]>;
    const model = buildTinyResNet({ calibration: false });
    try {
      await loadWeightsInto(model, join(FIXTURES, 'tiny_resnet_weights.h5'));
      let checked = 0;
      for (const layer of model.layers) {
        const want = sums[layer.name];
        assert.ok(want, `layer ${layer.name} is not in the fixture`);
        const got = layer.getWeights().map((w) => (w.dataSync() as Float32Array).reduce((s, v) => s + v, 0));
        assert.equal(got.length, want.length, layer.name);
        got.forEach((g, i) =>
          assert.ok(Math.abs(g - want[i]!) <= 1e-4 * Math.abs(want[i]!), `${layer.name} weight ${i}: sum ${g}, file ${want[i]}`),
        );
        checked += got.length;
      }
      assert.equal(checked, 74); // 12 convs × 2 + 12 BN × 4 + predictions × 2
    } finally {
      model.dispose();
    }
  });

  test('a weight file for another architecture is refused, naming the first layer that does not match', async () => {
    const model = buildTinyResNet({ calibration: false, classes: 7 });
    try {
      await assert.rejects(
        loadWeightsInto(model, join(FIXTURES, 'tiny_resnet_weights.h5')),
        (e: Error) =>
          e instanceof ModelLoadError &&
          /layer 'predictions' \(Dense\): weight 'predictions\/kernel:0' has shape \[24, 10\] in the file but the model expects \[24, 7\]/.test(
            e.message,
          ),
      );
    } finally {
      model.dispose();
    }
  });

  test('a weights-only file given as a model says to use --arch/--weights', async () => {
    await assert.rejects(loadModelSource(join(FIXTURES, 'tiny_resnet_weights.h5')), /holds weights only.*--arch NAME --weights/);
  });

  test('an unknown architecture is refused with the list of known ones', async () => {
    await assert.rejects(
      loadModelSource({ arch: 'vgg17', weights: H5 }),
      /unknown architecture 'vgg17'; choose one of vgg16, vgg19, resnet50, densenet121, inceptionv3/,
    );
  });
});
