import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../engine/backend.js';
import { ExplainEngine } from '../../engine/explain-engine.js';
import { saveLayersModel } from '../../engine/model-saver.js';
import type { MethodName } from '../../engine/types.js';
import { importOnnx } from '../../formats/onnx/index.js';
import { modulePath } from '../../formats/onnx/names.js';
import { preprocess } from '../../io/preprocess.js';
import { projectRoot } from '../../io/project-root.js';
import { assertClose } from '../util/numeric.js';
import { onnxBytes, seeded, type TestModel } from './onnx-models.js';

/**
 * ONNX import. The fixtures (test/fixtures/onnx, written by scripts/fixtures/onnx_zennit.py) are
 * reduced-width torchvision architectures exported by torch.onnx.export, with logits from
 * PyTorch, LRP/CLRP/SGLRP maps from Zennit and GBP/Grad-CAM maps from PyTorch autograd. The
 * hand-written models below are checked against NCHW arithmetic written here.
 */

const FIXTURES = join(projectRoot(), 'test', 'fixtures', 'onnx');
/** docs/PROTOCOL.md §6 torch preset: the smallest and largest preprocessed value over all channels. */
const TORCH_BOUNDS = { low: (0 - 0.485) / 0.229, high: (1 - 0.406) / 0.225 };
const METHODS: MethodName[] = ['lrp', 'clrp', 'sglrp', 'gbp', 'gradcam'];

interface Fixture {
  model: string;
  size: number;
  pixels: string;
  logits: number[];
  targets: number[];
  gradcamLayer: string | null;
  maps: Record<string, Record<string, string>>;
}

const readFixture = (name: string): Fixture => JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as Fixture;
const f32 = (b64: string) => {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};
const inputOf = (fx: Fixture) => preprocess(new Uint8Array(Buffer.from(fx.pixels, 'base64')), fx.size, fx.size, 3, 'torch');

/**
 * DenseNet: logits, GBP and Grad-CAM agree. Its padded stem max pooling is followed by a
 * BatchNorm, so relevance reaches pooled zeros; the engine routes a border window's tie to the
 * first real zero as PyTorch's −∞ padding does (docs/PROTOCOL.md §7), which brought LRP from
 * ~3.5e-3 to ~1.2e-4 of the maximum. CLRP and SGLRP still differ by ~1.2e-3 of their own maximum at a few
 * pixels (1e-4 and 6e-6 of the LRP map's maximum): one window of the first transition's average
 * pooling sums to ~1% of its largest input, magnifying float32 rounding ~100× against Zennit's
 * float64. A todo until a fixture without that near-cancelling window is generated.
 */
const LRP_TODO: Record<string, string> = {
  densenet: 'CLRP/SGLRP differ from Zennit by ~1.2e-3 of the maximum at a few pixels, LRP by ~1.2e-4 (docs/PROTOCOL.md §7)',
};

/** MobileNetV2 (depthwise convolutions, ReLU6: docs/PROTOCOL.md §7) has no Zennit maps: see the fixture script. */
const WITH_LRP = new Set(['resnet18', 'vgg16', 'vgg16_bn', 'alexnet', 'densenet']);

for (const name of ['resnet18', 'vgg16', 'vgg16_bn', 'alexnet', 'densenet', 'mobilenet_v2']) {
  test(`ONNX ${name}: logits equal PyTorch's, GBP and Grad-CAM equal autograd`, async () => {
    await initBackend('cpu');
    const fx = readFixture(name);
    const ex = await ExplainEngine.load(join(FIXTURES, fx.model), { backend: 'cpu', inputBounds: TORCH_BOUNDS });
    try {
      const x = inputOf(fx);
      const { logits } = ex.forward([x]);
      assertClose(logits[0]!, fx.logits, 1e-4, `${name} logits`);
      const t = fx.targets[1]!;
      const res = ex.explain([x], () => [{ kind: 'index', classIndex: t }], {
        methods: ['gbp', 'gradcam'],
        variant: 'paper',
        seed: 0,
        imageIds: ['fixture'],
        ...(fx.gradcamLayer ? { gradcamLayer: fx.gradcamLayer } : {}),
      });
      for (const e of res.explanations) {
        const want = f32(fx.maps[String(t)]![e.method]!);
        assert.ok(
          want.some((v) => v !== 0),
          `${name} ${e.method}: the expected map is not all zero`,
        );
        assertClose(e.map, want, 1e-4, `${name} ${e.method} (target ${t})`);
      }
    } finally {
      ex.dispose();
    }
  });

  if (!WITH_LRP.has(name)) continue;
  test(`ONNX ${name}: LRP, CLRP and SGLRP maps equal Zennit's`, { todo: LRP_TODO[name] }, async () => {
    await initBackend('cpu');
    const fx = readFixture(name);
    const ex = await ExplainEngine.load(join(FIXTURES, fx.model), { backend: 'cpu', inputBounds: TORCH_BOUNDS });
    try {
      const t = fx.targets[1]!;
      const res = ex.explain([inputOf(fx)], () => [{ kind: 'index', classIndex: t }], {
        methods: ['lrp', 'clrp', 'sglrp'],
        variant: 'paper',
        seed: 0,
        imageIds: ['fixture'],
      });
      for (const e of res.explanations) assertClose(e.map, f32(fx.maps[String(t)]![e.method]!), 1e-4, `${name} ${e.method} (target ${t})`);
    } finally {
      ex.dispose();
    }
  });
}

test('ONNX names: a Grad-CAM layer can be named by node, output or module path; the default is the last ReLU before pooling', async () => {
  await initBackend('cpu');
  const resnet = await ExplainEngine.load(join(FIXTURES, 'resnet18.onnx'), { backend: 'cpu', inputBounds: TORCH_BOUNDS });
  const vgg = await ExplainEngine.load(join(FIXTURES, 'vgg16.onnx'), { backend: 'cpu', inputBounds: TORCH_BOUNDS });
  try {
    const dflt = resnet.gradcamNode('paper');
    assert.equal(dflt.name, 'layer4.1.relu_1');
    for (const n of ['layer4.1.relu_1', '/layer4/layer4.1/relu_1/Relu', '/layer4/layer4.1/relu_1/Relu_output_0']) {
      assert.equal(resnet.gradcamNode('paper', n).id, dflt.id, n);
    }
    assert.notEqual(resnet.gradcamNode('paper', 'layer4.1.relu').id, dflt.id);
    assert.equal(vgg.gradcamNode('paper').name, 'features.29');
    assert.throws(() => vgg.gradcamNode('paper', 'features.99'), /features\.99.*not found/);
  } finally {
    resnet.dispose();
    vgg.dispose();
  }
  assert.equal(modulePath('/layer4/layer4.1/relu_1/Relu'), 'layer4.1.relu_1');
  assert.equal(modulePath('/features/features.29/Relu'), 'features.29');
  assert.equal(modulePath('/features/denseblock1/denselayer2/conv1/Conv'), 'features.denseblock1.denselayer2.conv1');
  assert.equal(modulePath('Relu_12'), null);
});

for (const name of ['vgg16_bn', 'mobilenet_v2'])
  test(`ONNX ${name} and the same network saved as a TF.js LayersModel give identical maps`, async () => {
    const methods = name === 'mobilenet_v2' ? METHODS.filter((m) => m === 'gbp' || m === 'gradcam') : METHODS; // docs/PROTOCOL.md §7
    await initBackend('cpu');
    const fx = readFixture(name);
    const dir = mkdtempSync(join(tmpdir(), 'sglrp-onnx-'));
    const { model } = importOnnx(join(FIXTURES, fx.model));
    const jsonPath = await saveLayersModel(model, dir);
    model.dispose();
    const fromOnnx = await ExplainEngine.load(join(FIXTURES, fx.model), { backend: 'cpu', inputBounds: TORCH_BOUNDS });
    const fromTfjs = await ExplainEngine.load(jsonPath, { backend: 'cpu', inputBounds: TORCH_BOUNDS });
    try {
      const opts = { methods, variant: 'paper' as const, seed: 0, imageIds: ['a'] };
      const x = inputOf(fx);
      const target = () => [{ kind: 'index' as const, classIndex: fx.targets[1]! }];
      const a = fromOnnx.explain([x], target, opts).explanations;
      const b = fromTfjs.explain([x], target, opts).explanations;
      assert.equal(a.length, methods.length);
      a.forEach((e, i) => assert.deepEqual(Array.from(e.map), Array.from(b[i]!.map), `${e.method} differs`));
    } finally {
      fromOnnx.dispose();
      fromTfjs.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

test('ONNX MobileNetV2: the LRP family is refused with a clear error (docs/PROTOCOL.md §7)', async () => {
  await initBackend('cpu');
  const fx = readFixture('mobilenet_v2');
  const ex = await ExplainEngine.load(join(FIXTURES, fx.model), { backend: 'cpu', inputBounds: TORCH_BOUNDS });
  try {
    const opts = { methods: ['sglrp' as const, 'gbp' as const], variant: 'paper' as const, seed: 0, imageIds: ['a'] };
    assert.throws(
      () => ex.explain([inputOf(fx)], () => [{ kind: 'index', classIndex: 0 }], opts),
      /method sglrp is not defined for op ReLU6 \(layer 'features\.0\.2'\).*§7/,
    );
  } finally {
    ex.dispose();
  }
});

test('ONNX fixed-batch export (a [1, −1] reshape of the exported batch) explains a batch of two', async () => {
  await initBackend('cpu');
  const fx = readFixture('alexnet');
  const ex = await ExplainEngine.load(join(FIXTURES, fx.model), { backend: 'cpu', inputBounds: TORCH_BOUNDS });
  try {
    const x1 = inputOf(fx);
    const x2 = x1.map((v) => -0.5 * v);
    const both = ex.forward([x1, x2]).logits;
    assertClose(both[0]!, fx.logits, 1e-4, 'first image in a batch');
    assertClose(both[1]!, ex.forward([x2]).logits[0]!, 1e-5, 'second image in a batch');
  } finally {
    ex.dispose();
  }
});

// ---- hand-written models, checked against NCHW arithmetic ----

function writeModel(m: TestModel): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sglrp-onnx-'));
  const path = join(dir, 'm.onnx');
  writeFileSync(path, onnxBytes(m));
  return { dir, path };
}

/** NCHW [c, h, w] → NHWC, the engine's layout. */
function toNhwc(x: Float32Array, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let k = 0; k < c; k++) for (let y = 0; y < h; y++) for (let z = 0; z < w; z++) out[(y * w + z) * c + k] = x[(k * h + y) * w + z]!;
  return out;
}

/** Plain NCHW convolution with PyTorch's zero padding [top, left, bottom, right]. */
function convNchw(
  x: Float32Array,
  [c, h, w]: [number, number, number],
  wt: Float32Array,
  o: number,
  k: number,
  s: number,
  p: number[],
): { y: Float32Array; dims: number[] } {
  const ho = Math.floor((h + p[0]! + p[2]! - k) / s) + 1;
  const wo = Math.floor((w + p[1]! + p[3]! - k) / s) + 1;
  const y = new Float32Array(o * ho * wo);
  for (let oo = 0; oo < o; oo++)
    for (let i = 0; i < ho; i++)
      for (let j = 0; j < wo; j++) {
        let sum = 0;
        for (let cc = 0; cc < c!; cc++)
          for (let a = 0; a < k; a++)
            for (let b = 0; b < k; b++) {
              const yy = i * s + a - p[0]!;
              const xx = j * s + b - p[1]!;
              if (yy >= 0 && yy < h! && xx >= 0 && xx < w!) sum += wt[((oo * c! + cc) * k + a) * k + b]! * x[(cc * h! + yy) * w! + xx]!;
            }
        y[(oo * ho + i) * wo + j] = sum;
      }
  return { y, dims: [o, ho, wo] };
}

/** PyTorch MaxPool2d(k, s, p, ceil_mode) on NCHW (padding never wins). */
function maxPoolNchw(
  x: Float32Array,
  [c, h, w]: number[],
  k: number,
  s: number,
  p: number,
  ceil: boolean,
): { y: Float32Array; dims: number[] } {
  const out = (n: number) => {
    let o = (ceil ? Math.ceil((n + 2 * p - k) / s) : Math.floor((n + 2 * p - k) / s)) + 1;
    if (ceil && (o - 1) * s >= n + p) o--;
    return o;
  };
  const [ho, wo] = [out(h!), out(w!)];
  const y = new Float32Array(c! * ho * wo);
  for (let cc = 0; cc < c!; cc++)
    for (let i = 0; i < ho; i++)
      for (let j = 0; j < wo; j++) {
        let m = -Infinity;
        for (let a = 0; a < k; a++)
          for (let b = 0; b < k; b++) {
            const yy = i * s + a - p;
            const xx = j * s + b - p;
            if (yy >= 0 && yy < h! && xx >= 0 && xx < w!) m = Math.max(m, x[(cc * h! + yy) * w! + xx]!);
          }
        y[(cc * ho + i) * wo + j] = m;
      }
  return { y, dims: [c!, ho, wo] };
}

test('ONNX Conv (stride 2, symmetric pads) → ReLU → MaxPool (ceil_mode) → Flatten → Gemm equals NCHW arithmetic (rows permuted for NHWC)', async () => {
  await initBackend('cpu');
  const [c, h, w, o, classes] = [2, 9, 9, 3, 4];
  const convW = seeded(o * c * 9, 1);
  const convB = seeded(o, 2);
  const features = o * 3 * 3; // 9 → conv s2 p1: 5 → maxpool k3 s2 p1 ceil: 3
  const gemmW = seeded(classes * features, 3);
  const gemmB = seeded(classes, 4);
  const { dir, path } = writeModel({
    input: [1, c, h, w],
    weights: { cw: [[o, c, 3, 3], convW], cb: [[o], convB], gw: [[classes, features], gemmW], gb: [[classes], gemmB] },
    nodes: [
      {
        op: 'Conv',
        name: '/conv/Conv',
        inputs: ['x', 'cw', 'cb'],
        outputs: ['c1'],
        attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
      },
      { op: 'Relu', name: '/relu/Relu', inputs: ['c1'], outputs: ['r1'] },
      {
        op: 'MaxPool',
        name: '/pool/MaxPool',
        inputs: ['r1'],
        outputs: ['p1'],
        attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 },
      },
      { op: 'Flatten', name: '/Flatten', inputs: ['p1'], outputs: ['f1'], attrs: { axis: 1 } },
      { op: 'Gemm', name: '/fc/Gemm', inputs: ['f1', 'gw', 'gb'], outputs: ['z'], attrs: { transB: 1, alpha: 1.0, beta: 1.0 } },
    ],
    output: 'z',
  });
  try {
    const x = seeded(c * h * w, 5);
    const conv = convNchw(x, [c, h, w], convW, o, 3, 2, [1, 1, 1, 1]);
    conv.y.forEach((v, i) => (conv.y[i] = Math.max(0, v + convB[Math.floor(i / 25)]!)));
    const pool = maxPoolNchw(conv.y, conv.dims, 3, 2, 1, true);
    assert.deepEqual(pool.dims, [o, 3, 3]);
    const want = Array.from({ length: classes }, (_, k) => gemmB[k]! + pool.y.reduce((s, v, f) => s + v * gemmW[k * features + f]!, 0));
    const { model } = importOnnx(path);
    const got = tf.tidy(() => (model.predict(tf.tensor4d(toNhwc(x, c, h, w), [1, h, w, c])) as tf.Tensor).dataSync());
    model.dispose();
    assertClose(got, want, 1e-5, 'logits');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ONNX MatMul + Add becomes one Dense with bias; a constant [1, −1] Reshape flattens each sample of a batch', async () => {
  await initBackend('cpu');
  const [c, h, w, classes] = [3, 2, 2, 5];
  const mw = seeded(c * h * w * classes, 7);
  const mb = seeded(classes, 8);
  const { dir, path } = writeModel({
    input: [1, c, h, w],
    weights: { mw: [[c * h * w, classes], mw], mb: [[classes], mb] },
    ints: { shape: [[2], [1, -1]] },
    nodes: [
      { op: 'Reshape', name: '/Reshape', inputs: ['x', 'shape'], outputs: ['f'] },
      { op: 'MatMul', name: '/fc/MatMul', inputs: ['f', 'mw'], outputs: ['m'] },
      { op: 'Add', name: '/fc/Add', inputs: ['m', 'mb'], outputs: ['z'] },
    ],
    output: 'z',
  });
  try {
    const xs = [seeded(c * h * w, 9), seeded(c * h * w, 10)];
    const { model } = importOnnx(path);
    assert.equal(model.layers.filter((l) => l.getClassName() === 'Dense').length, 1);
    const input = Float32Array.from(xs.flatMap((x) => Array.from(toNhwc(x, c, h, w))));
    const got = tf.tidy(() => (model.predict(tf.tensor4d(input, [2, h, w, c])) as tf.Tensor).dataSync());
    model.dispose();
    xs.forEach((x, b) => {
      const want = Array.from({ length: classes }, (_, k) => mb[k]! + x.reduce((s, v, f) => s + v * mw[f * classes + k]!, 0));
      assertClose(got.slice(b * classes, (b + 1) * classes), want, 1e-5, `sample ${b}`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ONNX load errors name the op, its node and what is supported', () => {
  const base = (nodes: TestModel['nodes']): TestModel => ({
    input: [1, 1, 4, 4],
    weights: { cw: [[1, 1, 3, 3], seeded(9, 1)], gw: [[2, 4], seeded(8, 2)] },
    nodes,
    output: 'z',
  });
  const cases: [string, TestModel['nodes'], RegExp][] = [
    [
      'unsupported op',
      [
        { op: 'Tanh', name: '/act/Tanh', inputs: ['x'], outputs: ['t'] },
        { op: 'GlobalAveragePool', name: '/gap', inputs: ['t'], outputs: ['z'] },
      ],
      /node '\/act\/Tanh' \(Tanh\) is not supported\. Supported ops: Conv, Gemm/,
    ],
    [
      'softmax inside the network',
      [
        { op: 'Softmax', name: '/sm', inputs: ['x'], outputs: ['s'] },
        { op: 'GlobalAveragePool', name: '/gap', inputs: ['s'], outputs: ['z'] },
      ],
      /node '\/sm' \(Softmax\) is only supported as the last node/,
    ],
    [
      'padded max pooling of a signed input',
      [
        { op: 'Conv', name: '/c', inputs: ['x', 'cw'], outputs: ['c'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
        { op: 'MaxPool', name: '/mp', inputs: ['c'], outputs: ['p'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } },
        { op: 'GlobalAveragePool', name: '/gap', inputs: ['p'], outputs: ['z'] },
      ],
      /node '\/mp' \(MaxPool\) pads \[1, 1, 1, 1\].*may be negative/,
    ],
    [
      'a bounded activation other than ReLU6',
      [
        { op: 'Clip', name: '/ht', inputs: ['x'], outputs: ['h'], attrs: { min: -1.5, max: 1.5 } },
        { op: 'GlobalAveragePool', name: '/gap', inputs: ['h'], outputs: ['z'] },
      ],
      /node '\/ht' \(Clip\) clips to \[-1\.5, 1\.5\].*docs\/PROTOCOL\.md §7/,
    ],
    [
      'a convolution whose weight does not fit its input',
      [{ op: 'Conv', name: '/dw', inputs: ['x', 'cw'], outputs: ['z'], attrs: { kernel_shape: [3, 3], group: 2 } }],
      /node '\/dw' \(Conv\) has weight \[1, 1, 3, 3\] and group 2 for a 1-channel input/,
    ],
  ];
  for (const [what, nodes, re] of cases) {
    const { dir, path } = writeModel(base(nodes));
    try {
      assert.throws(() => importOnnx(path), re, what);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('ONNX external data: read from the model folder; a missing file is a clear error', () => {
  const fx = readFixture('alexnet');
  const dir = mkdtempSync(join(tmpdir(), 'sglrp-onnx-'));
  try {
    writeFileSync(join(dir, fx.model), readFileSync(join(FIXTURES, fx.model)));
    assert.throws(
      () => importOnnx(join(dir, fx.model)),
      /external data file .*alexnet\.onnx\.data is missing; keep it next to the \.onnx file/,
    );
    assert.throws(() => importOnnx(join(dir, 'nothing.onnx')), /ONNX model not found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
