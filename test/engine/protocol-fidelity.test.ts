import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../engine/backend.js';
import { disposeGraph } from '../../engine/graph.js';
import { graphFromLayersModel } from '../../engine/model-loader.js';
import { paperComposite } from '../../engine/composites.js';
import { ExplainEngine } from '../../engine/explain-engine.js';
import { runSync } from '../../engine/reads.js';
import { denseForward, denseLayers, denseLrp } from '../util/dense-reference.js';
import { buildTinyCnn, randomImage } from '../util/models.js';
import { assertClose, relevanceOf } from '../util/numeric.js';

/** Caffe preprocessing (Keras VGG16): BGR minus these means; bounds = the extreme values over all channels. */
const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68];
const LOW = -123.68;
const HIGH = 151.061;

/** VGG16's block1_conv1 at full size, then its pool and a small dense head: the zB layer as VGG16 has it. */
function firstBlockModel(classes: number): tf.Sequential {
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({
      name: 'block1_conv1',
      inputShape: [224, 224, 3],
      filters: 64,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: tf.initializers.heNormal({ seed: 2 }),
      biasInitializer: tf.initializers.randomUniform({ minval: -0.01, maxval: 0.01, seed: 1 }),
    }),
  );
  m.add(tf.layers.maxPooling2d({ name: 'block1_pool', poolSize: 2, strides: 2 }));
  m.add(tf.layers.flatten({ name: 'flatten' }));
  m.add(
    tf.layers.dense({
      name: 'predictions',
      units: classes,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 93 }),
    }),
  );
  return m;
}

/**
 * The paper composite's LRP on that model in float64, by direct loops over the definitions
 * (docs/PROTOCOL.md §1): z⁺ (no bias, ε) at the dense layer, winner-takes-all at the pool, zB in
 * its literal form Z = W·x − W⁺·l − W⁻·h + ε, R_in = x ⊙ WᵀS − l ⊙ W⁺ᵀS − h ⊙ W⁻ᵀS with l, h
 * zero-padded like x by the conv's 'same' padding.
 */
function lrp64(model: tf.Sequential, x: Float32Array, target: number): { relevance: Float64Array; logit: number } {
  const [k, b, wd] = [model.layers[0]!.getWeights()[0]!, model.layers[0]!.getWeights()[1]!, model.layers[3]!.getWeights()[0]!].map((t) =>
    Float64Array.from(t.dataSync()),
  );
  const [H, W, C, F] = [224, 224, 3, 64];
  const classes = wd!.length / ((H / 2) * (W / 2) * F);
  const at = (y: number, xx: number) => y >= 0 && y < H && xx >= 0 && xx < W;
  const a = new Float64Array(H * W * F);
  for (let y = 0; y < H; y++)
    for (let xx = 0; xx < W; xx++)
      for (let f = 0; f < F; f++) {
        let s = b![f]!;
        for (let u = 0; u < 3; u++)
          for (let v = 0; v < 3; v++) {
            if (!at(y + u - 1, xx + v - 1)) continue;
            for (let c = 0; c < C; c++) s += k![((u * 3 + v) * C + c) * F + f]! * x[((y + u - 1) * W + xx + v - 1) * C + c]!;
          }
        a[(y * W + xx) * F + f] = Math.max(s, 0);
      }
  const pooled = new Float64Array((H / 2) * (W / 2) * F);
  const winner = new Int32Array(pooled.length);
  for (let y = 0; y < H / 2; y++)
    for (let xx = 0; xx < W / 2; xx++)
      for (let f = 0; f < F; f++) {
        let best = -1;
        for (let u = 0; u < 2; u++)
          for (let v = 0; v < 2; v++) {
            const i = ((2 * y + u) * W + 2 * xx + v) * F + f;
            if (best < 0 || a[i]! > a[best]!) best = i;
          }
        pooled[(y * (W / 2) + xx) * F + f] = a[best]!;
        winner[(y * (W / 2) + xx) * F + f] = best;
      }
  // Dense z⁺ from the seed z_t at t (the bias only in z_t, as Eq. 3 seeds with the logit).
  let zt = Float64Array.from(model.layers[3]!.getWeights()[1]!.dataSync())[target]!;
  for (let i = 0; i < pooled.length; i++) zt += pooled[i]! * wd![i * classes + target]!;
  let zPlus = 1e-9;
  for (let i = 0; i < pooled.length; i++) zPlus += pooled[i]! * Math.max(wd![i * classes + target]!, 0);
  const rA = new Float64Array(a.length);
  for (let i = 0; i < pooled.length; i++) rA[winner[i]!]! += (pooled[i]! * Math.max(wd![i * classes + target]!, 0) * zt) / zPlus;
  const rIn = new Float64Array(x.length);
  for (let y = 0; y < H; y++)
    for (let xx = 0; xx < W; xx++)
      for (let f = 0; f < F; f++) {
        const r = rA[(y * W + xx) * F + f]!;
        if (r === 0) continue;
        let z = 1e-9;
        const term = (u: number, v: number, c: number) => {
          const w = k![((u * 3 + v) * C + c) * F + f]!;
          return w * x[((y + u - 1) * W + xx + v - 1) * C + c]! - Math.max(w, 0) * LOW - Math.min(w, 0) * HIGH;
        };
        for (let u = 0; u < 3; u++)
          for (let v = 0; v < 3; v++) if (at(y + u - 1, xx + v - 1)) for (let c = 0; c < C; c++) z += term(u, v, c);
        const s = r / z;
        for (let u = 0; u < 3; u++)
          for (let v = 0; v < 3; v++)
            if (at(y + u - 1, xx + v - 1)) for (let c = 0; c < C; c++) rIn[((y + u - 1) * W + xx + v - 1) * C + c]! += term(u, v, c) * s;
      }
  return { relevance: rIn, logit: zt };
}

/**
 * A photo-like caffe-preprocessed image: smooth colour gradients, and at the left border a white
 * and a black band (pixels at the bounds, where zB's denominators are smallest).
 */
function photoLike(): Float32Array {
  const out = new Float32Array(224 * 224 * 3);
  for (let y = 0; y < 224; y++)
    for (let x = 0; x < 224; x++) {
      const rgb =
        x < 2
          ? [255, 255, 255]
          : x < 4
            ? [0, 0, 0]
            : [128 + 100 * Math.sin(x / 17), 128 + 100 * Math.cos(y / 23), 128 + 90 * Math.sin((x + y) / 31)];
      for (let c = 0; c < 3; c++) out[(y * 224 + x) * 3 + c] = rgb[2 - c]! - CAFFE_MEAN_BGR[c]!;
    }
  return out;
}

test('zB on a VGG16-sized first block (224×224, caffe bounds, saturated left border): LRP input relevance within 2e-4 of float64 (wasm, cpu)', async () => {
  const x = photoLike();
  for (const backend of ['wasm', 'cpu'] as const) {
    await initBackend(backend);
    const model = firstBlockModel(4);
    const { relevance: want, logit } = lrp64(model, x, 1);
    let max = 0;
    for (const v of want) max = Math.max(max, Math.abs(v));
    assert.ok(max > 0, 'the float64 relevance is not all zero');
    const graph = graphFromLayersModel(model);
    const seed = new Float32Array(4);
    seed[1] = logit;
    const got = relevanceOf(graph, [x], [seed], paperComposite(LOW, HIGH))[0]!;
    for (let i = 0; i < got.length; i++) {
      const d = Math.abs(got[i]! - want[i]!);
      if (d > 2e-4 * max)
        assert.fail(
          `${backend}: pixel (row ${Math.floor(i / 3 / 224)}, col ${Math.floor(i / 3) % 224}, channel ${i % 3}): ${got[i]} vs ${want[i]} (max ${max})`,
        );
    }
    disposeGraph(graph);
    model.dispose();
  }
});

/**
 * The authors' head (docs/PROTOCOL.md §2, reference variant), written from its description and
 * not from engine/seeds.ts: ReLU on the logits, the seeds on the ReLU's output, and the ReLU's
 * gradient (1 where z_n > 0) on every entry on the way back. Returns the target seed T and, for
 * CLRP/SGLRP, the dual seed D.
 */
function authorsSeeds(method: 'lrp' | 'clrp' | 'sglrp', z: ArrayLike<number>, t: number): { target: Float64Array; dual?: Float64Array } {
  const n = z.length;
  const gate = Array.from(z, (v) => (v > 0 ? 1 : 0));
  const zr = Array.from(z, (v) => Math.max(v, 0));
  const target = new Float64Array(n);
  const dual = new Float64Array(n);
  if (method === 'lrp' || method === 'clrp') {
    target[t] = gate[t]! * zr[t]!;
    if (method === 'lrp') return { target };
    for (let i = 0; i < n; i++) if (i !== t) dual[i] = (gate[i]! * zr[t]!) / (n - 1);
    return { target, dual };
  }
  const e = zr.map((v) => Math.exp(v - Math.max(...zr)));
  const y = e.map((v) => v / e.reduce((a, b) => a + b, 0));
  target[t] = gate[t]! * (y[t]! * (1 - y[t]!) + 1e-8);
  for (let i = 0; i < n; i++) if (i !== t) dual[i] = gate[i]! * y[t]! * y[i]!;
  return { target, dual };
}

test('reference variant: a target with z_t ≤ 0 gets all-zero LRP, CLRP and SGLRP maps; a positive one matches the authors formula in float64', async () => {
  await initBackend('cpu');
  const rules = {
    first: { kind: 'zb', low: -1, high: 2, eps: 1e-9 },
    rest: { kind: 'zplus', bias: true, eps: 0 },
    merge: { split: { kind: 'zero', value: 1e-7 } },
  } as const;
  // A tiny CNN and an image whose logits have both signs, and whose top class gets relevance.
  const model = buildTinyCnn({ seed: 5 });
  const graph = graphFromLayersModel(model);
  const [h, w, c] = graph.inputShape;
  const layers = denseLayers(graph);
  let x: Float32Array = new Float32Array(0);
  let z: Float64Array<ArrayBufferLike> = new Float64Array(0);
  const lrp = (seed: Float64Array) => denseLrp(layers, x, seed, rules.first, rules.rest, rules.merge);
  // Relevance must reach the input from both targets' outputs (else a zero map proves nothing).
  const reaches = (t: number) => lrp(Float64Array.from(z, (_, i) => (i === t ? 1 : 0))).some((v) => v !== 0);
  const negativeClass = () => Array.from(z).findIndex((v, t) => v < 0 && reaches(t));
  const usable = () => z.length > 0 && negativeClass() >= 0 && reaches(Array.from(z).indexOf(Math.max(...z)));
  for (let s = 1; s < 50 && !usable(); s++) {
    x = randomImage(h * w * c, s, -1, 2);
    z = denseForward(layers, x)[graph.outputId]!;
  }
  assert.ok(usable(), `no usable image: logits ${Array.from(z)}`);
  const negative = negativeClass();
  const positive = Array.from(z).indexOf(Math.max(...z));
  const ex = ExplainEngine.fromGraph(graph, { inputBounds: { low: -1, high: 2 } });
  const targets = [negative, positive].map((classIndex) => ({ kind: 'index' as const, classIndex }));
  const res = runSync(
    ex.explainSteps([x], () => targets, { methods: ['lrp', 'clrp', 'sglrp'], variant: 'reference', seed: 0, imageIds: ['a'] }),
  );
  for (const e of res.explanations) {
    const seeds = authorsSeeds(e.method as 'lrp' | 'clrp' | 'sglrp', z, e.target.classIndex);
    const t = lrp(seeds.target);
    let raw = t;
    if (seeds.dual) {
      const d = lrp(seeds.dual);
      const sd = d.reduce((a, b) => a + b, 0);
      const scale = sd === 0 ? 0 : t.reduce((a, b) => a + b, 0) / sd;
      raw = t.map((v, i) => v - d[i]! * scale);
    }
    const want = Float64Array.from({ length: h * w }, (_, p) => raw[p * c]! + raw[p * c + 1]! + raw[p * c + 2]!);
    const what = `${e.method}, target ${e.target.classIndex} (z = ${z[e.target.classIndex]})`;
    if (e.target.classIndex === negative) {
      assert.ok(
        want.every((v) => v === 0),
        `${what}: the authors formula gives an all-zero map`,
      );
      assert.ok(
        e.map.every((v) => v === 0),
        `${what}: the engine map is all zero, max |m| = ${Math.max(...Array.from(e.map, Math.abs))}`,
      );
    } else {
      assert.ok(
        want.some((v) => v !== 0),
        `${what}: the authors map is not all zero`,
      );
      assertClose(e.map, want, e.method === 'lrp' ? 1e-4 : 1e-2, what);
    }
  }
  ex.dispose();
  model.dispose();
});

test('an unfolded BatchNormalization passes relevance through: the smallest case conserves ΣR = z_0 = 2.9995 (both variants)', async () => {
  await initBackend('cpu');
  // x = [−0.5, 1] (2×1×1) → Conv 1×1 (w = 1, b = 0, ReLU) → [0, 1] → BN(γ 1, β 1, μ 0, σ² 1, ε 1e-3)
  // → [1, 1.9995] → Flatten → Dense [[1, 0], [1, 0]] → z_0 = 2.9995. The BN follows a ReLU, so it
  // cannot fold. LRP for class 0: z⁺ gives the BN outputs [1, 1.9995], the BN passes them on,
  // zB with bounds (−1, 2) gives each pixel (x − l)/(x − l) of its relevance: [1, 1.9995].
  const input = tf.input({ shape: [2, 1, 1] });
  const conv = tf.layers
    .conv2d({ filters: 1, kernelSize: 1, activation: 'relu', weights: [tf.ones([1, 1, 1, 1]), tf.zeros([1])] })
    .apply(input) as tf.SymbolicTensor;
  const bn = tf.layers
    .batchNormalization({ epsilon: 1e-3, weights: [tf.ones([1]), tf.ones([1]), tf.zeros([1]), tf.ones([1])] })
    .apply(conv) as tf.SymbolicTensor;
  const flat = tf.layers.flatten().apply(bn) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({
      units: 2,
      weights: [
        tf.tensor2d([
          [1, 0],
          [1, 0],
        ]),
        tf.zeros([2]),
      ],
    })
    .apply(flat) as tf.SymbolicTensor;
  const graph = graphFromLayersModel(tf.model({ inputs: input, outputs: out }));
  assert.ok(
    graph.nodes.some((n) => n.op.kind === 'affine'),
    'the BN stays an unfolded affine node',
  );
  const bnOut = 1 / Math.sqrt(1.001) + 1;
  const ex = ExplainEngine.fromGraph(graph, { inputBounds: { low: -1, high: 2 } });
  for (const variant of ['paper', 'reference'] as const) {
    const res = runSync(
      ex.explainSteps([Float32Array.from([-0.5, 1])], () => [{ kind: 'index', classIndex: 0 }], {
        methods: ['lrp'],
        variant,
        seed: 0,
        imageIds: ['a'],
      }),
    );
    const raw = res.explanations[0]!.raw!;
    assertClose(raw, [1, bnOut], 1e-5, `${variant}: input relevance`);
    assert.ok(Math.abs(raw[0]! + raw[1]! - (1 + bnOut)) < 1e-5, `${variant}: ΣR = ${raw[0]! + raw[1]!}, want ${1 + bnOut}`);
  }
  ex.dispose();
});
