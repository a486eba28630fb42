/**
 * The shipped digits-pair model (models/digits-pair/, trained by scripts/train-digits.ts): the
 * layers the relevance engine supports, Keras-style names, small, and it finds both digits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadLayersModelFromFile } from '../../engine/model-loader.js';
import { digitsPairDataset, type DigitsPairSample } from '../../data/digits-pair.js';
import { projectRoot } from '../../io/project-root.js';

const dir = join(projectRoot(), 'models', 'digits-pair');

test('the shipped digits-pair model: supported layers, Keras names, 64×64×1 → softmax over 10, ≤ 2 MB', async () => {
  const model = await loadLayersModelFromFile(join(dir, 'model.json'));
  try {
    const names = model.layers.map((l) => l.name);
    assert.deepEqual(names, [
      'input_1',
      'block1_conv1',
      'block1_conv2',
      'block1_pool',
      'block2_conv1',
      'block2_conv2',
      'block2_pool',
      'block3_conv1',
      'block3_pool',
      'flatten',
      'fc1',
      'dropout',
      'predictions',
    ]);
    const allowed = new Set(['InputLayer', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dense', 'Dropout']);
    for (const l of model.layers) assert.ok(allowed.has(l.getClassName()), `${l.name} is a ${l.getClassName()}`);
    assert.deepEqual(model.inputs[0]!.shape, [null, 64, 64, 1]);
    assert.deepEqual(model.outputs[0]!.shape, [null, 10]);
    const last = model.layers.at(-1)!.getConfig() as { activation?: string };
    assert.equal(last.activation, 'softmax');
    assert.ok(statSync(join(dir, 'weights.bin')).size <= 2 * 1024 * 1024);
  } finally {
    model.dispose();
  }
});

test('the shipped model names both digits of held-out images (top-2 = the pair)', async () => {
  const model = await loadLayersModelFromFile(join(dir, 'model.json'));
  const reader = digitsPairDataset({ split: 'test', count: 100, seed: 0 });
  const samples: DigitsPairSample[] = [];
  for (let i = 0; i < reader.size(); i++) {
    const r = await reader.read(i);
    assert.ok(r.ok);
    samples.push(r.sample as DigitsPairSample);
  }
  const x = new Float32Array(samples.length * 64 * 64);
  samples.forEach((s, k) => x.set(s.input, k * 64 * 64));
  const probs = tf.tidy(() => (model.predict(tf.tensor4d(x, [samples.length, 64, 64, 1])) as tf.Tensor).dataSync());
  model.dispose();
  let pair = 0;
  samples.forEach((s, k) => {
    const row = Array.from(probs.subarray(k * 10, k * 10 + 10));
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-4, 'softmax rows sum to 1');
    const [t1, t2] = row
      .map((v, i) => [v, i] as const)
      .sort((a, b) => b[0] - a[0])
      .map(([, i]) => i);
    if (new Set([t1, t2, s.label, s.secondLabel]).size === 2) pair++;
  });
  // TRAINING.md reports the accuracy on 2000 such images; 100 images vary by a few points.
  const reported = /top-2 set accuracy[^|]*\| ([\d.]+) %/.exec(readFileSync(join(dir, 'TRAINING.md'), 'utf8'));
  assert.ok(reported, 'TRAINING.md states the top-2 set accuracy');
  assert.ok(pair >= Number(reported[1]) - 10, `top-2 set accuracy on 100 test images is ${pair} %, TRAINING.md says ${reported[1]} %`);
  assert.ok(pair >= 70, `top-2 set accuracy on 100 test images is only ${pair} %`);
});
