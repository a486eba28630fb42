/**
 * A Keras VGG16 application weight file (weights only; the released file's layer names, weight
 * names and shapes, random values written at test time by keras-application-file.ts) loads into
 * the project's VGG16 builder through `{arch: vgg16, weights}` and explains an image.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { seededUniform } from '../../architectures/index.js';
import { initBackend } from '../../engine/backend.js';
import { Explainer } from '../../engine/explainer.js';
import { loadGraph, ModelLoadError } from '../../engine/model-loader.js';
import { resolveTarget } from '../../engine/targets.js';
import { loadModelSource } from '../../formats/index.js';
import { vgg16Layers, writeApplicationWeightFile } from './keras-application-file.js';

const dir = mkdtempSync(join(tmpdir(), 'sglrp-keras-vgg16-'));
const WEIGHTS = join(dir, 'vgg16_weights_tf_dim_ordering_tf_kernels.h5');

/** He-uniform kernels and small biases, one seeded stream per weight (so the test can regenerate any of them). */
function weightValues(layer: string, index: number, shape: number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const seed = [...layer].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 17 + index);
  if (index === 1) return seededUniform(n, seed, -0.01, 0.01);
  const limit = Math.sqrt(6 / (n / shape[shape.length - 1]!));
  return seededUniform(n, seed, -limit, limit);
}

before(async () => {
  await initBackend('wasm');
  await writeApplicationWeightFile(WEIGHTS, vgg16Layers(), weightValues);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('a VGG16 application weight file loads into the VGG16 builder (arch: vgg16) and explains an image', async () => {
  const graph = await loadGraph({ arch: 'vgg16', weights: WEIGHTS });
  const ex = Explainer.fromGraph(graph, { inputBounds: { low: -123.68, high: 151.061 } });
  try {
    assert.deepEqual(ex.inputShape, [224, 224, 3]);
    assert.equal(ex.numClasses, 1000);
    // The file's values, not the builder's random ones, are in the engine's graph.
    for (const name of ['block1_conv1', 'block5_conv3']) {
      const node = graph.nodes.find((n) => n.name === name)!;
      assert.equal(node.op.kind, 'conv2d');
      if (node.op.kind !== 'conv2d') return;
      assert.deepEqual(node.op.kernel.dataSync(), weightValues(name, 0, node.op.kernel.shape));
      assert.deepEqual(node.op.bias!.dataSync(), weightValues(name, 1, node.op.bias!.shape));
    }
    const x = seededUniform(224 * 224 * 3, 5, -123.68, 151.061);
    const res = ex.explain([x], (_i, _p, logits) => [resolveTarget('top1', logits, -1)], {
      methods: ['lrp', 'gradcam'],
      variant: 'paper',
      seed: 0,
      imageIds: ['vgg16'],
    });
    assert.equal(res.explanations.length, 2);
    for (const e of res.explanations) {
      assert.equal(e.map.length, 224 * 224, e.method);
      assert.ok(e.map.every(Number.isFinite), `${e.method} has non-finite values`);
      assert.ok(e.map.some((v) => v > 0), `${e.method} is all zero`);
    }
  } finally {
    ex.dispose();
  }
});

test('the same file given for VGG19 is refused, naming the first VGG19 layer it has no weights for', async () => {
  await assert.rejects(loadModelSource({ arch: 'vgg19', weights: WEIGHTS }), (e: Error) => e instanceof ModelLoadError && /no weights for layer 'block3_conv4' \(Conv2D\)/.test(e.message));
});
