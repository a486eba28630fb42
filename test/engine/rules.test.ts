import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../engine/backend.js';
import { graphFromLayersModel } from '../../engine/model-loader.js';
import { composite, epsilonRule, zBRule, zPlusRule, type Composite } from '../../engine/rules.js';
import { paperComposite, referenceComposite } from '../../engine/composites.js';
import { WeightCache } from '../../engine/weight-cache.js';
import { denseLayers, denseLrp, type RefRule } from '../util/dense-reference.js';
import { buildTinyCnn, randomImage, zeroBiases } from '../util/models.js';
import { assertClose, relevanceOf } from '../util/numeric.js';

const LOW = -1;
const HIGH = 2;

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);

for (const backend of ['wasm', 'cpu'] as const) {
  for (const stride2 of [false, true]) {
    test(`every rule equals its dense-matrix form (${backend}, ${stride2 ? 'strided valid conv' : 'same conv'})`, async () => {
      await initBackend(backend);
      const model = buildTinyCnn({ stride2 });
      const graph = graphFromLayersModel(model);
      const x = randomImage(8 * 8 * 3, 3, LOW, HIGH);
      const layers = denseLayers(graph);
      const seed = Float32Array.from([0.3, -1.2, 2.0, 0.7]);
      const cases: { name: string; engine: Composite; first: RefRule; rest: RefRule }[] = [
        {
          name: 'paper z+/zB',
          engine: paperComposite(LOW, HIGH),
          first: { kind: 'zb', low: LOW, high: HIGH, eps: 1e-9 },
          rest: { kind: 'zplus', bias: false, eps: 1e-9 },
        },
        {
          name: 'reference z+bias/zB',
          engine: referenceComposite(LOW, HIGH),
          first: { kind: 'zb', low: LOW, high: HIGH, eps: 1e-9 },
          rest: { kind: 'zplus', bias: true, eps: 0 },
        },
        {
          name: 'epsilon everywhere',
          engine: composite('eps', epsilonRule(1e-3), epsilonRule(1e-3)),
          first: { kind: 'epsilon', eps: 1e-3 },
          rest: { kind: 'epsilon', eps: 1e-3 },
        },
        {
          name: 'z+ first layer too',
          engine: composite('z+', zPlusRule({ bias: false }), zPlusRule({ bias: false })),
          first: { kind: 'zplus', bias: false, eps: 1e-9 },
          rest: { kind: 'zplus', bias: false, eps: 1e-9 },
        },
      ];
      for (const c of cases) {
        const [got] = relevanceOf(graph, [x], [seed], c.engine);
        const want = denseLrp(layers, x, seed, c.first, c.rest);
        assertClose(got!, want, 2e-4, c.name);
      }
      model.dispose();
    });
  }
}

test('z+ and zB conserve relevance without biases (input relevance sums to the seed sum)', async () => {
  await initBackend('wasm');
  const model = buildTinyCnn({ seed: 21 });
  zeroBiases(model);
  const graph = graphFromLayersModel(model);
  const xs = [randomImage(192, 5, LOW, HIGH), randomImage(192, 6, LOW, HIGH)];
  const seeds = [Float32Array.from([1.5, 0, 0, 0]), Float32Array.from([0, 0, 2.5, 0])];
  const rel = relevanceOf(graph, xs, seeds, paperComposite(LOW, HIGH, 1e-12));
  rel.forEach((r, i) => {
    const s = sum(seeds[i]!);
    assert.ok(Math.abs(sum(r) - s) < 1e-3 * Math.abs(s), `image ${i}: Σ R_in = ${sum(r)}, seed sum ${s}`);
  });
  model.dispose();
});

test('relevance is linear in the seed: LRP(a·s1 + b·s2) = a·LRP(s1) + b·LRP(s2)', async () => {
  await initBackend('wasm');
  const model = buildTinyCnn({ seed: 33 });
  const graph = graphFromLayersModel(model);
  const x = randomImage(192, 8, LOW, HIGH);
  const s1 = Float32Array.from([1, -0.2, 0.5, 0]);
  const s2 = Float32Array.from([-0.3, 0.9, 0, 1.1]);
  const mix = s1.map((v, i) => 2 * v - 3 * s2[i]!);
  const [r1, r2, rm] = relevanceOf(graph, [x, x, x].slice(0, 1), [s1], paperComposite(LOW, HIGH)).concat(
    relevanceOf(graph, [x], [s2], paperComposite(LOW, HIGH)),
    relevanceOf(graph, [x], [mix], paperComposite(LOW, HIGH)),
  );
  assertClose(
    rm!,
    r1!.map((v, i) => 2 * v - 3 * r2![i]!),
    1e-4,
    'linearity',
  );
  model.dispose();
});

test('a batch of images with several seeds each equals per-sample passes', async () => {
  await initBackend('wasm');
  const model = buildTinyCnn({ seed: 44 });
  const graph = graphFromLayersModel(model);
  const xs = [randomImage(192, 11, LOW, HIGH), randomImage(192, 12, LOW, HIGH), randomImage(192, 13, LOW, HIGH)];
  const seedsPerImage = [Float32Array.from([1, 0, 0, 0]), Float32Array.from([0, 1, -1, 0.5])];
  const rules = referenceComposite(LOW, HIGH);
  // Batched: 3 images × 2 seeds, image-major.
  const batched = relevanceOf(
    graph,
    xs,
    xs.flatMap(() => seedsPerImage),
    rules,
  );
  xs.forEach((img, i) =>
    seedsPerImage.forEach((seed, j) => {
      const [single] = relevanceOf(graph, [img], [seed], rules);
      assertClose(batched[i * 2 + j]!, single!, 1e-5, `image ${i} seed ${j}`);
    }),
  );
  model.dispose();
});

test('zB at the input uses the bounds: a pixel at the lower bound with positive weights gets no relevance from W⁺', async () => {
  await initBackend('cpu');
  // One 1×1 conv from 1 channel to 1 channel, weight +2: Z = 2x − 2·low; R_in = (2x − 2·low)/Z · R = R.
  const rule = zBRule(-1, 3, 0);
  const kernel = tf.tensor4d([2], [1, 1, 1, 1]);
  const node = {
    id: 1,
    name: 'c',
    className: 'Conv2D',
    inputs: [0],
    outputShape: [1, 2, 1],
    op: {
      kind: 'conv2d' as const,
      kernel,
      bias: null,
      strides: [1, 1] as [number, number],
      padding: 'valid' as const,
      activation: 'relu' as const,
    },
  };
  const input = tf.tensor4d([0.5, 2], [1, 1, 2, 1]);
  const r = tf.tensor4d([4, 6], [1, 1, 2, 1]);
  const out = rule.backward({ node, input, relevance: r, weights: new WeightCache() }).dataSync();
  assertClose(out, [4, 6], 1e-6, 'zB single weight');
  // Negative weight −1: Z = −x + h; R_in = (−x + h)/Z · R = R as well, but the split to x vs bound differs.
  const neg = { ...node, op: { ...node.op, kernel: tf.tensor4d([-1], [1, 1, 1, 1]) } };
  const out2 = rule.backward({ node: neg, input, relevance: r, weights: new WeightCache() }).dataSync();
  assertClose(out2, [4, 6], 1e-6, 'zB negative weight');
});
