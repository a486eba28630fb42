import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../engine/backend.js';
import { ExplainEngine } from '../../engine/explain-engine.js';
import { Explainer } from '../../engine/explainer.js';
import { graphFromLayersModel } from '../../engine/model-loader.js';
import { saveLayersModel } from '../../engine/model-saver.js';
import { runSync } from '../../engine/reads.js';
import { rankClasses } from '../../engine/targets.js';
import { applyPatch, patchBounds } from '../../stages/masking-geometry.js';
import { buildTinyCnn, randomImage } from '../util/models.js';
import { assertClose } from '../util/numeric.js';

const BOUNDS = { low: -1, high: 2 };

test("the library call: await Explainer.load(path), await explain({ data, shape }, { methods: ['sglrp'], targets: ['top1'] })", async () => {
  await initBackend('cpu');
  const dir = mkdtempSync(join(tmpdir(), 'sglrp-api-'));
  try {
    const model = buildTinyCnn({ seed: 7 });
    const path = await saveLayersModel(model, dir);
    const explainer = await Explainer.load(path, { backend: 'cpu' });
    const [h, w, c] = explainer.inputShape;
    assert.deepEqual([h, w, c], [8, 8, 3]);
    assert.equal(explainer.numClasses, 4);
    const data = randomImage(h * w * c, 3, -1, 2);
    const out = await explainer.explain({ data, shape: [h, w, c] }, { methods: ['sglrp'], targets: ['top1'] });
    assert.equal(out.explanations.length, 1);
    const e = out.explanations[0]!;
    assert.equal(e.method, 'sglrp');
    assert.deepEqual(e.target, { kind: 'top1', classIndex: rankClasses(out.logits[0]!)[0] });
    assert.equal(e.map.length, h * w);
    assert.equal(e.raw!.length, h * w * c);
    // The same numbers as the engine with the bounds the library defaults to (the image's own range).
    const engine = ExplainEngine.fromGraph(graphFromLayersModel(model), {
      inputBounds: { low: Math.min(...data), high: Math.max(...data) },
    });
    const [want] = runSync(
      engine.explainSteps([data], () => [e.target], { methods: ['sglrp'], variant: 'paper', seed: 0, imageIds: ['image-0'] }),
    ).explanations;
    assertClose(e.raw!, want!.raw!, 1e-5, 'library vs engine');
    assert.ok(
      e.map.some((v) => v > 0),
      'the SGLRP map is not all zero',
    );
    explainer.dispose();
    engine.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('explain on a batch equals explain per image; targets top2, a class index and gt in order; forward, classify, classifyMasked', async () => {
  await initBackend('cpu');
  const explainer = Explainer.fromGraph(graphFromLayersModel(buildTinyCnn({ seed: 7 })), { inputBounds: BOUNDS });
  const [h, w, c] = explainer.inputShape;
  const images = [randomImage(h * w * c, 11, -1, 2), randomImage(h * w * c, 12, -1, 2)].map((data) => ({
    data,
    shape: [h, w, c] as [number, number, number],
  }));
  const options = {
    methods: ['lrp' as const, 'gbp' as const, 'random' as const],
    targets: ['top2' as const, 3, { kind: 'gt' as const, classIndex: 1 }],
    imageIds: ['a', 'b'],
    seed: 4,
  };
  const both = await explainer.explain(images, options);
  assert.equal(both.explanations.length, 2 * 3 * 3);
  for (const [i, image] of images.entries()) {
    const alone = await explainer.explain(image, { ...options, imageIds: [options.imageIds[i]!] });
    const mine = both.explanations.filter((e) => e.imageIndex === i);
    assert.deepEqual(
      mine.map((e) => [e.target.kind, e.method]),
      [
        ['top2', 'lrp'],
        ['top2', 'gbp'],
        ['top2', 'random'],
        ['index', 'lrp'],
        ['index', 'gbp'],
        ['index', 'random'],
        ['gt', 'lrp'],
        ['gt', 'gbp'],
        ['gt', 'random'],
      ],
    );
    assert.deepEqual(mine.map((e) => e.target.classIndex).slice(3), [3, 3, 3, 1, 1, 1]);
    assert.equal(mine[0]!.target.classIndex, rankClasses(both.logits[i]!)[1]);
    mine.forEach((e, k) => assertClose(e.map, alone.explanations[k]!.map, 1e-5, `image ${i}, ${e.method} → ${e.target.kind}`));
  }
  const f = await explainer.forward(images);
  assert.deepEqual(await explainer.classify(images), f.probs);
  f.logits.forEach((z, i) => assertClose(z, both.logits[i]!, 1e-6, `logits ${i}`));
  // Masked re-classification equals classifying the masked images in full.
  const fill = new Float32Array(h * w * c).fill(0.25);
  const masks = [
    { image: 1, ...patchBounds(2, 3, 3, h, w) },
    { image: 0, ...patchBounds(7, 7, 5, h, w) },
  ];
  const masked = await explainer.classifyMasked(images, masks, fill);
  const full = await explainer.classify(
    masks.map((m) => ({ data: applyPatch(images[m.image]!.data, h, w, c, m, fill), shape: [h, w, c] as [number, number, number] })),
  );
  masked.forEach((p, i) => assertClose(p, full[i]!, 1e-5, `mask ${i}`));
  explainer.dispose();
});

test('bad input gets a clear error naming the thing and what to do', async () => {
  await initBackend('cpu');
  const explainer = Explainer.fromGraph(graphFromLayersModel(buildTinyCnn({ seed: 7 })), { inputBounds: BOUNDS });
  const data = new Float32Array(8 * 8 * 3);
  const ok = { methods: ['lrp' as const], targets: ['top1' as const] };
  await assert.rejects(
    explainer.explain({ data, shape: [8, 8, 1] }, ok),
    /the image has shape \[8, 8, 1\]; the model expects \[8, 8, 3\] \(resize and preprocess it first\)/,
  );
  await assert.rejects(
    explainer.explain({ data: new Float32Array(5), shape: [8, 8, 3] }, ok),
    /data has 5 values; shape \[8, 8, 3\] needs 192/,
  );
  await assert.rejects(
    explainer.explain(
      [
        { data, shape: [8, 8, 3] },
        { data: [1] as unknown as Float32Array, shape: [8, 8, 3] },
      ],
      ok,
    ),
    /image 1: data must be a Float32Array/,
  );
  await assert.rejects(explainer.explain({ data, shape: [8, 8, 3] }, { methods: [], targets: ['top1'] }), /options.methods is empty/);
  await assert.rejects(
    explainer.explain({ data, shape: [8, 8, 3] }, { methods: ['lrp'], targets: [7] }),
    /target 7: class 7 is outside the model's 4 classes \(0…3\)/,
  );
  await assert.rejects(
    explainer.explain({ data, shape: [8, 8, 3] }, { methods: ['lrp'], targets: ['top3' as never] }),
    /target "top3": expected 'top1', 'top2', a class index or \{ kind: 'gt', classIndex \}/,
  );
  await assert.rejects(
    explainer.explain({ data, shape: [8, 8, 3] }, { methods: ['lrp', 'nope' as never], targets: ['top1'] }),
    /unknown method 'nope'/,
  );
  await assert.rejects(
    explainer.classifyMasked({ data, shape: [8, 8, 3] }, [{ image: 2, r0: 0, r1: 1, c0: 0, c1: 1 }], data),
    /mask 0: image 2 is not one of the 1 images/,
  );
  explainer.dispose();
});
