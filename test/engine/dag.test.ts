import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../engine/backend.js';
import { ExplainEngine } from '../../engine/explain-engine.js';
import { runSync } from '../../engine/reads.js';
import { disposeCache, forwardWithCache } from '../../engine/forward.js';
import { disposeGraph, type GraphNode } from '../../engine/graph.js';
import { propagateGradient } from '../../engine/gradient.js';
import { graphFromLayersModel, ModelLoadError } from '../../engine/model-loader.js';
import { composite, epsilonRule, signedEpsilon, zBRule, type Composite } from '../../engine/rules.js';
import { paperComposite, referenceComposite } from '../../engine/composites.js';
import { addRelevance, avgPoolRelevance, passThroughAffine } from '../../engine/split-rules.js';
import { avgPoolTranspose, gapTranspose, uncrop, unpad } from '../../engine/transposes.js';
import { disposeWalkState } from '../../engine/walk.js';
import { WeightCache } from '../../engine/weight-cache.js';
import { autodiffGradCam, differentiable } from '../util/autodiff.js';
import { buildTinyDenseNet, buildTinyInception, buildTinyResNet, type DagOpts } from '../util/dag-models.js';
import { denseLayers, denseLrp, type RefMergeRules, type RefRule } from '../util/dense-reference.js';
import { randomImage } from '../util/models.js';
import { assertClose, relevanceOf } from '../util/numeric.js';

const LOW = -1;
const HIGH = 2;

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);

const FAMILIES: [string, (o: DagOpts) => tf.LayersModel][] = [
  ['residual', buildTinyResNet],
  ['dense block', buildTinyDenseNet],
  ['inception', buildTinyInception],
];

test('Add, Concatenate, average pooling, GAP, padding, cropping and affine rules on hand-computed numbers', async () => {
  await initBackend('cpu');
  const eps = signedEpsilon(0);
  // Add: x1 = [1, 3], x2 = [2, −1], z = [3, 2], R = [6, 4] → R1 = x1·R/z = [2, 6], R2 = [4, −2] (sums conserved).
  const x1 = tf.tensor2d([[1, 3]]);
  const x2 = tf.tensor2d([[2, -1]]);
  const [r1, r2] = addRelevance([x1, x2], tf.add(x1, x2), tf.tensor2d([[6, 4]]), eps);
  assertClose(r1!.dataSync(), [2, 6], 1e-6, 'Add share of x1');
  assertClose(r2!.dataSync(), [4, -2], 1e-6, 'Add share of x2 (a negative contribution gets negative relevance)');
  // Two seeds for one image: the activations broadcast over the seed rows.
  const [b1] = addRelevance(
    [x1, x2],
    tf.add(x1, x2),
    tf.tensor2d([
      [6, 4],
      [3, 0],
    ]),
    eps,
  );
  assertClose(b1!.dataSync(), [2, 6, 1, 0], 1e-6, 'Add with two seeds');

  // 2×2 average pool, stride 2, over [1, 2, 3, 4]: y = 2.5; R = 5 → R_i = (x_i/4)/2.5·5 = x_i/2.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const node = (op: GraphNode['op'] & { id?: number }): any => ({
    id: op.id ?? 1,
    name: 'n',
    className: 'X',
    inputs: [0],
    outputShape: [],
    op,
  });
  const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
  const pool = node({ kind: 'avgpool', poolSize: [2, 2], strides: [2, 2], padding: 'valid' });
  const w = new WeightCache();
  const rPool = avgPoolRelevance(x, tf.avgPool(x, 2, 2, 'valid'), tf.tensor4d([5], [1, 1, 1, 1]), eps, (s) =>
    avgPoolTranspose(pool, s as tf.Tensor4D, x.shape, w),
  );
  assertClose(rPool.dataSync(), [0.5, 1, 1.5, 2], 1e-6, 'avg pool 2×2');
  // GAP over the same map is the same window.
  const rGap = avgPoolRelevance(x, tf.mean(x, [1, 2]), tf.tensor2d([[5]]), eps, (s) => gapTranspose(s, x.shape));
  assertClose(rGap.dataSync(), [0.5, 1, 1.5, 2], 1e-6, 'GAP');
  // 3×3 'same' stride-1 average pool on a 1×3 row [1, 2, 3]: windows {1,2} {1,2,3} {2,3} with n = 2, 3, 2;
  // y = [1.5, 2, 2.5]; R = [3, 4, 5] → s = R/(n·y) = [1, 2/3, 1]; R_in = x ⊙ [1 + 2/3, 1 + 2/3 + 1, 2/3 + 1].
  const row = tf.tensor4d([1, 2, 3], [1, 1, 3, 1]);
  const same = node({ kind: 'avgpool', poolSize: [3, 3], strides: [1, 1], padding: 'same' });
  const rSame = avgPoolRelevance(row, tf.avgPool(row, 3, 1, 'same'), tf.tensor4d([3, 4, 5], [1, 1, 3, 1]), eps, (s) =>
    avgPoolTranspose(same, s as tf.Tensor4D, row.shape, w),
  );
  assertClose(rSame.dataSync(), [5 / 3, 2 * (8 / 3), 3 * (5 / 3)], 1e-6, "avg pool 3×3 'same' stride 1");
  assertClose([sum(rSame.dataSync())], [12], 1e-6, 'avg pool conserves');
  // Overlapping windows with stride 2 and 'same' padding (the general path), on a 1×5 row: windows {0,1} {1,2,3} {3,4}
  // with n = 2, 3, 2; the transpose of [1, 1, 1] is [1/2, 1/2 + 1/3, 1/3, 1/3 + 1/2, 1/2]. (TF.js's own AvgPoolGrad
  // gives 1/9 and 2/9 here: it divides by the full window also at the border.)
  const odd = node({ id: 2, kind: 'avgpool', poolSize: [3, 3], strides: [2, 2], padding: 'same' });
  const five = tf.tensor4d([1, 2, 3, 4, 5], [1, 1, 5, 1]);
  assertClose(
    avgPoolTranspose(odd, tf.ones([1, 1, 3, 1]) as tf.Tensor4D, five.shape, w).dataSync(),
    [1 / 2, 5 / 6, 1 / 3, 5 / 6, 1 / 2],
    1e-6,
    'avg pool transpose (general)',
  );

  // Padding and cropping move relevance back to where the values came from.
  const padded = tf.tensor4d([0, 0, 0, 0, 0, 7, 8, 0], [1, 2, 4, 1]); // ZeroPadding2D [[1,0],[1,1]] of the 1×2 map [7, 8]
  assertClose(
    unpad(
      node({
        kind: 'pad',
        pads: [
          [1, 0],
          [1, 1],
        ],
      }),
      padded,
    ).dataSync(),
    [7, 8],
    0,
    'ZeroPadding2D → crop',
  );
  assertClose(
    uncrop(
      node({
        kind: 'crop',
        crops: [
          [0, 1],
          [1, 0],
        ],
      }),
      tf.tensor4d([5, 6], [1, 1, 2, 1]),
    ).dataSync(),
    [0, 5, 6, 0, 0, 0],
    0,
    'Cropping2D → pad',
  );

  // Affine y = a·x + c with a = [2, −1], c = [1, 1], x = [0, 3] (a zero input, as after a ReLU): y = [1, −2];
  // R = [6, 4] passes through unchanged, the zero input's share included (docs/PROTOCOL.md §1).
  const aff = node({ kind: 'affine', scale: tf.tensor1d([2, -1]), shift: tf.tensor1d([1, 1]) });
  const ctx = { node: aff, input: tf.tensor2d([[0, 3]]), output: tf.tensor2d([[1, -2]]), relevance: tf.tensor2d([[6, 4]]) };
  assert.deepEqual(Array.from(passThroughAffine.backward(ctx).dataSync()), [6, 4], 'affine passes through');
  w.dispose();
});

// Rules of each composite, in the dense reference's terms.
const CASES: { name: string; engine: () => Composite; first: RefRule; rest: RefRule; merge?: RefMergeRules }[] = [
  {
    name: 'paper z+/zB',
    engine: () => paperComposite(LOW, HIGH),
    first: { kind: 'zb', low: LOW, high: HIGH, eps: 1e-9 },
    rest: { kind: 'zplus', bias: false, eps: 1e-9 },
  },
  {
    name: 'reference z+bias/zB',
    engine: () => referenceComposite(LOW, HIGH),
    first: { kind: 'zb', low: LOW, high: HIGH, eps: 1e-9 },
    rest: { kind: 'zplus', bias: true, eps: 0 },
    merge: { split: { kind: 'zero', value: 1e-7 } },
  },
  {
    name: 'epsilon everywhere',
    engine: () => composite('eps', epsilonRule(1e-3), epsilonRule(1e-3)),
    first: { kind: 'epsilon', eps: 1e-3 },
    rest: { kind: 'epsilon', eps: 1e-3 },
  },
];

for (const [family, build] of FAMILIES) {
  test(`${family} model: every composite equals the float64 dense reference (wasm)`, async () => {
    await initBackend('wasm');
    const model = build({ seed: 31 });
    const graph = graphFromLayersModel(model);
    const [h, w, c] = graph.inputShape;
    const x = randomImage(h * w * c, 3, LOW, HIGH);
    const layers = denseLayers(graph);
    const seed = Float32Array.from([0.3, -1.2, 2.0, 0.7]);
    for (const k of CASES) {
      const [got] = relevanceOf(graph, [x], [seed], k.engine());
      const want = denseLrp(layers, x, seed, k.first, k.rest, k.merge);
      assertClose(got!, want, 5e-4, `${family}, ${k.name}`);
      assert.ok(
        want.some((v) => Math.abs(v) > 1e-6),
        `${family}, ${k.name}: the reference relevance is not all zero`,
      );
    }
    disposeGraph(graph);
    model.dispose();
  });
}

test('conservation without biases: z+/zB and ε → 0 on residual, dense and inception blocks (Σ R_in = Σ seed)', async () => {
  await initBackend('wasm');
  for (const [family, build] of FAMILIES) {
    const model = build({ seed: 41, biasFree: true });
    const graph = graphFromLayersModel(model);
    const [h, w, c] = graph.inputShape;
    const xs = [randomImage(h * w * c, 5, LOW, HIGH), randomImage(h * w * c, 6, LOW, HIGH)];
    const seeds = [Float32Array.from([1.5, 0, 0, 0]), Float32Array.from([0, -0.5, 2.5, 0])];
    // z+ conserves only where no negative relevance meets a layer whose positive part is silent
    // (Z⁺ = 0 drops it, which raises the sum). Negative relevance arises wherever a signed
    // activation is split proportionally: a residual branch's Add, DenseNet's concatenated raw
    // conv outputs and its transition conv → average pool. So z+/zB is exact on the inception
    // block (every split sees ReLU outputs), the z-rule (ε → 0, zB at the input) on all three.
    const composites = [composite('z / zB', epsilonRule(1e-12), zBRule(LOW, HIGH, 1e-12))];
    if (family === 'inception') composites.push(paperComposite(LOW, HIGH, 1e-12));
    for (const rules of composites) {
      xs.forEach((x, i) => {
        const [r] = relevanceOf(graph, [x], [seeds[i]!], rules);
        const s = sum(seeds[i]!);
        assert.ok(Math.abs(sum(r!) - s) < 1e-3 * Math.abs(s), `${family}, ${rules.name}, image ${i}: Σ R_in = ${sum(r!)}, seed sum ${s}`);
      });
    }
    disposeGraph(graph);
    model.dispose();
  }
});

test('residual model: a batch of images with several seeds each equals per-sample passes', async () => {
  await initBackend('wasm');
  const model = buildTinyResNet({ seed: 44 });
  const graph = graphFromLayersModel(model);
  const [h, w, c] = graph.inputShape;
  const per = h * w * c;
  const xs = [randomImage(per, 11, LOW, HIGH), randomImage(per, 12, LOW, HIGH), randomImage(per, 13, LOW, HIGH)];
  const seedsPerImage = [Float32Array.from([1, 0, 0, 0]), Float32Array.from([0, 1, -1, 0.5])];
  for (const rules of [paperComposite(LOW, HIGH), referenceComposite(LOW, HIGH)]) {
    const batched = relevanceOf(
      graph,
      xs,
      xs.flatMap(() => seedsPerImage),
      rules,
    );
    xs.forEach((img, i) =>
      seedsPerImage.forEach((seed, j) => {
        const [single] = relevanceOf(graph, [img], [seed], rules);
        assertClose(batched[i * 2 + j]!, single!, 1e-5, `${rules.name}: image ${i} seed ${j}`);
      }),
    );
  }
  disposeGraph(graph);
  model.dispose();
});

for (const [family, build] of FAMILIES) {
  test(`${family} model: plain gradient and Guided Backprop equal TF.js autodiff`, async () => {
    await initBackend('cpu');
    const model = build({ seed: 51 });
    const graph = graphFromLayersModel(model);
    const [h, w, c] = graph.inputShape;
    const x = tf.tensor4d(randomImage(h * w * c, 9, LOW, HIGH), [1, h, w, c]);
    const cache = forwardWithCache(graph, x);
    const weights = new WeightCache();
    const per = h * w * c;
    for (const guided of [false, true]) {
      // Every class at once: one seed row per target, as the explainer batches them.
      const f = differentiable(graph, guided);
      const seeds = tf.eye(4) as tf.Tensor2D;
      const got = propagateGradient(cache, seeds, weights, { guided });
      const all = got.dataSync();
      let nonZero = false;
      for (let t = 0; t < 4; t++) {
        const want = tf
          .grad((xx: tf.Tensor) => tf.slice(f(xx), [0, t], [1, 1]).sum())(x)
          .dataSync();
        assertClose(all.slice(t * per, (t + 1) * per), want, 1e-4, `${family}: ${guided ? 'Guided Backprop' : 'gradient'}, class ${t}`);
        nonZero ||= Array.from(want).some((v) => v !== 0);
      }
      assert.ok(nonZero, `${family}: the autodiff ${guided ? 'guided ' : ''}gradients are not all zero`);
      tf.dispose([seeds, got]);
    }
    disposeWalkState(cache);
    disposeCache(cache);
    weights.dispose();
    disposeGraph(graph);
    model.dispose();
  });
}

test("Grad-CAM's default layer per family: the last feature map before global pooling; the map equals autodiff's", async () => {
  await initBackend('cpu');
  const expected: Record<string, string> = { residual: 'conv5_block2_out', 'dense block': 'relu', inception: 'mixed10' };
  for (const [family, build] of FAMILIES) {
    const graph = graphFromLayersModel(build({ seed: 61 }));
    const ex = ExplainEngine.fromGraph(graph, { inputBounds: { low: LOW, high: HIGH } });
    assert.equal(ex.gradcamNode('paper').name, expected[family], `${family}, paper`);
    assert.equal(ex.gradcamNode('reference').name, expected[family], `${family}, reference`);
    if (family === 'residual') {
      const layer = ex.gradcamNode('paper');
      const [h, w, c] = graph.inputShape;
      const x = tf.tensor4d(randomImage(h * w * c, 4, LOW, HIGH), [1, h, w, c]);
      const t = 1;
      const want = autodiffGradCam(graph, layer.id, x, t);
      const run = () =>
        runSync(
          ex.explainSteps([x.dataSync() as Float32Array], () => [{ kind: 'index', classIndex: t }], {
            methods: ['lrp', 'clrp', 'sglrp', 'gbp', 'gradcam', 'ggcam', 'random'],
            variant: 'paper',
            seed: 0,
            imageIds: ['a'],
          }),
        );
      const res = run();
      const live = tf.memory().numTensors;
      run();
      assert.equal(tf.memory().numTensors, live, 'a second explain leaves no tensors behind');
      const cams = res.explanations.filter((e) => e.method === 'gradcam');
      assertClose(cams[0]!.map, want, 1e-4, 'Grad-CAM at conv5_block2_out');
      for (const e of res.explanations)
        assert.ok(
          e.map.every((v) => Number.isFinite(v) && v >= 0),
          `${e.method}: finite, non-negative paper map`,
        );
    }
    ex.dispose();
  }
});

test('loader: shared layers, concatenation off the channel axis and unknown layers are refused, naming the layer', async () => {
  await initBackend('cpu');
  const input = tf.input({ shape: [4, 4, 2] });
  const shared = tf.layers.conv2d({ name: 'shared_conv', filters: 2, kernelSize: 1 });
  const a = shared.apply(input) as tf.SymbolicTensor;
  const b = shared.apply(a) as tf.SymbolicTensor;
  const head = (t: tf.SymbolicTensor) =>
    tf.layers.dense({ units: 2, activation: 'softmax' }).apply(tf.layers.flatten().apply(t)) as tf.SymbolicTensor;
  assert.throws(
    () => graphFromLayersModel(tf.model({ inputs: input, outputs: head(b) })),
    (e: Error) => e instanceof ModelLoadError && /'shared_conv' \(Conv2D\).*shared layers/.test(e.message),
  );

  const i2 = tf.input({ shape: [4, 4, 2] });
  const cat = tf.layers.concatenate({ name: 'rows_cat', axis: 1 }).apply([i2, i2]) as tf.SymbolicTensor;
  assert.throws(
    () => graphFromLayersModel(tf.model({ inputs: i2, outputs: head(cat) })),
    (e: Error) => e instanceof ModelLoadError && /'rows_cat' \(Concatenate\).*axis 1/.test(e.message),
  );

  const i3 = tf.input({ shape: [4, 4, 2] });
  const gmp = tf.layers.globalMaxPooling2d({ name: 'gmp' }).apply(i3) as tf.SymbolicTensor;
  const out3 = tf.layers.dense({ units: 2 }).apply(gmp) as tf.SymbolicTensor;
  assert.throws(
    () => graphFromLayersModel(tf.model({ inputs: i3, outputs: out3 })),
    (e: Error) => e instanceof ModelLoadError && /'gmp' \(GlobalMaxPooling2D\) is not supported/.test(e.message),
  );
});
