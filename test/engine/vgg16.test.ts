import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../engine/backend.js';
import { ExplainEngine } from '../../engine/explain-engine.js';
import { runSync } from '../../engine/reads.js';
import { saveLayersModel } from '../../engine/model-saver.js';
import { resolveTarget } from '../../engine/targets.js';
import { METHOD_NAMES } from '../../engine/types.js';
import { buildVgg16, randomImage } from '../util/models.js';

test('VGG16 at the real layer shapes: saved, loaded and explained end to end on wasm (all methods, top1 + top2)', async () => {
  await initBackend('wasm');
  const dir = mkdtempSync(join(tmpdir(), 'sglrp-vgg16-'));
  try {
    const model = buildVgg16();
    const path = await saveLayersModel(model, dir);
    model.dispose();
    const ex = await ExplainEngine.load(path, { backend: 'wasm', inputBounds: { low: -123.68, high: 151.061 } });
    assert.equal(ex.backend, 'wasm');
    assert.deepEqual(ex.inputShape, [224, 224, 3]);
    assert.equal(ex.numClasses, 1000);
    assert.equal(ex.gradcamNode('paper').name, 'block5_conv3');
    assert.equal(ex.gradcamNode('reference').name, 'block5_pool');
    const x = randomImage(224 * 224 * 3, 17, -123.68, 151.061);
    const res = runSync(
      ex.explainSteps([x], (_i, probs) => [resolveTarget('top1', probs, -1), resolveTarget('top2', probs, -1)], {
        methods: [...METHOD_NAMES],
        variant: 'paper',
        seed: 0,
        imageIds: ['vgg'],
      }),
    );
    assert.equal(res.explanations.length, 14);
    for (const e of res.explanations) {
      assert.equal(e.map.length, 224 * 224, e.method);
      assert.ok(e.map.every(Number.isFinite), `${e.method} has non-finite values`);
      if (e.method !== 'random')
        assert.ok(
          e.map.some((v) => v > 0),
          `${e.method} → ${e.target.kind} is all zero`,
        );
    }
    // z⁺ with the bias ignored and zB conserve the seed up to the biases' share: LRP keeps the sign and order of z_t.
    const lrp = res.explanations.find((e) => e.method === 'lrp' && e.target.kind === 'top1')!;
    const raw = lrp.raw!.reduce((a, b) => a + b, 0);
    const zt = res.forward.logits[0]![lrp.target.classIndex]!;
    assert.ok(Number.isFinite(raw) && Math.sign(raw) === Math.sign(zt), `Σ R = ${raw}, z_t = ${zt}`);
    ex.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
