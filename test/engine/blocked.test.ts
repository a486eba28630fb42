import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend, maxStorageBindingBytes } from '../../engine/backend.js';
import {
  BlockedMatrix,
  blockedFromHost,
  columnBlockWidths,
  mapBlocks,
  matMulBlocked,
  matMulTransposedBlocked,
} from '../../engine/blocked.js';
import { ExplainEngine } from '../../engine/explain-engine.js';
import { runSync } from '../../engine/reads.js';
import { forwardLogits } from '../../engine/forward.js';
import type { Graph } from '../../engine/graph.js';
import { maskedLogits } from '../util/masked-logits.js';
import { graphFromLayersModel, ModelLoadError } from '../../engine/model-loader.js';
import { paperComposite, referenceComposite } from '../../engine/composites.js';
import { rankClasses } from '../../engine/targets.js';
import { METHOD_NAMES, type MethodName, type Variant } from '../../engine/types.js';
import { WeightCache } from '../../engine/weight-cache.js';
import { denseLayers, denseLrp } from '../util/dense-reference.js';
import { randomImage } from '../util/models.js';
import { assertClose, relevanceOf } from '../util/numeric.js';

/**
 * Dense kernels kept as column blocks (engine/blocked.ts), the webgpu answer to kernels larger
 * than the device's storage-binding limit (VGG16's fc1 on a 128 MiB device). Here on wasm, with
 * the limit forced small through graphFromLayersModel's `maxBindingBytes`, so the blocked code
 * paths run without a GPU; test/engine/webgpu.test.ts runs a fc1-sized kernel on a real adapter.
 */

const BOUNDS = { low: -1, high: 2 };
const host = (t: tf.Tensor) => t.dataSync() as Float32Array;

test('column block widths: fewest blocks under the byte cap, near-equal, uneven last block', () => {
  assert.deepEqual(columnBlockWidths(10, 22, 10 * 4 * 4), [4, 4, 4, 4, 4, 2]); // ≤ 4 columns per block
  assert.deepEqual(columnBlockWidths(10, 13, 10 * 4 * 5), [5, 5, 3]); // 3 blocks; width 5 (8 would not fit)
  assert.deepEqual(columnBlockWidths(10, 12, 10 * 4 * 5), [4, 4, 4]);
  assert.deepEqual(columnBlockWidths(3, 7, 1000), [7]);
  // VGG16's fc1 [25088, 4096] on a 128 MiB device, blocks of at most 64 MiB: 7 blocks of ≈ 58 MB.
  const fc1 = columnBlockWidths(25088, 4096, 64 * 1024 * 1024);
  assert.equal(fc1.length, 7);
  assert.equal(
    fc1.reduce((a, b) => a + b, 0),
    4096,
  );
  assert.ok(fc1.every((w) => w * 25088 * 4 <= 64 * 1024 * 1024));
  assert.throws(() => columnBlockWidths(100, 3, 399), /one column of 100 floats/);
});

for (const backend of ['wasm', 'cpu'] as const) {
  test(`blocked matmul and transposed matmul equal the plain ones (${backend}; uneven last block)`, async () => {
    await initBackend(backend);
    assert.equal(maxStorageBindingBytes(), null, 'host backends have no binding limit');
    const [rows, cols, b] = [10, 22, 3];
    const wData = randomImage(rows * cols, 11, -1, 1);
    const W = tf.tensor2d(wData, [rows, cols]);
    const blocked = blockedFromHost(wData, rows, cols, rows * 4 * 4);
    assert.deepEqual(
      blocked.blocks.map((t) => t.shape),
      [...Array(5).fill([rows, 4]), [rows, 2]],
    );
    assert.deepEqual(blocked.offsets, [0, 4, 8, 12, 16, 20]);
    assert.deepEqual(blocked.shape, [rows, cols]);
    assert.equal(blocked.size, rows * cols);
    const joined = tf.concat(blocked.blocks, 1);
    assert.deepEqual(host(joined), host(W), 'the blocks are the column slices of W');

    const x = tf.tensor2d(randomImage(b * rows, 12, -1, 1), [b, rows]);
    const s = tf.tensor2d(randomImage(b * cols, 13, -1, 1), [b, cols]);
    const before = tf.memory().numTensors;
    const y = matMulBlocked(x, blocked);
    const yT = matMulTransposedBlocked(s, blocked);
    assert.equal(tf.memory().numTensors, before + 2, 'no intermediate tensor leaks');
    assert.deepEqual(y.shape, [b, cols]);
    assert.deepEqual(yT.shape, [b, rows]);
    assertClose(host(y), host(tf.matMul(x, W)), 1e-6, 'x·W blocked');
    assertClose(host(yT), host(tf.matMul(s, W, false, true)), 1e-6, 's·Wᵀ blocked');
    // A single tensor runs the unblocked ops (today's path: (W·sᵀ)ᵀ).
    assertClose(host(matMulBlocked(x, W)), host(tf.matMul(x, W)), 0, 'x·W single tensor');
    assertClose(host(matMulTransposedBlocked(s, W)), host(tf.transpose(tf.matMul(W, tf.transpose(s)))), 0, 's·Wᵀ single tensor');

    // Derived weights per block: mapBlocks and the weight cache (keys per block, made once).
    const relu = mapBlocks(blocked, (t) => tf.relu(t)) as BlockedMatrix;
    assert.ok(relu instanceof BlockedMatrix);
    assert.deepEqual(host(tf.concat(relu.blocks, 1)), host(tf.relu(W)));
    const cache = new WeightCache();
    let made = 0;
    const derive = (t: tf.Tensor) => (made++, tf.relu(t));
    const a = cache.derived('w:positive', blocked, derive) as BlockedMatrix;
    const again = cache.derived('w:positive', blocked, derive) as BlockedMatrix;
    assert.equal(made, blocked.blocks.length, 'one derivation per block, cached');
    a.blocks.forEach((t, j) => assert.equal(t, again.blocks[j], `block ${j} comes from the cache`));
    assert.deepEqual(host(tf.concat(a.blocks, 1)), host(tf.relu(W)));
    const single = cache.derived('w:single', W, derive);
    assert.ok(single instanceof tf.Tensor, 'a single tensor stays a single tensor');
    cache.dispose();
    relu.dispose();
    blocked.dispose();
    tf.dispose([W, joined, x, s, y, yT]);
  });
}

/** Conv front end, Dense+BN (folded by canonization, blockwise), Dense tail. */
function convDenseModel(): tf.LayersModel {
  const init = (seed: number, stddev = 0.5) => tf.initializers.randomNormal({ seed, stddev });
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({
      name: 'conv',
      inputShape: [6, 6, 3],
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(1),
      biasInitializer: init(2, 0.1),
    }),
  );
  m.add(tf.layers.maxPooling2d({ name: 'pool', poolSize: 2 }));
  m.add(tf.layers.flatten({ name: 'flatten' }));
  m.add(tf.layers.dense({ name: 'fc1', units: 22, kernelInitializer: init(3), biasInitializer: init(4, 0.1) })); // [36, 22]: 3168 bytes
  m.add(tf.layers.batchNormalization({ name: 'fc1_bn' }));
  m.add(tf.layers.activation({ name: 'fc1_relu', activation: 'relu' }));
  m.add(tf.layers.dropout({ name: 'drop', rate: 0.5 }));
  m.add(tf.layers.dense({ name: 'fc2', units: 9, activation: 'relu', kernelInitializer: init(5), biasInitializer: init(6, 0.1) })); // [22, 9]: 792 bytes
  m.add(
    tf.layers.dense({ name: 'predictions', units: 5, activation: 'softmax', kernelInitializer: init(7), biasInitializer: init(8, 0.1) }),
  );
  const bn = m.getLayer('fc1_bn');
  bn.setWeights(
    bn
      .getWeights()
      .map((w, i) => tf.add(tf.mul(tf.randomUniform(w.shape, 0.5, 1.5, 'float32', 9 + i), i % 2 === 0 ? 1 : 0.3), i === 1 ? -0.4 : 0)),
  );
  return m;
}

/** A Dense layer touching the input (after a Flatten): zB runs on a blocked kernel. */
function denseFirstModel(): tf.LayersModel {
  const init = (seed: number) => tf.initializers.randomNormal({ seed, stddev: 0.5 });
  const m = tf.sequential();
  m.add(tf.layers.flatten({ name: 'flatten', inputShape: [4, 4, 2] }));
  m.add(tf.layers.dense({ name: 'd1', units: 12, activation: 'relu', kernelInitializer: init(21), biasInitializer: init(22) })); // [32, 12]: 1536 bytes
  m.add(tf.layers.dense({ name: 'predictions', units: 4, activation: 'softmax', kernelInitializer: init(23), biasInitializer: init(24) }));
  return m;
}

/** Blocks of each Dense node (0: one tensor). */
function blockCounts(g: Graph): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of g.nodes) if (n.op.kind === 'dense') out[n.name] = n.op.kernel instanceof BlockedMatrix ? n.op.kernel.blocks.length : 0;
  return out;
}

interface Maps {
  logits: Float32Array[];
  maps: Map<string, { map: Float32Array; raw?: Float32Array }>;
}

function explainAll(ex: ExplainEngine, images: Float32Array[], methods: MethodName[], variant: Variant): Maps {
  // Targets: the two top classes (a weak class's LRP map may be all zero after the positive part).
  const top2 = (_i: number, _p: Float32Array, z: Float32Array) =>
    rankClasses(z)
      .slice(0, 2)
      .map((classIndex) => ({ kind: 'index' as const, classIndex }));
  const res = runSync(ex.explainSteps(images, top2, { methods, variant, seed: 3, imageIds: images.map((_, i) => `i${i}`) }));
  const maps = new Map<string, { map: Float32Array; raw?: Float32Array }>();
  for (const e of res.explanations)
    maps.set(`${e.imageIndex}|${e.method}|${e.target.classIndex}`, { map: e.map, ...(e.raw ? { raw: e.raw } : {}) });
  return { logits: res.forward.logits, maps };
}

/** Every method's maps, paper and reference, on both graphs; consumes (disposes) them. */
function compareExplanations(what: string, plain: Graph, blocked: Graph, size: number, methods: MethodName[]): void {
  const images = [0, 1].map((i) => randomImage(size, 30 + i, BOUNDS.low, BOUNDS.high));
  const exPlain = ExplainEngine.fromGraph(plain, { inputBounds: BOUNDS });
  const exBlocked = ExplainEngine.fromGraph(blocked, { inputBounds: BOUNDS });
  try {
    for (const variant of ['paper', 'reference'] as const) {
      const want = explainAll(exPlain, images, methods, variant);
      const got = explainAll(exBlocked, images, methods, variant);
      got.logits.forEach((z, i) => assertClose(z, want.logits[i]!, 1e-5, `${what}: logits of image ${i}`));
      assert.equal(got.maps.size, want.maps.size);
      assert.equal(want.maps.size, images.length * 2 * methods.length);
      const nonZero = new Set<string>();
      for (const [k, w] of want.maps) {
        const g = got.maps.get(k);
        assert.ok(g, `${what} ${variant}: ${k} missing`);
        if (w.map.some((v) => v !== 0)) nonZero.add(k.split('|')[1]!);
        assertClose(g.map, w.map, 1e-5, `${what} ${variant} ${k} map`);
        assert.equal(g.raw === undefined, w.raw === undefined);
        if (w.raw) assertClose(g.raw!, w.raw, 1e-5, `${what} ${variant} ${k} raw`);
      }
      assert.deepEqual([...nonZero].sort(), [...methods].sort(), `${what} ${variant}: every method has a non-zero map`);
    }
  } finally {
    exPlain.dispose();
    exBlocked.dispose();
  }
}

test('a model whose Dense kernels are forced into column blocks (canonized Dense+BN, zB on a Dense first layer) gives the same logits and maps as unblocked (wasm)', async () => {
  await initBackend('wasm');
  // Limit 1200 bytes: Dense kernels over 600 bytes are blocked (fc1 [36, 22]: 6 blocks, the last
  // 2 columns wide; fc2 [22, 9]: 5 + 4 columns); the predictions kernel (180 bytes) is not.
  const limit = 1200;
  const m1 = convDenseModel();
  const plain1 = graphFromLayersModel(m1);
  const blocked1 = graphFromLayersModel(m1, { maxBindingBytes: limit });
  assert.deepEqual(blockCounts(plain1), { fc1: 0, fc2: 0, predictions: 0 }, 'no blocks on a host backend');
  assert.deepEqual(blockCounts(blocked1), { fc1: 6, fc2: 2, predictions: 0 });
  assert.ok(!blocked1.nodes.some((n) => n.op.kind === 'affine'), 'the BN folded into the blocked fc1');
  const fc1 = blocked1.nodes.find((n) => n.name === 'fc1')!;
  assert.ok(fc1.op.kind === 'dense' && fc1.op.kernel instanceof BlockedMatrix && fc1.aliases?.includes('fc1_bn'));
  assert.deepEqual(
    fc1.op.kernel.blocks.map((b) => b.shape[1]),
    [4, 4, 4, 4, 4, 2],
  );
  // The canonized blocked graph predicts like the LayersModel.
  const x = tf.tensor4d(Float32Array.from([...randomImage(108, 40, -1, 2), ...randomImage(108, 41, -1, 2)]), [2, 6, 6, 3]);
  const want = (m1.predict(x) as tf.Tensor).dataSync();
  const probs = tf.tidy(() => tf.softmax(forwardLogits(blocked1, x)).dataSync());
  assertClose(probs, want, 1e-5, 'probabilities vs LayersModel.predict');
  x.dispose();
  // The engine's paper rules on the blocked graph against the dense-matrix reference.
  const img = randomImage(108, 50, BOUNDS.low, BOUNDS.high);
  const seed = Float32Array.from([0.3, -1.2, 2.0, 0.7, 0.1]);
  const [rel] = relevanceOf(blocked1, [img], [seed], paperComposite(BOUNDS.low, BOUNDS.high));
  const ref = denseLrp(
    denseLayers(blocked1),
    img,
    seed,
    { kind: 'zb', low: BOUNDS.low, high: BOUNDS.high, eps: 1e-9 },
    { kind: 'zplus', bias: false, eps: 1e-9 },
  );
  assertClose(rel!, ref, 2e-4, 'blocked graph vs dense reference');
  // Incremental masking: the Dense tail runs in full through the blocked forward.
  const fill = randomImage(108, 60, -0.5, 0.5);
  const imgs = [randomImage(108, 61, -1, 2), randomImage(108, 62, -1, 2)];
  const masks = [
    { image: 0, r0: 0, r1: 2, c0: 0, c1: 2 },
    { image: 1, r0: 2, r1: 5, c0: 1, c1: 4 },
    { image: 1, r0: 0, r1: 6, c0: 0, c1: 6 },
  ];
  const mPlain = maskedLogits(plain1, imgs, masks, fill);
  maskedLogits(blocked1, imgs, masks, fill).forEach((z, i) => assertClose(z, mPlain[i]!, 1e-5, `masked logits ${i}`));
  compareExplanations('conv + Dense/BN', plain1, blocked1, 108, [...METHOD_NAMES]);

  const m2 = denseFirstModel();
  const plain2 = graphFromLayersModel(m2);
  const blocked2 = graphFromLayersModel(m2, { maxBindingBytes: limit }); // d1 [32, 12]: 3 blocks of 4
  assert.deepEqual(blockCounts(blocked2), { d1: 3, predictions: 0 });
  for (const rules of [paperComposite(BOUNDS.low, BOUNDS.high), referenceComposite(BOUNDS.low, BOUNDS.high)]) {
    const seeds = [Float32Array.from([1, 0, -0.5, 0.2])];
    const image = randomImage(32, 70, -1, 2);
    const [a] = relevanceOf(blocked2, [image], seeds, rules);
    const [b] = relevanceOf(plain2, [image], seeds, rules);
    assertClose(a!, b!, 1e-5, `${rules.name}: zB on the blocked first layer`);
  }
  compareExplanations('Dense first layer (zB)', plain2, blocked2, 32, ['lrp', 'clrp', 'sglrp', 'gbp']);
  m1.dispose();
  m2.dispose();
});

test('a weight other than a Dense kernel over the binding limit is refused at load, naming the layer, its size, the limit and what to do', async () => {
  await initBackend('wasm');
  const m = convDenseModel(); // conv kernel [3, 3, 3, 4]: 432 bytes
  assert.throws(
    () => graphFromLayersModel(m, { maxBindingBytes: 400 }),
    (e: unknown) =>
      e instanceof ModelLoadError &&
      /layer 'conv' \(Conv2D\): its kernel \[3, 3, 3, 4\] is 432 bytes.*storage-binding limit of 400 bytes.*--backend wasm.*larger limit/s.test(
        (e as Error).message,
      ),
  );
  m.dispose();
});
