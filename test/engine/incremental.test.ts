import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../engine/backend.js';
import { disposeCache, forwardLogits, forwardWithCache } from '../../engine/forward.js';
import { disposeGraph, type Graph } from '../../engine/graph.js';
import { affectedRange, emptyStats, incrementalLogits, type MaskedVariant } from '../../engine/incremental.js';
import { maskedLogits } from '../util/masked-logits.js';
import { graphFromLayersModel } from '../../engine/model-loader.js';
import { forwardPads } from '../../engine/conv-transpose.js';
import { applyPatch, patchBounds, type PatchBounds } from '../../stages/masking-geometry.js';
import { buildTinyCnn, buildVgg16, randomImage } from '../util/models.js';
import { assertClose } from '../util/numeric.js';

const init = (seed: number) => tf.initializers.randomNormal({ seed, stddev: 0.4 });

/** Sequential geometry zoo: even kernels, 'same' with stride 2, 'valid', 'same' max/avg pooling, 1×1 conv, ReLU layer. */
function buildGeometryModel(size: number): tf.LayersModel {
  const m = tf.sequential();
  let s = 100;
  const conv = (
    filters: number,
    k: number | [number, number],
    strides: number,
    padding: 'same' | 'valid',
    activation: 'relu' | 'linear' = 'relu',
  ) => tf.layers.conv2d({ filters, kernelSize: k, strides, padding, activation, kernelInitializer: init(++s), biasInitializer: init(++s) });
  m.add(
    tf.layers.conv2d({
      inputShape: [size, size, 3],
      filters: 4,
      kernelSize: 2,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(1),
      biasInitializer: init(2),
    }),
  );
  m.add(conv(5, 4, 2, 'same')); // even kernel, stride 2: TF puts the extra padding row after
  // Mostly negative values into a 'same' max pool, then linear: the pool's −∞ border padding matters.
  m.add(
    tf.layers.conv2d({
      filters: 4,
      kernelSize: [3, 2],
      padding: 'valid',
      kernelInitializer: init(3),
      biasInitializer: tf.initializers.constant({ value: -1.5 }),
    }),
  );
  m.add(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }));
  m.add(conv(6, 1, 1, 'same', 'linear'));
  m.add(tf.layers.reLU());
  m.add(tf.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' })); // border windows: full fallback
  m.add(conv(4, 3, 1, 'same'));
  m.add(tf.layers.averagePooling2d({ poolSize: 2, strides: 2, padding: 'valid' }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 5, activation: 'softmax', kernelInitializer: init(90), biasInitializer: init(91) }));
  return m;
}

/** Pooling on the box path: a 'valid' 2×2 average pool first, 'same' 3×3 average pool (interior windows), max pool. */
function buildPoolingModel(size: number): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.averagePooling2d({ inputShape: [size, size, 3], poolSize: 2, strides: 2, padding: 'valid' }));
  m.add(
    tf.layers.conv2d({
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(5),
      biasInitializer: init(6),
    }),
  );
  m.add(tf.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'valid' }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(80), biasInitializer: init(81) }));
  return m;
}

/** Functional model: ZeroPadding2D, Cropping2D, Add, BatchNormalization (affine), Concatenate, a stride-3 conv that skips rows, GAP. */
function buildDagModel(size: number): tf.LayersModel {
  const x = tf.input({ shape: [size, size, 2] });
  const c = (filters: number, k: number, o: { strides?: number; padding?: 'same' | 'valid' } = {}) =>
    tf.layers.conv2d({
      filters,
      kernelSize: k,
      strides: o.strides ?? 1,
      padding: o.padding ?? 'same',
      activation: 'relu',
      kernelInitializer: init(filters * 7 + k),
      biasInitializer: init(filters * 7 + k + 1),
    });
  const p = tf.layers
    .zeroPadding2d({
      padding: [
        [1, 2],
        [2, 1],
      ],
    })
    .apply(x) as tf.SymbolicTensor;
  const a = c(4, 3, { padding: 'valid' }).apply(p) as tf.SymbolicTensor;
  const b = c(4, 1).apply(a) as tf.SymbolicTensor;
  const sum = tf.layers.add().apply([a, b]) as tf.SymbolicTensor;
  // A BatchNormalization after an Add cannot fold into a conv: it stays an 'affine' node.
  const bn = tf.layers
    .batchNormalization({
      gammaInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: 60 }),
      betaInitializer: tf.initializers.randomNormal({ seed: 61, stddev: 0.2 }),
      movingMeanInitializer: tf.initializers.randomNormal({ seed: 62, stddev: 0.2 }),
      movingVarianceInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 2, seed: 63 }),
    })
    .apply(sum) as tf.SymbolicTensor;
  const d = c(3, 3).apply(bn) as tf.SymbolicTensor;
  const cat = tf.layers.concatenate().apply([sum, d]) as tf.SymbolicTensor;
  const cr = tf.layers
    .cropping2D({
      cropping: [
        [1, 0],
        [0, 2],
      ],
    })
    .apply(cat) as tf.SymbolicTensor;
  const s3 = c(5, 1, { strides: 3, padding: 'valid' }).apply(cr) as tf.SymbolicTensor; // 1×1 stride 3: some changes never reach it
  const g = tf.layers.globalAveragePooling2d({}).apply(s3) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: 4, activation: 'softmax', kernelInitializer: init(70), biasInitializer: init(71) })
    .apply(g) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: out });
}

function graphOf(model: tf.LayersModel): Graph {
  const g = graphFromLayersModel(model);
  model.dispose();
  return g;
}

/** Reference: the masked images through the ordinary full forward pass. */
function fullLogits(
  graph: Graph,
  images: Float32Array[],
  variants: { image: number; b: PatchBounds }[],
  fill: Float32Array,
): Float32Array[] {
  const [h, w, c] = graph.inputShape;
  const per = h * w * c;
  const data = new Float32Array(per * variants.length);
  variants.forEach((v, i) => data.set(applyPatch(images[v.image]!, h, w, c, v.b, fill), i * per));
  const x = tf.tensor4d(data, [variants.length, h, w, c]);
  const z = forwardLogits(graph, x);
  const zd = z.dataSync() as Float32Array;
  tf.dispose([x, z]);
  const k = graph.numClasses;
  return variants.map((_, i) => zd.slice(i * k, (i + 1) * k));
}

/** Patches at every corner, the borders, 1×1, 9×9, an even size, and one covering most of the image. */
function patchSet(h: number, w: number): PatchBounds[] {
  const centres: [number, number, number][] = [
    [0, 0, 1],
    [0, 0, 9],
    [0, w - 1, 9],
    [h - 1, 0, 9],
    [h - 1, w - 1, 9],
    [h - 1, w - 1, 1],
    [Math.floor(h / 2), 0, 3],
    [0, Math.floor(w / 2), 5],
    [h - 1, Math.floor(w / 2), 7],
    [Math.floor(h / 2), w - 1, 4],
    [Math.floor(h / 2), Math.floor(w / 2), 1],
    [Math.floor(h / 2) - 1, Math.floor(w / 2), 9],
    [5, 6, 3],
    [Math.floor(h / 2), Math.floor(w / 2), h - 2],
  ];
  return centres.map(([r, c, p]) => patchBounds(r, c, p, h, w));
}

/** Runs the incremental pass for every patch × image against the full pass; returns the stats. */
function checkAgainstFull(
  graph: Graph,
  nImages: number,
  what: string,
  opts: { maxBatch?: number; fullFraction?: number; byPixels?: boolean } = {},
) {
  const [h, w, c] = graph.inputShape;
  const images = Array.from({ length: nImages }, (_, i) => randomImage(h * w * c, 31 + i, -1, 2));
  const fill = randomImage(h * w * c, 7, -0.5, 0.5);
  const variants = images.flatMap((_, image) => patchSet(h, w).map((b) => ({ image, b })));
  const want = fullLogits(graph, images, variants, fill);

  const before = tf.memory().numTensors;
  const x = tf.tensor4d(Float32Array.from(images.flatMap((a) => Array.from(a))), [nImages, h, w, c]);
  const cache = forwardWithCache(graph, x);
  x.dispose();
  const stats = emptyStats();
  const masked: MaskedVariant[] = variants.map(({ image, b }) => {
    if (!opts.byPixels) return { image, ...b, fill };
    const full = applyPatch(images[image]!, h, w, c, b, fill);
    const px = new Float32Array((b.r1 - b.r0) * (b.c1 - b.c0) * c);
    for (let r = b.r0; r < b.r1; r++) px.set(full.subarray((r * w + b.c0) * c, (r * w + b.c1) * c), (r - b.r0) * (b.c1 - b.c0) * c);
    return { image, ...b, pixels: px };
  });
  const during = tf.memory().numTensors;
  const z = incrementalLogits(cache, masked, {
    stats,
    ...(opts.maxBatch ? { maxBatch: opts.maxBatch } : {}),
    ...(opts.fullFraction ? { fullFraction: opts.fullFraction } : {}),
  });
  assert.equal(tf.memory().numTensors, during + 1, `${what}: only the result tensor is left`);
  assert.deepEqual(z.shape, [variants.length, graph.numClasses]);
  const zd = z.dataSync() as Float32Array;
  z.dispose();
  disposeCache(cache);
  assert.equal(tf.memory().numTensors, before, `${what}: no tensor leak`);
  const k = graph.numClasses;
  variants.forEach((v, i) =>
    assertClose(zd.subarray(i * k, (i + 1) * k), want[i]!, 1e-5, `${what}: image ${v.image}, patch ${JSON.stringify(v.b)}`),
  );
  return stats;
}

test('affectedRange is exactly the set of outputs whose window meets the changed rows (brute force)', () => {
  for (const n of [7, 8, 13]) {
    for (const k of [1, 2, 3, 4, 5]) {
      for (const s of [1, 2, 3]) {
        for (const padding of ['same', 'valid'] as const) {
          if (padding === 'valid' && k > n) continue;
          const [pb] = forwardPads(n, k, s, padding);
          const out = padding === 'same' ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1;
          for (let a = 0; a < n; a++) {
            for (let b = a + 1; b <= n; b++) {
              const hit: number[] = [];
              for (let o = 0; o < out; o++) if (o * s - pb < b && o * s - pb + k > a) hit.push(o);
              const [lo, hi] = affectedRange(a, b, k, s, pb, out);
              const got = Array.from({ length: hi - lo }, (_, i) => lo + i);
              assert.deepEqual(got, hit, `n ${n} k ${k} s ${s} ${padding} rows [${a}, ${b})`);
            }
          }
        }
      }
    }
  }
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`${backend}: incremental logits equal a full pass (tiny CNN: 'same' convs, max pool, dense; 3 images × 14 patches)`, async () => {
    await initBackend(backend);
    const graph = graphOf(buildTinyCnn({ size: 16 }));
    try {
      const stats = checkAgainstFull(graph, 3, `${backend} tiny same`);
      assert.ok(
        stats.patchPositions > 0 && stats.patchPositions < stats.totalPositions / 2,
        `most conv/pool work skipped: ${JSON.stringify(stats)}`,
      );
      assert.ok(stats.fullNodes > 0, 'the big patch (and the dense tail) took the full path');
    } finally {
      disposeGraph(graph);
    }
  });

  test(`${backend}: tiny CNN with a stride-2 'valid' conv, small batches (maxBatch 5) and pixels given directly`, async () => {
    await initBackend(backend);
    const graph = graphOf(buildTinyCnn({ size: 17, stride2: true }));
    try {
      checkAgainstFull(graph, 2, `${backend} tiny stride2`, { maxBatch: 5, byPixels: true });
    } finally {
      disposeGraph(graph);
    }
  });

  test(`${backend}: even kernels, 'same' stride 2, 'valid', 'same' max and average pooling, 1×1 conv, ReLU layer`, async () => {
    await initBackend(backend);
    const graph = graphOf(buildGeometryModel(20));
    try {
      const stats = checkAgainstFull(graph, 2, `${backend} geometry`);
      for (const k of ['conv2d', 'maxpool', 'relu'])
        assert.ok((stats.windowCallsByKind[k] ?? 0) > 0, `${k} ran on windows: ${JSON.stringify(stats.windowCallsByKind)}`);
      // A threshold of 1 never falls back for size; a tiny one always does: both stay exact.
      checkAgainstFull(graph, 1, `${backend} geometry, no size fallback`, { fullFraction: 1 });
      const all = checkAgainstFull(graph, 1, `${backend} geometry, always full`, { fullFraction: 1e-9 });
      assert.equal(all.patchPositions, 0);
    } finally {
      disposeGraph(graph);
    }
  });

  test(`${backend}: average pooling ('valid', and 'same' away from the border) on the box path`, async () => {
    await initBackend(backend);
    const graph = graphOf(buildPoolingModel(28));
    try {
      const stats = checkAgainstFull(graph, 2, `${backend} pooling`);
      assert.ok(
        (stats.windowCallsByKind['avgpool'] ?? 0) >= 2 && (stats.windowCallsByKind['maxpool'] ?? 0) >= 1,
        JSON.stringify(stats.windowCallsByKind),
      );
    } finally {
      disposeGraph(graph);
    }
  });

  test(`${backend}: DAG (ZeroPadding2D, Cropping2D, Add, unfoldable BatchNormalization, Concatenate, stride 3 that skips rows, GAP)`, async () => {
    await initBackend(backend);
    const graph = graphOf(buildDagModel(15));
    try {
      const kinds = graph.nodes.map((n) => n.op.kind as string);
      for (const k of ['pad', 'crop', 'add', 'affine', 'concat', 'gap'])
        assert.ok(kinds.includes(k), `the model has a ${k} node (${kinds.join(',')})`);
      const stats = checkAgainstFull(graph, 2, `${backend} dag`);
      for (const k of ['conv2d', 'add', 'affine', 'concat'])
        assert.ok((stats.windowCallsByKind[k] ?? 0) > 0, `${k} ran on windows: ${JSON.stringify(stats.windowCallsByKind)}`);
    } finally {
      disposeGraph(graph);
    }
  });
}

test('maskedLogits (forward + incremental per image group) equals the full pass; bad input is refused by name', async () => {
  await initBackend('wasm');
  const graph = graphOf(buildTinyCnn({ size: 12 }));
  try {
    const [h, w, c] = graph.inputShape;
    const images = [0, 1, 2].map((i) => randomImage(h * w * c, 50 + i));
    const fill = new Float32Array(h * w * c).fill(0.25);
    const masks = [
      { image: 2, ...patchBounds(3, 4, 5, h, w) },
      { image: 0, ...patchBounds(0, 11, 3, h, w) },
      { image: 2, ...patchBounds(11, 11, 1, h, w) },
    ];
    const before = tf.memory().numTensors;
    const got = maskedLogits(graph, images, masks, fill, { imagesPerPass: 2 });
    assert.equal(tf.memory().numTensors, before);
    const want = fullLogits(
      graph,
      images,
      masks.map((m) => ({ image: m.image, b: m })),
      fill,
    );
    got.forEach((z, i) => assertClose(z, want[i]!, 1e-5, `mask ${i}`));

    const x = tf.tensor4d(images[0]!, [1, h, w, c]);
    const cache = forwardWithCache(graph, x);
    x.dispose();
    assert.throws(
      () => incrementalLogits(cache, [{ image: 1, r0: 0, r1: 1, c0: 0, c1: 1, fill }]),
      /image 1 is not in the cache's batch of 1/,
    );
    assert.throws(() => incrementalLogits(cache, [{ image: 0, r0: 0, r1: h + 1, c0: 0, c1: 1, fill }]), /not inside the 12×12 input/);
    assert.throws(
      () => incrementalLogits(cache, [{ image: 0, r0: 0, r1: 2, c0: 0, c1: 2, pixels: new Float32Array(3) }]),
      /3 pixel values given, the region needs 12/,
    );
    const empty = incrementalLogits(cache, [{ image: 0, r0: 3, r1: 3, c0: 0, c1: 5, fill }]);
    assertClose(empty.dataSync(), cache.logits.dataSync(), 0, 'an empty region gives the cached logits');
    empty.dispose();
    disposeCache(cache);
  } finally {
    disposeGraph(graph);
  }
});

test('wasm: VGG16 (224×224, 1000 classes) — 3 patches of one image equal the full pass (timed, and counted in multiply-adds)', async () => {
  await initBackend('wasm');
  const graph = graphOf(buildVgg16());
  try {
    const [h, w, c] = graph.inputShape;
    const image = randomImage(h * w * c, 17, -123.68, 151.061);
    const fill = new Float32Array(h * w * c).fill(0);
    const bs = [patchBounds(0, 0, 1, h, w), patchBounds(111, 150, 9, h, w), patchBounds(223, 100, 5, h, w)];
    let t = performance.now();
    const want = fullLogits(
      graph,
      [image],
      bs.map((b) => ({ image: 0, b })),
      fill,
    );
    const fullMs = performance.now() - t;

    const before = tf.memory().numTensors;
    const x = tf.tensor4d(image, [1, h, w, c]);
    const cache = forwardWithCache(graph, x);
    x.dispose();
    t = performance.now();
    const stats = emptyStats();
    const z = incrementalLogits(
      cache,
      bs.map((b) => ({ image: 0, ...b, fill })),
      { stats },
    );
    const incMs = performance.now() - t;
    const zd = z.dataSync() as Float32Array;
    z.dispose();
    disposeCache(cache);
    assert.equal(tf.memory().numTensors, before, 'no tensor leak');
    bs.forEach((b, i) => assertClose(zd.subarray(i * 1000, (i + 1) * 1000), want[i]!, 1e-5, `VGG16 patch ${JSON.stringify(b)}`));
    const frac = stats.macs / stats.fullPassMacs;
    process.stderr.write(
      `VGG16 3 masked: full ${fullMs.toFixed(0)} ms, incremental ${incMs.toFixed(0)} ms; Conv/Dense multiply-adds run: ${(100 * frac).toFixed(1)}% of a full pass\n`,
    );
    // Independent arithmetic: VGG16's Conv/Dense layers do 15.47 G multiply-adds per image.
    assert.ok(Math.abs(stats.fullPassMacs / 3 - 15.47e9) < 0.01e9, `full-pass MACs ${stats.fullPassMacs / 3}`);
    assert.ok(frac < 0.2, `ran ${frac} of a full pass's multiply-adds`);
  } finally {
    disposeGraph(graph);
  }
});
