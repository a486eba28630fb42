/**
 * An image without a ground-truth label still gets the targets that do not need the label (top2
 * maps, their masking); only its gt rows are missing, with an errors row saying so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../engine/backend.js';
import { ExplainEngine } from '../../engine/explain-engine.js';
import { graphFromLayersModel } from '../../engine/model-loader.js';
import type { Sample } from '../../data/types.js';
import { evaluateBatch, type EvaluateOptions } from '../../stages/evaluate.js';
import { buildTinyCnn, randomImage } from '../util/models.js';

const sample = (i: number, label: number): Sample => ({
  id: `img${i}`,
  index: i,
  height: 8,
  width: 8,
  channels: 3,
  input: randomImage(192, 300 + i, -1, 2),
  display: new Uint8Array(192),
  label,
  boxes: [{ x0: 0, y0: 0, x1: 4, y1: 4 }],
});

const OPTS: EvaluateOptions = {
  methods: ['lrp', 'sglrp', 'random'],
  variant: 'paper',
  targets: ['gt', 'top2'],
  seed: 0,
  metricConfigs: { masking: { patchSizes: [1, 3], fill: 'zero' }, pointing: { energies: [0.5, 1], tolerance: 2 } },
  fill: new Float32Array(192),
};

test('an unlabelled image keeps its top2 maps and masking; only gt is missing, with an errors row', async () => {
  await initBackend('wasm');
  const ex = ExplainEngine.fromGraph(graphFromLayersModel(buildTinyCnn({ seed: 5 })), { inputBounds: { low: -1, high: 2 } });
  const samples = [sample(0, 2), sample(1, -1)];
  const { rows, explanations } = evaluateBatch(ex, samples, OPTS);

  assert.equal(rows.forward!.length, 2);
  const rel = rows.relevance!.filter((r) => r['image_id'] === 'img1');
  assert.equal(rel.length, 3, 'one top2 map per method');
  assert.deepEqual([...new Set(rel.map((r) => r['target_kind']))], ['top2']);
  // The top2 target is the second largest logit, found here from a plain forward pass.
  const probs = ex.forward([samples[1]!.input]).probs[0]!;
  const second = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]!)[1]!;
  for (const r of rel) assert.equal(r['target_class'], second);
  const masking = rows.masking!.filter((r) => r['image_id'] === 'img1');
  assert.equal(masking.length, 3 * 2, 'methods × patch sizes, top2 only');
  for (const r of masking) {
    assert.equal(r['target_kind'], 'top2');
    assert.ok(Math.abs((r['y_before'] as number) - probs[second]!) < 1e-6);
  }
  assert.deepEqual(
    explanations.get('img1')!.map((e) => e.target.kind),
    ['top2', 'top2', 'top2'],
  );
  // No gt target, so no pointing rows for it; the labelled image has gt and top2.
  assert.equal(rows.pointing!.filter((r) => r['image_id'] === 'img1').length, 0);
  assert.equal(rows.relevance!.filter((r) => r['image_id'] === 'img0').length, 3 * 2);
  assert.equal(rows.pointing!.filter((r) => r['image_id'] === 'img0').length, 3 * 2);
  assert.equal(rows.errors!.length, 1);
  assert.equal(rows.errors![0]!['image_id'], 'img1');
  assert.match(rows.errors![0]!['reason'] as string, /no ground-truth label.*target gt is not evaluated.*top2 is/);

  // With gt as the only target, the unlabelled image gets its forward row and the errors row only.
  const gtOnly = evaluateBatch(ex, samples, { ...OPTS, targets: ['gt'] });
  assert.deepEqual(gtOnly.rows.forward!.map((r) => r['image_id']).sort(), ['img0', 'img1']);
  assert.equal(gtOnly.rows.relevance!.filter((r) => r['image_id'] === 'img1').length, 0);
  assert.match(gtOnly.rows.errors![0]!['reason'] as string, /no ground-truth label.*only target is gt, so only its forward row/);
});
