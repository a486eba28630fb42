import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../engine/backend.js';
import { ExplainEngine } from '../../engine/explain-engine.js';
import { runSync } from '../../engine/reads.js';
import { forwardWithCache } from '../../engine/forward.js';
import { propagateGradient } from '../../engine/gradient.js';
import { graphFromLayersModel, loadGraph, ModelLoadError } from '../../engine/model-loader.js';
import { saveLayersModel } from '../../engine/model-saver.js';
import { disposeGraph } from '../../engine/graph.js';
import { WeightCache } from '../../engine/weight-cache.js';
import { autodiffGradCam, differentiable } from '../util/autodiff.js';
import { buildTinyCnn, randomImage } from '../util/models.js';
import { assertClose } from '../util/numeric.js';

const BOUNDS = { low: -1, high: 2 };

test('forward logits/probabilities equal the LayersModel prediction', async () => {
  await initBackend('wasm');
  const model = buildTinyCnn({ seed: 3 });
  const graph = graphFromLayersModel(model);
  const ex = ExplainEngine.fromGraph(graph, { inputBounds: BOUNDS });
  const xs = [randomImage(192, 1, -1, 2), randomImage(192, 2, -1, 2)];
  const probs = runSync(ex.forwardSteps(xs)).probs;
  const want = (model.predict(tf.tensor4d(Float32Array.from([...xs[0]!, ...xs[1]!]), [2, 8, 8, 3])) as tf.Tensor).dataSync();
  assertClose(Float32Array.from([...probs[0]!, ...probs[1]!]), want, 1e-5, 'probabilities');
});

for (const guided of [false, true]) {
  test(`${guided ? 'Guided Backprop' : 'plain gradient'} from forward ops equals TF.js autodiff`, async () => {
    await initBackend('cpu');
    const model = buildTinyCnn({ seed: 5, stride2: true });
    const graph = graphFromLayersModel(model);
    const x = tf.tensor4d(randomImage(192, 9, -1, 2), [1, 8, 8, 3]);
    const f = differentiable(graph, guided);
    const t = 2;
    const logits = f(x).dataSync();
    const seedValue = guided ? logits[t]! : 1;
    const want = tf
      .grad((xx: tf.Tensor) => tf.mul(tf.slice(f(xx), [0, t], [1, 1]), seedValue).sum())(x)
      .dataSync();
    const ex = ExplainEngine.fromGraph(graph, { inputBounds: BOUNDS });
    const res = runSync(
      ex.explainSteps([x.dataSync() as Float32Array], () => [{ kind: 'index', classIndex: t }], {
        methods: ['gbp'],
        variant: 'paper',
        seed: 0,
        imageIds: ['a'],
      }),
    );
    if (guided) assertClose(res.explanations[0]!.raw!, want, 1e-4, 'GBP raw gradient');
    else {
      // The plain gradient is what Grad-CAM uses; check it through the engine's gradient pass at the input.
      const cache = forwardWithCache(graph, x);
      const seeds = tf.tensor2d([0, 0, 1, 0], [1, 4]);
      assertClose(propagateGradient(cache, seeds, new WeightCache(), { guided: false }).dataSync(), want, 1e-4, 'gradient');
    }
  });
}

test('Grad-CAM equals ReLU(Σ_k mean(∂z_t/∂A_k)·A_k) computed with autodiff, resized bilinearly', async () => {
  await initBackend('cpu');
  const model = buildTinyCnn({ seed: 8 });
  const graph = graphFromLayersModel(model);
  const layer = graph.nodes.find((n) => n.name === 'c2')!;
  const x = tf.tensor4d(randomImage(192, 4, -1, 2), [1, 8, 8, 3]);
  const t = 1;
  const want = autodiffGradCam(graph, layer.id, x, t);
  const ex = ExplainEngine.fromGraph(graph, { inputBounds: BOUNDS });
  const res = runSync(
    ex.explainSteps([x.dataSync() as Float32Array], () => [{ kind: 'index', classIndex: t }], {
      methods: ['gradcam', 'gbp', 'ggcam'],
      variant: 'paper',
      seed: 0,
      imageIds: ['a'],
    }),
  );
  const byMethod = Object.fromEntries(res.explanations.map((e) => [e.method, e]));
  assert.equal(ex.gradcamNode('paper').name, 'c2', 'default Grad-CAM layer = last conv');
  assert.equal(ex.gradcamNode('reference').name, 'p1', 'reference Grad-CAM layer = the pool after it');
  assertClose(byMethod['gradcam']!.map, want, 1e-4, 'Grad-CAM');
  const gg = byMethod['ggcam']!.map;
  byMethod['gbp']!.map.forEach((v, i) => assert.ok(Math.abs(gg[i]! - v * byMethod['gradcam']!.map[i]!) < 1e-6 * (1 + Math.abs(gg[i]!))));
});

test('Random maps are reproducible per (seed, image id, target) and differ otherwise', async () => {
  await initBackend('cpu');
  const graph = graphFromLayersModel(buildTinyCnn());
  const ex = ExplainEngine.fromGraph(graph, { inputBounds: BOUNDS });
  const x = randomImage(192, 1, -1, 2);
  const run = (id: string, seed: number, t: number) =>
    runSync(ex.explainSteps([x], () => [{ kind: 'index', classIndex: t }], { methods: ['random'], variant: 'paper', seed, imageIds: [id] }))
      .explanations[0]!.map;
  assert.deepEqual(run('img1', 0, 1), run('img1', 0, 1));
  assert.notDeepEqual(run('img1', 0, 1), run('img2', 0, 1));
  assert.notDeepEqual(run('img1', 0, 1), run('img1', 0, 2));
  assert.notDeepEqual(run('img1', 0, 1), run('img1', 1, 1));
  assert.ok(run('img1', 0, 1).every((v) => v >= 0 && v < 1));
});

test('reference variant: CLRP and SGLRP maps sum to zero; paper maps are non-negative', async () => {
  await initBackend('wasm');
  const graph = graphFromLayersModel(buildTinyCnn({ seed: 12 }));
  const ex = ExplainEngine.fromGraph(graph, { inputBounds: BOUNDS });
  const x = randomImage(192, 7, -1, 2);
  const targets = () => [
    { kind: 'top1' as const, classIndex: 0 },
    { kind: 'top2' as const, classIndex: 3 },
  ];
  const ref = runSync(ex.explainSteps([x], targets, { methods: ['clrp', 'sglrp'], variant: 'reference', seed: 0, imageIds: ['a'] }));
  for (const e of ref.explanations) {
    const s = e.map.reduce((a, b) => a + b, 0);
    const scale = e.map.reduce((a, b) => a + Math.abs(b), 0);
    assert.ok(Math.abs(s) <= 1e-4 * scale, `${e.method} → ${e.target.classIndex}: sum ${s} (scale ${scale})`);
  }
  const paper = runSync(
    ex.explainSteps([x], targets, {
      methods: ['lrp', 'clrp', 'sglrp', 'gbp', 'gradcam', 'ggcam', 'random'],
      variant: 'paper',
      seed: 0,
      imageIds: ['a'],
    }),
  );
  assert.equal(paper.explanations.length, 14);
  for (const e of paper.explanations)
    assert.ok(
      e.map.every((v) => v >= 0),
      `${e.method} has negative values`,
    );
});

test('model loading: unsupported layer, missing model file and missing weight shard give clear errors', async () => {
  await initBackend('cpu');
  const dir = mkdtempSync(join(tmpdir(), 'sglrp-model-'));
  try {
    const bad = tf.sequential();
    bad.add(tf.layers.conv2d({ name: 'conv', inputShape: [8, 8, 3], filters: 2, kernelSize: 3 }));
    bad.add(tf.layers.upSampling2d({ name: 'up_1' }));
    bad.add(tf.layers.flatten());
    bad.add(tf.layers.dense({ units: 2, activation: 'softmax' }));
    const path = await saveLayersModel(bad, join(dir, 'bad'));
    await assert.rejects(loadGraph(path), (e: Error) => e instanceof ModelLoadError && /'up_1' \(UpSampling2D\)/.test(e.message));
    await assert.rejects(loadGraph(join(dir, 'nope', 'model.json')), /model file not found: .*nope.*model\.json/);
    const good = await saveLayersModel(buildTinyCnn(), join(dir, 'good'));
    const loaded = await loadGraph(good);
    assert.equal(loaded.numClasses, 4);
    assert.ok(loaded.softmaxSplit);
    const json = JSON.parse(readFileSync(good, 'utf8'));
    json.weightsManifest[0].paths = ['missing.bin'];
    writeFileSync(good, JSON.stringify(json));
    await assert.rejects(loadGraph(good), /weight shard .*missing\.bin.* is missing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a storage-binding limit (webgpu) caps the rows per pass; smaller passes give the same maps and masked probabilities', async () => {
  await initBackend('wasm');
  const model = buildTinyCnn({ size: 12, channels: 2, classes: 5, seed: 4 });
  const graph = graphFromLayersModel(model);
  model.dispose();
  const free = ExplainEngine.fromGraph(graph, { inputBounds: BOUNDS, bindingLimitBytes: null });
  // The largest activation of one row is 12·12·8 floats here: a limit of 2.5 rows' worth allows 2 rows.
  const largest = Math.max(...graph.nodes.map((n) => n.outputShape.reduce((a, b) => a * b, 1)));
  const tight = ExplainEngine.fromGraph(graph, { inputBounds: BOUNDS, bindingLimitBytes: largest * 4 * 2.5 });
  assert.ok(free.maxRowsPerPass() > 10);
  assert.equal(tight.maxRowsPerPass(), 2);
  const inputs = [0, 1, 2].map((s) => randomImage(12 * 12 * 2, 40 + s, -1, 2));
  const opts = { methods: ['lrp', 'clrp', 'sglrp', 'gbp', 'gradcam', 'ggcam'] as const, seed: 0, imageIds: ['a', 'b', 'c'] };
  const targets = () => [
    { kind: 'index' as const, classIndex: 1 },
    { kind: 'index' as const, classIndex: 3 },
  ];
  const masks = [
    { image: 0, r0: 2, r1: 5, c0: 3, c1: 6 },
    { image: 2, r0: 0, r1: 1, c0: 0, c1: 1 },
  ];
  const fill = new Float32Array(12 * 12 * 2);
  // 2 rows per pass: one image per group, its 6 (paper) or 12 (reference) LRP-family seeds in 3 or 6 passes.
  const run = (ex: ExplainEngine, variant: 'paper' | 'reference') => {
    const masked: Float32Array[] = [];
    const r = runSync(
      ex.explainSteps(inputs, targets, {
        ...opts,
        variant,
        methods: [...opts.methods],
        onGroup: (g) =>
          void masked.push(
            ...runSync(
              ex.classifyMaskedSteps(
                g.cache,
                masks.filter((m) => m.image >= g.offset && m.image < g.offset + g.count).map((m) => ({ ...m, image: m.image - g.offset })),
                fill,
              ),
            ),
          ),
      }),
    );
    return { r, masked };
  };
  for (const variant of ['paper', 'reference'] as const) {
    const a = run(free, variant);
    const b = run(tight, variant);
    assert.equal(a.r.explanations.length, 3 * 2 * 6);
    assert.equal(a.r.explanations.length, b.r.explanations.length);
    a.r.explanations.forEach((e, i) => {
      assert.equal(b.r.explanations[i]!.method, e.method);
      assertClose(b.r.explanations[i]!.map, e.map, 1e-5, `${variant} ${e.method} image ${e.imageIndex} class ${e.target.classIndex}`);
    });
    assert.equal(a.masked.length, 2);
    a.masked.forEach((p, i) => assertClose(b.masked[i]!, p, 1e-6, `masked ${i}`));
  }
  disposeGraph(graph);
});
