import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../engine/backend.js';
import { canonize } from '../../engine/canonize.js';
import { forwardLogits } from '../../engine/forward.js';
import { disposeGraph, nodeByName, type Graph } from '../../engine/graph.js';
import { graphFromLayersModel, loadGraph } from '../../engine/model-loader.js';
import { saveLayersModel } from '../../engine/model-saver.js';
import { buildTinyDenseNet, buildTinyInception, buildTinyResNet } from '../util/dag-models.js';
import { randomImage } from '../util/models.js';
import { assertClose } from '../util/numeric.js';

/** Softmax of the engine's logits, for comparison with the LayersModel's predict. */
function engineProbs(graph: Graph, x: tf.Tensor4D): Float32Array {
  return tf.tidy(() => tf.softmax(forwardLogits(graph, x)).dataSync() as Float32Array);
}

function logits(graph: Graph, x: tf.Tensor4D): Float32Array {
  return tf.tidy(() => forwardLogits(graph, x).dataSync() as Float32Array);
}

function images(model: tf.LayersModel, n: number, seed: number): tf.Tensor4D {
  const [h, w, c] = model.inputs[0]!.shape.slice(1) as number[];
  const per = h! * w! * c!;
  const data = new Float32Array(per * n);
  for (let i = 0; i < n; i++) data.set(randomImage(per, seed + i, -1, 2), i * per);
  return tf.tensor4d(data, [n, h!, w!, c!]);
}

const kinds = (g: Graph) => g.nodes.map((n) => n.op.kind);
const count = (g: Graph, kind: string) => kinds(g).filter((k) => k === kind).length;

/** Checks the canonized graph against predict and against the graph before canonization. */
function checkInvariance(model: tf.LayersModel, what: string): Graph {
  const x = images(model, 2, 5);
  const raw = graphFromLayersModel(model, { canonize: false });
  const before = logits(raw, x);
  const canon = canonize(raw); // consumes `raw`
  assertClose(logits(canon, x), before, 1e-5, `${what}: logits before/after canonization`);
  const want = (model.predict(x) as tf.Tensor).dataSync();
  assertClose(engineProbs(canon, x), want, 1e-5, `${what}: probabilities vs LayersModel.predict`);
  x.dispose();
  return canon;
}

test('Conv2D+BN and Dense+BN fold into the linear layer; the output is unchanged', async () => {
  await initBackend('wasm');
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({
      name: 'conv',
      inputShape: [6, 6, 2],
      filters: 3,
      kernelSize: 3,
      kernelInitializer: tf.initializers.randomNormal({ seed: 1 }),
    }),
  );
  m.add(tf.layers.batchNormalization({ name: 'conv_bn', epsilon: 1e-3 }));
  m.add(tf.layers.activation({ name: 'conv_relu', activation: 'relu' }));
  m.add(tf.layers.flatten({ name: 'flat' }));
  m.add(tf.layers.dense({ name: 'fc', units: 5, useBias: false, kernelInitializer: tf.initializers.randomNormal({ seed: 2 }) }));
  m.add(tf.layers.batchNormalization({ name: 'fc_bn', scale: false }));
  m.add(tf.layers.dense({ name: 'out', units: 3, activation: 'softmax', kernelInitializer: tf.initializers.randomNormal({ seed: 3 }) }));
  // Non-trivial statistics: γ, β, μ, σ² all away from 1/0.
  for (const name of ['conv_bn', 'fc_bn']) {
    const l = m.getLayer(name);
    l.setWeights(
      l
        .getWeights()
        .map((w, i) => tf.add(tf.mul(tf.randomUniform(w.shape, 0.5, 1.5, 'float32', 7 + i), i % 2 === 0 ? 1 : 0.3), i === 1 ? -0.4 : 0)),
    );
  }
  const g = checkInvariance(m, 'sequential conv/dense + BN');
  assert.equal(count(g, 'affine'), 0, 'both BNs folded');
  assert.deepEqual(kinds(g), ['input', 'conv2d', 'relu', 'reshape', 'dense', 'dense']);
  const fc = nodeByName(g, 'fc_bn');
  assert.equal(fc.name, 'fc', 'a folded BN is found by name: the node producing its output');
  assert.ok(fc.op.kind === 'dense' && fc.op.bias !== null, 'the folded layer gains the BN shift as a bias');
  assert.deepEqual(nodeByName(g, 'conv_bn').aliases, ['conv_bn']);
  disposeGraph(g);
  m.dispose();
});

test('a BN after Add, after Concatenate or before a conv stays an affine node; outputs unchanged (ResNet, DenseNet, Inception blocks)', async () => {
  await initBackend('wasm');
  const res = buildTinyResNet({ seed: 3 });
  const gr = checkInvariance(res, 'residual');
  assert.deepEqual(
    gr.nodes.filter((n) => n.op.kind === 'affine').map((n) => n.name),
    ['post_bn'],
    'only the BN after the Add is left',
  );
  const dense = buildTinyDenseNet({ seed: 4 });
  const gd = checkInvariance(dense, 'dense block');
  assert.deepEqual(
    gd.nodes.filter((n) => n.op.kind === 'affine').map((n) => n.name),
    ['conv2_block1_0_bn', 'conv2_block2_0_bn', 'pool2_bn', 'bn'],
    'BN-ReLU-Conv and BN after Concatenate stay; conv-BN pairs fold',
  );
  const inc = buildTinyInception({ seed: 5 });
  const gi = checkInvariance(inc, 'inception');
  assert.equal(count(gi, 'affine'), 0, 'conv2d_bn blocks (BN without γ) all fold');
  for (const [g, m] of [
    [gr, res],
    [gd, dense],
    [gi, inc],
  ] as const) {
    disposeGraph(g);
    m.dispose();
  }
});

test('no fold when the conv has a ReLU or its output feeds another layer too', async () => {
  await initBackend('wasm');
  const input = tf.input({ shape: [5, 5, 2] });
  const init = (seed: number) => tf.initializers.randomNormal({ seed, stddev: 0.5 });
  const c1 = tf.layers
    .conv2d({ name: 'c1', filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1) })
    .apply(input) as tf.SymbolicTensor;
  const b1 = tf.layers.batchNormalization({ name: 'b1', betaInitializer: init(2) }).apply(c1) as tf.SymbolicTensor;
  const c2 = tf.layers.conv2d({ name: 'c2', filters: 3, kernelSize: 1, kernelInitializer: init(3) }).apply(b1) as tf.SymbolicTensor;
  const b2 = tf.layers
    .batchNormalization({ name: 'b2', betaInitializer: init(4), movingMeanInitializer: init(5) })
    .apply(c2) as tf.SymbolicTensor;
  const sum = tf.layers.add({ name: 'sum' }).apply([c2, b2]) as tf.SymbolicTensor; // c2 feeds b2 and the Add
  const flat = tf.layers.flatten().apply(sum) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: init(6) }).apply(flat) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: out });
  const g = checkInvariance(m, 'unfoldable');
  assert.deepEqual(
    g.nodes.filter((n) => n.op.kind === 'affine').map((n) => n.name),
    ['b1', 'b2'],
  );
  disposeGraph(g);
  m.dispose();
});

test('a functional model with BatchNormalization saved to disk loads (inbound nodes, BN weights by name) and predicts the same', async () => {
  await initBackend('wasm');
  const dir = mkdtempSync(join(tmpdir(), 'sglrp-canon-'));
  try {
    const model = buildTinyDenseNet({ seed: 9 });
    const path = await saveLayersModel(model, dir);
    const g = await loadGraph(path);
    const x = images(model, 2, 21);
    assertClose(engineProbs(g, x), (model.predict(x) as tf.Tensor).dataSync(), 1e-5, 'loaded DenseNet block');
    assert.equal(count(g, 'concat'), 2);
    assert.equal(count(g, 'affine'), 4);
    x.dispose();
    disposeGraph(g);
    model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
