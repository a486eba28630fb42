import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../engine/backend.js';
import { ExplainEngine } from '../../engine/explain-engine.js';
import { runSync } from '../../engine/reads.js';
import { graphFromLayersModel } from '../../engine/model-loader.js';
import type { Sample } from '../../data/types.js';
import { evaluateBatch, type EvaluateOptions } from '../../stages/evaluate.js';
import { meanImage, statsRow } from '../../stages/stats.js';
import { applyPatch, patchBounds } from '../../stages/masking-geometry.js';
import { buildTinyCnn, randomImage } from '../util/models.js';

function sample(i: number, label: number, boxes = [{ x0: 0, y0: 0, x1: 4, y1: 4 }]): Sample {
  return {
    id: `img${i}`,
    index: i,
    height: 8,
    width: 8,
    channels: 3,
    input: randomImage(192, 100 + i, -1, 2),
    display: new Uint8Array(192),
    label,
    boxes,
  };
}

const OPTS: EvaluateOptions = {
  methods: ['lrp', 'clrp', 'sglrp', 'gbp', 'gradcam', 'ggcam', 'random'],
  variant: 'paper',
  targets: ['gt', 'top2'],
  seed: 0,
  metricConfigs: { masking: { patchSizes: [1, 3], fill: 'zero' }, pointing: { energies: [0.5, 1], tolerance: 2 } },
  fill: new Float32Array(192),
};

test('evaluateBatch: rows per table, y_before = forward probability, drops = y_before − y_after, no tensor leak', async () => {
  await initBackend('wasm');
  const ex = ExplainEngine.fromGraph(graphFromLayersModel(buildTinyCnn({ seed: 2 })), { inputBounds: { low: -1, high: 2 } });
  const samples = [sample(0, 1), sample(1, 3, []), sample(2, -1)];
  const { rows, explanations } = evaluateBatch(ex, samples, OPTS);
  // The first batch fills the per-model derived-weight cache; after that nothing may accumulate.
  const before = tf.memory().numTensors;
  evaluateBatch(ex, samples, OPTS);
  evaluateBatch(ex, samples, OPTS);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked across batches');
  assert.equal(rows.forward!.length, 3);
  assert.equal(rows.errors!.length, 1, 'the unlabeled image is an errors row');
  assert.match(rows.errors![0]!['reason'] as string, /no ground-truth label/);
  // Two labelled images × 7 methods × 2 targets, plus the unlabelled image's 7 top2 maps.
  assert.equal(rows.relevance!.length, 2 * 7 * 2 + 7);
  assert.equal(rows.masking!.length, (2 * 7 * 2 + 7) * 2);
  // Only image 0 has a box: pointing rows for its 7 gt maps × 2 energies.
  assert.equal(rows.pointing!.length, 7 * 2);
  assert.equal(rows.pointing_game!.length, 7);
  const probs = runSync(ex.forwardSteps([samples[0]!.input])).probs[0]!;
  for (const r of rows.masking!.filter((r) => r['image_id'] === 'img0')) {
    assert.ok(Math.abs((r['y_before'] as number) - probs[r['target_class'] as number]!) < 1e-6);
    assert.ok(Math.abs((r['drop'] as number) - ((r['y_before'] as number) - (r['y_after'] as number))) < 1e-7);
  }
  // The masking centre is each map's first arg-max.
  const e = explanations.get('img0')!.find((x) => x.method === 'sglrp' && x.target.kind === 'gt')!;
  const max = Math.max(...e.map);
  const first = e.map.indexOf(max);
  const m = rows.masking!.find((r) => r['image_id'] === 'img0' && r['method'] === 'sglrp' && r['target_kind'] === 'gt')!;
  assert.deepEqual([m['center_row'], m['center_col']], [Math.floor(first / 8), first % 8]);
  // A masked input equal to the original (fill = input) leaves y_t unchanged.
  const same = evaluateBatch(ex, [samples[0]!], { ...OPTS, fill: samples[0]!.input });
  for (const r of same.rows.masking!) assert.ok(Math.abs(r['drop'] as number) < 1e-6, `drop ${r['drop']}`);
  // y_after equals a full forward pass of the masked image (the engine re-classifies incrementally).
  const r3 = rows.masking!.find((r) => r['image_id'] === 'img0' && r['patch_size'] === 3)!;
  const masked = applyPatch(
    samples[0]!.input,
    8,
    8,
    3,
    patchBounds(r3['center_row'] as number, r3['center_col'] as number, 3, 8, 8),
    OPTS.fill,
  );
  assert.ok(Math.abs(runSync(ex.forwardSteps([masked])).probs[0]![r3['target_class'] as number]! - (r3['y_after'] as number)) < 1e-5);
});

test('stats: the mean image is Σ sums / Σ counts over shards, whatever the split', () => {
  const xs = [0, 1, 2, 3, 4].map((i) => sample(i, 0));
  const all = meanImage([statsRow(xs, 0, 192)]);
  const split = meanImage([statsRow(xs.slice(0, 2), 0, 192), statsRow(xs.slice(2), 1, 192)]);
  for (let i = 0; i < 192; i++) {
    const want = xs.reduce((s, x) => s + x.input[i]!, 0) / 5;
    assert.ok(Math.abs(all[i]! - want) < 1e-5 && Math.abs(split[i]! - want) < 1e-5);
  }
});
