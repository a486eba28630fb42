import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  backendDetail,
  initBackend,
  isSoftwareAdapter,
  maxStorageBindingBytes,
  probeWebgpuAdapter,
  usableForAuto,
  WEBGPU_DEFAULT_STORAGE_BINDING_BYTES,
  type AdapterFacts,
} from '../../engine/backend.js';
import { BlockedMatrix } from '../../engine/blocked.js';
import { ExplainEngine, type ExplainRequest } from '../../engine/explain-engine.js';
import { runSync, runAsync } from '../../engine/reads.js';
import { forwardLogits } from '../../engine/forward.js';
import { graphFromLayersModel, loadGraph } from '../../engine/model-loader.js';
import { saveLayersModel } from '../../engine/model-saver.js';
import { winnerMaskByOps, winnerMaskOnHost } from '../../engine/pool-routing.js';
import { METHOD_NAMES, type Explanation, type Target, type Variant } from '../../engine/types.js';
import { applyPatch, patchBounds } from '../../stages/masking-geometry.js';
import { buildTinyResNet as buildStridedResNet, FAMILY_INPUT_BOUNDS } from '../util/architectures.js';
import { buildTinyDenseNet, buildTinyInception } from '../util/dag-models.js';
import { buildTinyCnn, POOL_WINDOW_CASES, randomImage } from '../util/models.js';
import { assertClose } from '../util/numeric.js';

/**
 * The webgpu backend against wasm on the same weights and inputs. On a machine without a GPU
 * this runs on Mesa's software Vulkan driver (lavapipe, from bookworm-backports; .ci/run installs
 * it): slow, but the same WGSL kernels and the same engine code paths as on a GPU (tensor-op
 * winner masks instead of the host scan, no host-resident tensors). Correctness only; timings on
 * a software adapter mean nothing.
 */

let adapter: AdapterFacts | null = null;
let why = '';
try {
  adapter = await probeWebgpuAdapter();
  if (!adapter)
    why =
      'no WebGPU adapter: Dawn found no Vulkan device (on a CPU machine install mesa-vulkan-drivers from bookworm-backports, as .ci/run does)';
} catch (e) {
  why = `no WebGPU: ${(e as Error).message}`;
}
const SKIP = `webgpu tests skipped: ${why}`;

const BOUNDS = { low: -1, high: 2 };
/** Relative to each map's largest magnitude: float32 with another summation order (tiled matmuls, reductions). */
const REL = 2e-4;

let dir = '';
function tmp(): string {
  dir ||= mkdtempSync(join(tmpdir(), 'sglrp-webgpu-'));
  return dir;
}
test.after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// First in the file: initBackend('auto') is idempotent per thread, so it must run before any other backend starts.
test('auto does not choose webgpu on a software adapter; named explicitly it runs and is recorded as software', async (t: TestContext) => {
  if (!adapter) return t.skip(SKIP);
  const name = await initBackend('auto', { probeWebgpu: true });
  if (isSoftwareAdapter(adapter)) {
    assert.equal(usableForAuto(adapter), false);
    assert.equal(name, 'wasm', `auto chose ${name} with only ${JSON.stringify(adapter)}`);
    assert.equal(backendDetail(), undefined, 'nothing to add for wasm');
  } else {
    assert.ok(
      name === 'webgpu' || name === 'tensorflow',
      `a hardware adapter (${JSON.stringify(adapter)}) is usable by auto; auto chose ${name}`,
    );
  }
  assert.equal(await initBackend('webgpu'), 'webgpu');
  assert.equal(tf.getBackend(), 'webgpu');
  const detail = backendDetail();
  assert.ok(detail?.startsWith('webgpu on '), String(detail));
  if (isSoftwareAdapter(adapter)) assert.match(detail!, /software adapter/);
});

interface Run {
  explanations: Explanation[];
  logits: Float32Array[];
  backend: string;
  detail: string | undefined;
}

/** Every method's maps for `images` at fixed targets (same on both backends), in one variant. */
async function explainOn(
  backend: 'wasm' | 'webgpu',
  modelPath: string,
  bounds: typeof BOUNDS,
  images: Float32Array[],
  targets: number[],
  variant: Variant,
): Promise<Run> {
  await initBackend(backend);
  const ex = await ExplainEngine.load(modelPath, { backend, inputBounds: bounds });
  try {
    const resolve = (): Target[] => targets.map((classIndex) => ({ kind: 'index', classIndex }));
    const opts = { methods: [...METHOD_NAMES], variant, seed: 5, imageIds: images.map((_, i) => `img${i}`) };
    // wasm: the sync API (what the bench calls); webgpu: the async one (its dataSync cannot work under Node).
    const res =
      backend === 'wasm' ? runSync(ex.explainSteps(images, resolve, opts)) : await runAsync(ex.explainSteps(images, resolve, opts));
    return { explanations: res.explanations, logits: res.forward.logits, backend: ex.backend, detail: ex.backendDetail };
  } finally {
    ex.dispose();
  }
}

async function compareMethods(
  what: string,
  modelPath: string,
  bounds: typeof BOUNDS,
  images: Float32Array[],
  targets: number[],
): Promise<void> {
  for (const variant of ['paper', 'reference'] as const) {
    const want = await explainOn('wasm', modelPath, bounds, images, targets, variant);
    const got = await explainOn('webgpu', modelPath, bounds, images, targets, variant);
    assert.equal(got.backend, 'webgpu', 'the recorded backend name stays webgpu');
    assert.ok(got.detail?.startsWith('webgpu on '), `the explainer records its adapter: ${got.detail}`);
    got.logits.forEach((z, i) => assertClose(z, want.logits[i]!, 1e-5, `${what} ${variant}: logits of image ${i}`));
    assert.equal(got.explanations.length, images.length * targets.length * METHOD_NAMES.length);
    assert.equal(got.explanations.length, want.explanations.length);
    const nonZero = new Set<string>();
    for (let k = 0; k < want.explanations.length; k++) {
      const w = want.explanations[k]!;
      const g = got.explanations[k]!;
      const label = `${what} ${variant}: ${w.method}, image ${w.imageIndex}, class ${w.target.classIndex}`;
      assert.deepEqual([g.method, g.imageIndex, g.target.classIndex], [w.method, w.imageIndex, w.target.classIndex], label);
      if (w.map.some((v) => v !== 0)) nonZero.add(w.method);
      assert.ok(g.map.every(Number.isFinite), `${label}: finite`);
      assertClose(g.map, w.map, REL, `${label} map`);
      assert.equal(g.raw === undefined, w.raw === undefined, `${label}: raw on both or neither`);
      if (w.raw && g.raw) assertClose(g.raw, w.raw, REL, `${label} raw`);
    }
    // A meaningful comparison: every method has a map that is not all zero (a ReLU'd Grad-CAM of a weak class may be).
    assert.deepEqual([...nonZero].sort(), [...METHOD_NAMES].sort(), `${what} ${variant}: methods with a non-zero map`);
  }
}

test('every method (LRP, CLRP, SGLRP paper and reference, GBP, Grad-CAM, Guided Grad-CAM, Random) on tiny VGG-like CNNs (2×2 max pool; a stride-2 conv): webgpu = wasm', async (t: TestContext) => {
  if (!adapter) return t.skip(SKIP);
  await initBackend('wasm');
  for (const stride2 of [false, true]) {
    const size = stride2 ? 13 : 12;
    const path = await saveLayersModel(buildTinyCnn({ size, seed: 21, stride2 }), join(tmp(), `tiny-cnn-${stride2}`));
    const images = [0, 1].map((i) => randomImage(size * size * 3, 40 + i, BOUNDS.low, BOUNDS.high));
    await compareMethods(`tiny CNN${stride2 ? ' (stride 2)' : ''}`, path, BOUNDS, images, [0, 2]);
  }
});

test('every method on small DAG models (ResNet: Add, 7×7 stride-2 conv, 3×3 stride-2 max pool; DenseNet: Concatenate, average pooling; Inception: branches, crop): webgpu = wasm', async (t: TestContext) => {
  if (!adapter) return t.skip(SKIP);
  await initBackend('wasm');
  const resnet = FAMILY_INPUT_BOUNDS.resnet;
  const models = [
    ['residual', () => buildStridedResNet({ size: 24, classes: 5 }), 24, resnet],
    ['concat', () => buildTinyDenseNet({ seed: 13 }), 8, BOUNDS],
    ['inception', () => buildTinyInception({ seed: 13 }), 9, BOUNDS],
  ] as const;
  for (const [what, build, size, bounds] of models) {
    const path = await saveLayersModel(build(), join(tmp(), what));
    const images = [0, 1].map((i) => randomImage(size * size * 3, 60 + i, bounds.low, bounds.high));
    await compareMethods(what, path, { low: bounds.low, high: bounds.high }, images, [1, 3]);
  }
});

test('max-pool winner masks: tensor ops on webgpu = host scan on wasm (ties, odd sizes, 3×3 windows, all-equal windows)', async (t: TestContext) => {
  if (!adapter) return t.skip(SKIP);
  for (const [h, w, k] of POOL_WINDOW_CASES) {
    const [b, c] = [2, 5];
    // A coarse grid (−1 … 0.5 in steps of 0.5) so most windows hold ties, and whole windows of one value. No
    // all-−∞ window: TF.js's webgpu max pool floors at −1e20 (see winnerMaskByOps); activations are finite.
    const data = Float32Array.from(randomImage(b * h * w * c, 31 + h, -1, 1), (v) => Math.floor(v * 2) / 2);
    for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) data[(dy * w + dx) * c + 2] = -0.5; // channel 2 of window (0,0): all equal
    const g = { poolSize: [k, k] as [number, number], strides: [k, k] as [number, number], padding: 'valid' as const };
    await initBackend('wasm');
    const a = tf.tensor4d(data, [b, h, w, c]);
    const hostMask = winnerMaskOnHost(a, g);
    const host = Array.from(hostMask.dataSync());
    tf.dispose([a, hostMask]);
    await initBackend('webgpu');
    const aG = tf.tensor4d(data, [b, h, w, c]);
    const opsMask = winnerMaskByOps(aG, g);
    const ops = Array.from(await opsMask.data());
    tf.dispose([aG, opsMask]);
    assert.deepEqual(ops, host, `h=${h} w=${w} pool=${k}`);
    assert.equal(
      host.reduce((s, v) => s + v, 0),
      b * Math.floor(h / k) * Math.floor(w / k) * c,
      'one winner per window and channel',
    );
  }
});

test('incremental masked re-classification (classifyMaskedInCache) on webgpu equals a full forward pass of the masked images', async (t: TestContext) => {
  if (!adapter) return t.skip(SKIP);
  await initBackend('wasm');
  const path = await saveLayersModel(buildTinyCnn({ size: 16, seed: 9 }), join(tmp(), 'tiny-cnn-16'));
  await initBackend('webgpu');
  const ex = await ExplainEngine.load(path, { backend: 'webgpu', inputBounds: BOUNDS });
  try {
    const [h, w, c] = ex.inputShape;
    const images = [0, 1].map((i) => randomImage(h * w * c, 70 + i, BOUNDS.low, BOUNDS.high));
    const fill = randomImage(h * w * c, 7, -0.5, 0.5);
    const masks = images.flatMap((_, image) =>
      [
        [0, 0, 1],
        [0, 0, 5],
        [h - 1, w - 1, 3],
        [7, 8, 3],
        [Math.floor(h / 2), Math.floor(w / 2), h - 2], // covers most of the image: the full-recompute fallback
      ].map(([r, col, p]) => ({ image, ...patchBounds(r!, col!, p!, h, w) })),
    );
    // Both ways a caller can re-classify inside an async explain's onGroup: an async callback, and a
    // generator of read steps (what stages/evaluate.ts returns).
    let byPromise: Float32Array[] = [];
    let bySteps: Float32Array[] = [];
    const explainOnce = (onGroup: NonNullable<ExplainRequest['onGroup']>) =>
      runAsync(
        ex.explainSteps(images, () => [{ kind: 'index', classIndex: 0 }], {
          methods: ['lrp'],
          variant: 'paper',
          seed: 1,
          imageIds: ['a', 'b'],
          onGroup,
        }),
      );
    await explainOnce(async (gr) => {
      assert.equal(gr.count, images.length, 'one group');
      byPromise = await runAsync(ex.classifyMaskedSteps(gr.cache, masks, fill));
    });
    await explainOnce(function* (gr) {
      bySteps = yield* ex.classifyMaskedSteps(gr.cache, masks, fill);
    });
    const masked = masks.map((m) => applyPatch(images[m.image]!, h, w, c, m, fill));
    const full = (await runAsync(ex.forwardSteps(masked))).probs;
    assert.equal(byPromise.length, masks.length);
    byPromise.forEach((p, i) => assertClose(p, full[i]!, 1e-5, `mask ${i} ${JSON.stringify(masks[i])}`));
    bySteps.forEach((p, i) => assertClose(p, byPromise[i]!, 0, `mask ${i}: steps = promise`));
    // The sync API cannot read on webgpu under Node: a clear error, not TF.js's "OffscreenCanvas is not defined".
    if (typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas === 'undefined') {
      assert.throws(() => runSync(ex.forwardSteps(masked)).probs, /webgpu backend cannot read tensors synchronously under Node.*async API/);
    }
    // And the full pass itself agrees with wasm's.
    const x = tf.tensor4d(Float32Array.from(masked.flatMap((m) => Array.from(m))), [masked.length, h, w, c]);
    const zG = forwardLogits(ex.graph, x);
    const zGpu = Float32Array.from(await zG.data());
    tf.dispose([x, zG]);
    await initBackend('wasm');
    const exW = await ExplainEngine.load(path, { backend: 'wasm', inputBounds: BOUNDS });
    const zWasm = runSync(exW.logitsSteps(masked));
    exW.dispose();
    zWasm.forEach((z, i) =>
      assertClose(zGpu.subarray(i * z.length, (i + 1) * z.length), z, 1e-5, `masked image ${i}: webgpu vs wasm logits`),
    );
  } finally {
    ex.dispose();
  }
});

/** VGG16's fc1 on a tiny conv front end: 14×14×3 → conv 3×3/2 (512) → 7×7×512 → Flatten → Dense 4096 (411 MB kernel) → 10. */
function buildFc1Model(): tf.Sequential {
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({
      name: 'conv',
      inputShape: [14, 14, 3],
      filters: 512,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: tf.initializers.heNormal({ seed: 1 }),
    }),
  );
  m.add(tf.layers.flatten({ name: 'flatten' }));
  m.add(tf.layers.dense({ name: 'fc1', units: 4096, activation: 'relu', kernelInitializer: 'zeros' }));
  m.add(
    tf.layers.dense({
      name: 'predictions',
      units: 10,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
    }),
  );
  // fc1's 103 M weights from a fast generator (TF.js's initializers take seconds for this many).
  const a = Math.sqrt(6 / 25088);
  m.getLayer('fc1').setWeights([
    tf.tensor2d(randomImage(25088 * 4096, 3, -a, a), [25088, 4096]),
    tf.tensor1d(randomImage(4096, 4, -0.01, 0.01)),
  ]);
  return m;
}

test('a Dense kernel over the storage-binding limit (fc1: 7×7×512 → 4096, 411 MB) runs in column blocks: logits and every map (paper) = wasm, no validation errors', async (t: TestContext) => {
  if (!adapter) return t.skip(SKIP);
  await initBackend('wasm');
  const model = buildFc1Model();
  const path = await saveLayersModel(model, join(tmp(), 'fc1'));
  const images = [0, 1].map((i) => randomImage(14 * 14 * 3, 80 + i, BOUNDS.low, BOUNDS.high));
  // Every method, paper variant: the forward, the z⁺ rule (W⁺ derived per block) and the gradient
  // pass (GBP, Grad-CAM) all read fc1's blocks. Each pass streams the 411 MB kernel, slow on a
  // software adapter, so the reference variant (the same blocked code with the bias in z) is left
  // to test/engine/blocked.test.ts, which runs both variants on forced blocks on wasm.
  const run = async (ex: ExplainEngine, targets: number[]) => {
    const resolve = (i: number): Target[] => [{ kind: 'index', classIndex: targets[i]! }];
    const res = await runAsync(
      ex.explainSteps(images, resolve, {
        methods: [...METHOD_NAMES],
        variant: 'paper',
        seed: 5,
        imageIds: images.map((_, i) => `img${i}`),
      }),
    );
    return { logits: res.forward.logits, explanations: res.explanations };
  };

  // wasm from the model in memory (no limit: fc1 stays one tensor); webgpu from the file, as ExplainEngine.load does.
  const exW = ExplainEngine.fromGraph(graphFromLayersModel(model), { inputBounds: BOUNDS });
  model.dispose();
  const fc1W = exW.graph.nodes.find((n) => n.name === 'fc1')!;
  assert.ok(fc1W.op.kind === 'dense' && !(fc1W.op.kernel instanceof BlockedMatrix), 'wasm keeps the kernel whole');
  const targets = runSync(exW.logitsSteps(images)).map((z) => z.indexOf(Math.max(...z)));
  const want = await run(exW, targets);
  exW.dispose();

  await initBackend('webgpu');
  const device = (
    tf.backend() as unknown as { device: { pushErrorScope(f: string): void; popErrorScope(): Promise<{ message: string } | null> } }
  ).device;
  const limit = maxStorageBindingBytes()!;
  device.pushErrorScope('validation');
  let validation: { message: string } | null = null;
  // Blocked at most at WebGPU's default limit (128 MiB), so a GPU with a larger one runs the blocks too.
  const graph = await loadGraph(path, { maxBindingBytes: Math.min(limit, WEBGPU_DEFAULT_STORAGE_BINDING_BYTES) });
  const ex = ExplainEngine.fromGraph(graph, { inputBounds: BOUNDS });
  try {
    const fc1 = graph.nodes.find((n) => n.name === 'fc1')!;
    assert.ok(fc1.op.kind === 'dense' && fc1.op.kernel instanceof BlockedMatrix, 'fc1 is blocked');
    assert.ok(
      fc1.op.kernel.blocks.every((b) => b.size * 4 * 2 <= WEBGPU_DEFAULT_STORAGE_BINDING_BYTES),
      'each block (and its zB stack) binds',
    );
    const got = await run(ex, targets);
    got.logits.forEach((z, i) => assertClose(z, want.logits[i]!, 1e-5, `logits of image ${i}`));
    assert.equal(got.explanations.length, want.explanations.length);
    got.explanations.forEach((g, k) => {
      const w = want.explanations[k]!;
      const label = `${w.method}, image ${w.imageIndex}`;
      assert.deepEqual([g.method, g.imageIndex, g.target.classIndex], [w.method, w.imageIndex, w.target.classIndex], label);
      assert.ok(
        w.map.some((v) => v !== 0),
        `${label}: a non-zero map on wasm`,
      );
      // CLRP/SGLRP subtract two nearly equal relevances (random weights, 25088-term sums in
      // another order): their relative error is ~10× the LRP map's (measured on lavapipe:
      // LRP ≤ 2e-6, CLRP/SGLRP ≤ 5e-4 of the map's largest value).
      const rel = w.method === 'clrp' || w.method === 'sglrp' ? 2e-3 : REL;
      assertClose(g.map, w.map, rel, `${label} map`);
      if (w.raw && g.raw) assertClose(g.raw, w.raw, rel, `${label} raw`);
    });
  } finally {
    validation = await device.popErrorScope();
    ex.dispose();
  }
  assert.equal(
    validation?.message ?? null,
    null,
    'no WebGPU validation error (e.g. "Binding size … is larger than the maximum storage buffer binding size")',
  );
});
