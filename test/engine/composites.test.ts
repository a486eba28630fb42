import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../engine/backend.js';
import {
  buildComposite,
  compositeNames,
  compositeSpec,
  EPSILON_PLUS_COMPOSITE,
  registerComposite,
  type CompositeSpec,
} from '../../engine/composites.js';
import { ExplainEngine } from '../../engine/explain-engine.js';
import { disposeGraph } from '../../engine/graph.js';
import { graphFromLayersModel } from '../../engine/model-loader.js';
import { runSync } from '../../engine/reads.js';
import { rankClasses } from '../../engine/targets.js';
import { VARIANT_PRESETS } from '../../engine/variants.js';
import { parseConfig } from '../../pipeline/config.js';
import { denseLayers, denseLrp } from '../util/dense-reference.js';
import { buildTinyCnn, randomImage, zeroBiases } from '../util/models.js';
import { assertClose, relevanceOf } from '../util/numeric.js';

const BOUNDS = { low: -1, high: 2 };

test('a composite maps layer kinds to rules: epsilon-plus-zb (z⁺ on Conv2D, ε on Dense, zB first) equals the float64 dense reference', async () => {
  await initBackend('cpu');
  const model = buildTinyCnn({ seed: 3 });
  const graph = graphFromLayersModel(model);
  const [h, w, c] = graph.inputShape;
  const x = randomImage(h * w * c, 9, BOUNDS.low, BOUNDS.high);
  const seed = Float32Array.from([0.4, -1.1, 2.0, 0.3]);
  const [got] = relevanceOf(graph, [x], [seed], buildComposite(EPSILON_PLUS_COMPOSITE, { bounds: BOUNDS }));
  const want = denseLrp(
    denseLayers(graph),
    x,
    seed,
    { kind: 'zb', ...BOUNDS, eps: 1e-9 },
    { conv2d: { kind: 'zplus', bias: false, eps: 1e-9 }, dense: { kind: 'epsilon', eps: 1e-6 } },
  );
  assert.ok(
    want.some((v) => Math.abs(v) > 1e-6),
    'the reference relevance is not all zero',
  );
  assertClose(got!, want, 2e-4, 'epsilon-plus-zb vs dense reference');
  // The per-kind mapping matters: z⁺ on the dense layers too (the paper composite) gives other numbers.
  const paperLike = denseLrp(denseLayers(graph), x, seed, { kind: 'zb', ...BOUNDS, eps: 1e-9 }, { kind: 'zplus', bias: false, eps: 1e-9 });
  assert.ok(
    paperLike.some((v, i) => Math.abs(v - want[i]!) > 1e-3),
    'ε on Dense differs from z⁺ on Dense',
  );
  disposeGraph(graph);
  model.dispose();
});

test("the z-rule as data ({ rule: 'z' } on every layer, zB first) equals the dense reference's ε-rule on a bias-free model", async () => {
  await initBackend('cpu');
  const model = buildTinyCnn({ seed: 3 });
  zeroBiases(model); // without biases the ε-rule is the z-rule with a signed ε
  const graph = graphFromLayersModel(model);
  const [h, w, c] = graph.inputShape;
  const x = randomImage(h * w * c, 10, BOUNDS.low, BOUNDS.high);
  const seed = Float32Array.from([1.5, -0.5, 0.25, 0]);
  const spec: CompositeSpec = {
    name: 'z-zb',
    description: 'z everywhere, zB first',
    layers: { conv2d: { rule: 'z' }, dense: { rule: 'z' } },
    first: { rule: 'zB' },
    split: { stabilizer: 'signed-epsilon' },
  };
  const [got] = relevanceOf(graph, [x], [seed], buildComposite(spec, { bounds: BOUNDS, epsilon: 1e-9 }));
  const want = denseLrp(denseLayers(graph), x, seed, { kind: 'zb', ...BOUNDS, eps: 1e-9 }, { kind: 'epsilon', eps: 1e-9 });
  assert.ok(
    want.some((v) => Math.abs(v) > 1e-6),
    'the reference relevance is not all zero',
  );
  assertClose(got!, want, 2e-4, 'z-rule composite vs dense reference');
  disposeGraph(graph);
  model.dispose();
});

test("choosing the variant's own composite explicitly gives identical maps; another composite changes them", async () => {
  await initBackend('cpu');
  const model = buildTinyCnn({ seed: 7 }); // its top classes have positive logits
  const graph = graphFromLayersModel(model);
  const [h, w, c] = graph.inputShape;
  const xs = [randomImage(h * w * c, 21, BOUNDS.low, BOUNDS.high), randomImage(h * w * c, 22, BOUNDS.low, BOUNDS.high)];
  // The two most probable classes (the reference variant zeroes targets with a negative logit).
  const targets = (_i: number, _p: Float32Array, z: Float32Array) =>
    rankClasses(z)
      .slice(0, 2)
      .map((classIndex) => ({ kind: 'index' as const, classIndex }));
  const methods = ['lrp', 'clrp', 'sglrp'] as const;
  for (const variant of ['paper', 'reference'] as const) {
    const run = (ex: ExplainEngine, composite?: string) =>
      runSync(
        ex.explainSteps(xs, targets, {
          methods: [...methods],
          variant,
          seed: 0,
          imageIds: ['a', 'b'],
          ...(composite ? { composite } : {}),
        }),
      ).explanations;
    const byDefault = run(ExplainEngine.fromGraph(graph, { inputBounds: BOUNDS }));
    const named = VARIANT_PRESETS[variant].composite;
    const perCall = run(ExplainEngine.fromGraph(graph, { inputBounds: BOUNDS }), named);
    const perExplainer = run(ExplainEngine.fromGraph(graph, { inputBounds: BOUNDS, composite: named }));
    assert.equal(byDefault.length, 2 * 2 * 3);
    byDefault.forEach((e, i) => {
      assert.deepEqual(perCall[i]!.raw, e.raw, `${variant} ${e.method}: per-call composite ${named}`);
      assert.deepEqual(perExplainer[i]!.map, e.map, `${variant} ${e.method}: explainer composite ${named}`);
    });
    const other = run(ExplainEngine.fromGraph(graph, { inputBounds: BOUNDS }), 'epsilon-plus-zb');
    assert.ok(
      other.some((e, i) => e.raw!.some((v, j) => Math.abs(v - byDefault[i]!.raw![j]!) > 1e-6)),
      `${variant}: another composite changes the relevance`,
    );
  }
  disposeGraph(graph);
  model.dispose();
});

test('composites are registered by name; unknown names are refused listing the known ones (engine and run config)', async () => {
  await initBackend('cpu');
  assert.ok(['zplus-zb', 'zplus-bias-zb', 'epsilon-plus-zb'].every((n) => compositeNames().includes(n)));
  assert.throws(() => compositeSpec('nope'), /unknown composite 'nope'; choose from zplus-zb, zplus-bias-zb, epsilon-plus-zb/);
  const mine: CompositeSpec = {
    name: 'test-epsilon',
    description: 'ε everywhere',
    layers: { conv2d: { rule: 'epsilon', epsilon: 1e-3 }, dense: { rule: 'epsilon', epsilon: 1e-3 } },
    first: { rule: 'epsilon', epsilon: 1e-3 },
    split: { stabilizer: 'signed-epsilon' },
  };
  registerComposite(mine);
  assert.equal(compositeSpec('test-epsilon'), mine);
  assert.throws(() => registerComposite({ ...mine }), /already registered/);
  const model = buildTinyCnn({ seed: 5 });
  const graph = graphFromLayersModel(model);
  assert.throws(() => ExplainEngine.fromGraph(graph, { inputBounds: BOUNDS, composite: 'nope' }), /unknown composite 'nope'/);
  disposeGraph(graph);
  model.dispose();

  const base = {
    name: 'x',
    dataset: { kind: 'digits-pair' },
    model: { path: '/m/model.json', preprocess: 'unit', geometry: 'resize', size: 64, classes: 'digits' },
  };
  assert.equal(parseConfig({ ...base, composite: 'epsilon-plus-zb' }, 'run.yaml').composite, 'epsilon-plus-zb');
  assert.equal(parseConfig(base, 'run.yaml').composite, undefined, "absent: the variant's own");
  assert.throws(() => parseConfig({ ...base, composite: 'nope' }, 'run.yaml'), /composite.*expected one of zplus-zb/s);
});

test("without inputBounds, zB takes each image's own smallest and largest value (batch = per-image)", async () => {
  await initBackend('cpu');
  const model = buildTinyCnn({ seed: 6 });
  const graph = graphFromLayersModel(model);
  const [h, w, c] = graph.inputShape;
  const xs = [randomImage(h * w * c, 31, -0.5, 1.5), randomImage(h * w * c, 32, 0, 3)];
  const opts = { methods: ['lrp' as const], variant: 'paper' as const, seed: 0, imageIds: ['a', 'b'] };
  const targets = () => [{ kind: 'index' as const, classIndex: 1 }];
  const ranged = runSync(ExplainEngine.fromGraph(graph).explainSteps(xs, targets, opts)).explanations;
  xs.forEach((x, i) => {
    const bounds = { low: Math.min(...x), high: Math.max(...x) };
    const [alone] = runSync(
      ExplainEngine.fromGraph(graph, { inputBounds: bounds }).explainSteps([x], targets, { ...opts, imageIds: [opts.imageIds[i]!] }),
    ).explanations;
    assertClose(ranged[i]!.raw!, alone!.raw!, 1e-5, `image ${i} with bounds [${bounds.low}, ${bounds.high}]`);
  });
  disposeGraph(graph);
  model.dispose();
});
