import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../engine/backend.js';
import { ExplainEngine } from '../../engine/explain-engine.js';
import { runSync } from '../../engine/reads.js';
import { SUPPORTED_LAYERS } from '../../engine/model-loader.js';
import { saveLayersModel } from '../../engine/model-saver.js';
import { resolveTarget } from '../../engine/targets.js';
import { METHOD_NAMES } from '../../engine/types.js';
import { projectRoot } from '../../io/project-root.js';
import { loadConfig, PRESET_INPUT_BOUNDS, type Preprocess } from '../../pipeline/config.js';
import {
  buildDenseNet121,
  buildInceptionV3,
  buildResNet50,
  buildTinyDenseNet,
  buildTinyInception,
  buildTinyResNet,
  type ArchOptions,
} from '../util/architectures.js';
import { randomImage } from '../util/models.js';

/**
 * ResNet50, DenseNet121 and InceptionV3 as keras.applications builds them (test/util/architectures.ts):
 * parameter counts and layer classes/names against Keras', a saved LayersModel that reloads and
 * predicts a 1000-way softmax, and one image explained end to end on wasm with every method (the
 * engine's forward pass checked against model.predict, the Grad-CAM default against the family's
 * last block). The explain tests skip, naming the classes, only while the engine's SUPPORTED_LAYERS
 * lacks a layer class of the model. The tiny variants (32×32, same layer kinds) are explained too.
 */

interface Family {
  name: string;
  build: (o?: ArchOptions) => tf.LayersModel;
  tiny: (o?: ArchOptions) => tf.LayersModel;
  size: number;
  preset: Preprocess;
  /** keras.applications' parameter count (trainable + BN moving statistics). */
  params: number;
  /** Layers per Keras class, counted from the Keras sources (model.layers, input included). */
  classes: Record<string, number>;
  /** Names Keras gives, in order of appearance. */
  names: string[];
  /** Grad-CAM default: the last conv block's output. */
  gradcam: string;
  tinyGradcam: string;
  config: string;
}

const FAMILIES: Family[] = [
  {
    name: 'ResNet50',
    build: buildResNet50,
    tiny: buildTinyResNet,
    size: 224,
    preset: 'caffe',
    params: 25_636_712,
    // conv1 + 16 blocks × 3 + 4 projection shortcuts = 53 convs, each with its BN; relus: conv1 + 16 × 3.
    classes: {
      InputLayer: 1,
      ZeroPadding2D: 2,
      Conv2D: 53,
      BatchNormalization: 53,
      Activation: 49,
      MaxPooling2D: 1,
      Add: 16,
      GlobalAveragePooling2D: 1,
      Dense: 1,
    },
    names: [
      'input_1',
      'conv1_pad',
      'conv1_conv',
      'conv1_bn',
      'conv1_relu',
      'pool1_pad',
      'pool1_pool',
      'conv2_block1_1_conv',
      'conv2_block1_0_conv',
      'conv2_block1_add',
      'conv2_block1_out',
      'conv3_block4_out',
      'conv4_block6_out',
      'conv5_block3_3_bn',
      'conv5_block3_add',
      'conv5_block3_out',
      'avg_pool',
      'predictions',
    ],
    gradcam: 'conv5_block3_out',
    tinyGradcam: 'conv3_block1_out',
    config: 'imagenet-resnet50.yaml',
  },
  {
    name: 'DenseNet121',
    build: buildDenseNet121,
    tiny: buildTinyDenseNet,
    size: 224,
    preset: 'torch',
    params: 8_062_504,
    // 58 conv blocks (BN, relu, 1×1, BN, relu, 3×3, concat) + 3 transitions (BN, relu, 1×1, avg pool) + stem + final BN/relu.
    classes: {
      InputLayer: 1,
      ZeroPadding2D: 2,
      Conv2D: 120,
      BatchNormalization: 121,
      Activation: 121,
      MaxPooling2D: 1,
      Concatenate: 58,
      AveragePooling2D: 3,
      GlobalAveragePooling2D: 1,
      Dense: 1,
    },
    names: [
      'input_1',
      'zero_padding2d',
      'conv1/conv',
      'conv1/bn',
      'conv1/relu',
      'zero_padding2d_1',
      'pool1',
      'conv2_block1_0_bn',
      'conv2_block1_0_relu',
      'conv2_block1_1_conv',
      'conv2_block1_1_bn',
      'conv2_block1_1_relu',
      'conv2_block1_2_conv',
      'conv2_block1_concat',
      'conv2_block6_concat',
      'pool2_bn',
      'pool2_relu',
      'pool2_conv',
      'pool2_pool',
      'conv4_block24_concat',
      'pool4_pool',
      'conv5_block16_concat',
      'bn',
      'relu',
      'avg_pool',
      'predictions',
    ],
    gradcam: 'relu',
    tinyGradcam: 'relu',
    config: 'imagenet-densenet121.yaml',
  },
  {
    name: 'InceptionV3',
    build: buildInceptionV3,
    tiny: buildTinyInception,
    size: 299,
    preset: 'tf',
    params: 23_851_784,
    // 94 conv2d_bn units; 4 max pools (stem ×2, mixed3, mixed8), 9 avg-pool branches; 11 mixed + mixed9_0/1 + 2 unnamed concats.
    classes: {
      InputLayer: 1,
      Conv2D: 94,
      BatchNormalization: 94,
      Activation: 94,
      MaxPooling2D: 4,
      AveragePooling2D: 9,
      Concatenate: 15,
      GlobalAveragePooling2D: 1,
      Dense: 1,
    },
    names: [
      'input_1',
      'conv2d',
      'batch_normalization',
      'activation',
      'conv2d_1',
      'max_pooling2d',
      'average_pooling2d',
      'conv2d_5',
      'mixed0',
      'mixed3',
      'mixed7',
      'mixed8',
      'mixed9_0',
      'concatenate',
      'mixed9',
      'mixed9_1',
      'concatenate_1',
      'mixed10',
      'avg_pool',
      'predictions',
    ],
    gradcam: 'mixed10',
    tinyGradcam: 'mixed3',
    config: 'imagenet-inceptionv3.yaml',
  },
];

interface LayerJson {
  class_name: string;
  config: Record<string, unknown> & { name: string };
  inbound_nodes: unknown[];
}

function savedLayers(modelJsonPath: string): LayerJson[] {
  const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as {
    modelTopology: { model_config?: { config: { layers: LayerJson[] } }; config?: { layers: LayerJson[] } };
  };
  const t = json.modelTopology;
  return (t.model_config ?? t).config!.layers;
}

function countBy<T>(xs: T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

/** Reloads a saved model.json + weights.bin through TF.js itself (independent of the engine's loader). */
async function reload(modelJsonPath: string): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  const bin = readFileSync(join(dirname(modelJsonPath), json.weightsManifest[0]!.paths[0]!));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0]!.weights, weightData }),
  );
}

/**
 * Why the explain tests must skip: '' once the engine's loader lists every layer class of the model
 * (SUPPORTED_LAYERS). Only missing classes skip — the functional-graph engine not having landed —
 * and anything else the loader rejects then fails the test with its message.
 */
function engineLacks(modelJsonPath: string): string {
  const supported = new Set<string>(SUPPORTED_LAYERS);
  const missing = [...new Set(savedLayers(modelJsonPath).map((l) => l.class_name))].filter((c) => !supported.has(c));
  return missing.length === 0 ? '' : `the engine does not support ${missing.join(', ')} yet`;
}

/** The image every test of a family uses (seeded, uniform over the preset's pixel range). */
function testImage(size: number, preset: Preprocess): Float32Array {
  const [low, high] = PRESET_INPUT_BOUNDS[preset];
  return randomImage(size * size * 3, 29, low, high);
}

/** model.predict's probabilities of testImage, per saved model path (set by the build tests). */
const predicted = new Map<string, Float32Array>();

const tmp = mkdtempSync(join(tmpdir(), 'sglrp-arch-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
before(async () => {
  await initBackend('wasm');
});

/** Explains one image with every method for top1 and top2; checks maps and the Grad-CAM default. */
async function explainEndToEnd(t: TestContext, path: string, size: number, preset: Preprocess, gradcam: string): Promise<void> {
  const reason = engineLacks(path);
  if (reason) {
    t.skip(reason);
    return;
  }
  const [low, high] = PRESET_INPUT_BOUNDS[preset];
  const ex = await ExplainEngine.load(path, { backend: 'wasm', inputBounds: { low, high } });
  try {
    assert.equal(ex.backend, 'wasm');
    assert.deepEqual(ex.inputShape, [size, size, 3]);
    assert.equal(ex.gradcamNode('paper').name, gradcam, 'Grad-CAM default layer');
    const x = testImage(size, preset);
    const res = runSync(
      ex.explainSteps([x], (_i, _probs, logits) => [resolveTarget('top1', logits, -1), resolveTarget('top2', logits, -1)], {
        methods: [...METHOD_NAMES],
        variant: 'paper',
        seed: 0,
        imageIds: ['arch'],
      }),
    );
    assert.equal(res.explanations.length, METHOD_NAMES.length * 2);
    // The engine's graph (BatchNormalization folded or not) computes what TF.js' own model computes.
    const want = predicted.get(path);
    if (want) {
      const got = res.forward.probs[0]!;
      const worst = Math.max(...want.map((v, i) => Math.abs(v - got[i]!) / (1e-6 + v)));
      t.diagnostic(`max relative difference of the probabilities vs model.predict: ${worst.toExponential(2)}`);
      assert.ok(worst < 1e-3, `the engine's forward pass differs from model.predict (max relative difference ${worst})`);
    }
    const [top1, top2] = [
      res.explanations[0]!.target.classIndex,
      res.explanations.find((e) => e.target.kind === 'top2')!.target.classIndex,
    ];
    assert.notEqual(top1, top2);
    for (const e of res.explanations) {
      const what = `${e.method} → ${e.target.kind}`;
      assert.equal(e.map.length, size * size, what);
      assert.ok(e.map.every(Number.isFinite), `${what} has non-finite values`);
      assert.ok(
        e.map.some((v) => v !== 0),
        `${what} is all zero`,
      );
      if (e.method !== 'random')
        assert.ok(
          e.map.some((v) => v > 0),
          `${what} has no positive value`,
        );
    }
    t.diagnostic(
      `timings (ms): ${Object.entries(res.timings)
        .map(([k, v]) => `${k} ${v.toFixed(0)}`)
        .join(', ')}`,
    );
  } finally {
    ex.dispose();
  }
}

for (const fam of FAMILIES) {
  describe(fam.name, () => {
    const path = join(tmp, fam.name, 'model.json');

    test(`builds as Keras does (${fam.params.toLocaleString('en')} parameters), saves, reloads and predicts a 1000-way softmax`, async () => {
      const model = fam.build();
      try {
        assert.equal(model.countParams(), fam.params);
        assert.deepEqual(model.inputs[0]!.shape, [null, fam.size, fam.size, 3]);
        assert.deepEqual(model.outputs[0]!.shape, [null, 1000]);
        await saveLayersModel(model, dirname(path));

        const layers = savedLayers(path);
        assert.deepEqual(
          countBy(layers, (l) => l.class_name),
          fam.classes,
        );
        const names = layers.map((l) => l.config.name);
        assert.equal(new Set(names).size, names.length, 'layer names are unique');
        const positions = fam.names.map((n) => names.indexOf(n));
        fam.names.forEach((n, i) => assert.ok(positions[i]! >= 0, `no layer named '${n}'`));
        assert.deepEqual(
          [...positions].sort((a, b) => a - b),
          positions,
          'Keras layer order',
        );
        const last = layers[layers.length - 1]!;
        assert.equal(last.config['activation'], 'softmax');
        for (const l of layers) {
          const c = l.config;
          if (l.class_name === 'BatchNormalization') {
            assert.equal(c['epsilon'], fam.name === 'InceptionV3' ? 0.001 : 1.001e-5, c.name);
            assert.equal(c['scale'], fam.name !== 'InceptionV3', c.name);
          }
          if (l.class_name === 'Conv2D') assert.equal(c['use_bias'], fam.name === 'ResNet50', c.name);
          if (l.class_name === 'Activation') assert.equal(c['activation'], 'relu', c.name);
        }

        const x = tf.tensor4d(testImage(fam.size, fam.preset), [1, fam.size, fam.size, 3]);
        const y = model.predict(x) as tf.Tensor;
        const p = y.dataSync() as Float32Array;
        assert.deepEqual(y.shape, [1, 1000]);
        assert.ok(
          p.every((v) => Number.isFinite(v) && v >= 0),
          'probabilities are finite and non-negative',
        );
        assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-4, 'probabilities sum to 1');
        assert.ok(Math.max(...p) < 0.5, `a random model's softmax is not one-hot (max ${Math.max(...p)})`);
        predicted.set(path, p);

        const again = await reload(path);
        const y2 = again.predict(x) as tf.Tensor;
        const p2 = y2.dataSync() as Float32Array;
        assert.ok(
          p.every((v, i) => Math.abs(v - p2[i]!) <= 1e-6 + 1e-4 * v),
          'the reloaded model predicts the same',
        );
        assert.deepEqual(
          again.layers.map((l) => l.name),
          names,
        );
        tf.dispose([x, y, y2]);
        again.dispose();
      } finally {
        model.dispose();
      }
    });

    test(`explained end to end on wasm at ${fam.size}×${fam.size} (all methods, top1 + top2; Grad-CAM on ${fam.gradcam})`, async (t) => {
      assert.ok(existsSync(path), 'the build test saved the model');
      await explainEndToEnd(t, path, fam.size, fam.preset, fam.gradcam);
    });

    test(`tiny variant: same layer kinds, explained end to end on wasm at 32×32 (Grad-CAM on ${fam.tinyGradcam})`, async (t) => {
      const model = fam.tiny();
      const twin = fam.tiny();
      assert.ok(
        twin.getWeights().every((w, i) => tf.tidy(() => tf.equal(w, model.getWeights()[i]!).all().dataSync()[0] === 1)),
        'the builder is deterministic (seeded initializers and calibration)',
      );
      twin.dispose();
      const kinds = new Set(model.layers.map((l) => l.getClassName()));
      assert.deepEqual([...kinds].sort(), Object.keys(fam.classes).sort(), 'every layer kind of the full model');
      const tinyPath = join(tmp, `${fam.name}-tiny`, 'model.json');
      await saveLayersModel(model, dirname(tinyPath));
      predicted.set(
        tinyPath,
        tf.tidy(() => (model.predict(tf.tensor4d(testImage(32, fam.preset), [1, 32, 32, 3])) as tf.Tensor).dataSync() as Float32Array),
      );
      model.dispose();
      await explainEndToEnd(t, tinyPath, 32, fam.preset, fam.tinyGradcam);
    });

    test(`configs/${fam.config} parses: preset ${fam.preset}, size ${fam.size}, Grad-CAM layer ${fam.gradcam}`, async () => {
      const c = await loadConfig(join(projectRoot(), 'configs', fam.config));
      assert.equal(c.name, fam.config.replace(/\.yaml$/, ''));
      assert.equal(c.dataset.kind, 'imagenet');
      assert.equal(c.model.preprocess, fam.preset);
      assert.equal(c.model.size, fam.size);
      assert.equal(c.model.geometry, 'resize');
      assert.equal(c.model.classes, 'imagenet');
      assert.equal(c.model.gradcamLayer, fam.gradcam);
      assert.deepEqual(c.model.inputBounds, PRESET_INPUT_BOUNDS[fam.preset]);
      assert.equal(c.variant, 'paper');
      assert.deepEqual(c.methods, [...METHOD_NAMES]);
    });
  });
}

test('keras3 naming: DenseNet stem conv1_conv/conv1_bn/conv1_relu, input input_layer; other families unchanged', () => {
  const d = buildTinyDenseNet({ naming: 'keras3' });
  const names = d.layers.map((l) => l.name);
  for (const n of ['input_layer', 'zero_padding2d', 'conv1_conv', 'conv1_bn', 'conv1_relu', 'zero_padding2d_1', 'pool1'])
    assert.ok(names.includes(n), n);
  assert.ok(!names.some((n) => n.includes('/')));
  const r = buildTinyResNet({ naming: 'keras3' });
  const r2 = buildTinyResNet();
  assert.deepEqual(
    r.layers.slice(1).map((l) => l.name),
    r2.layers.slice(1).map((l) => l.name),
  );
  assert.equal(r.layers[0]!.name, 'input_layer');
  [d, r, r2].forEach((m) => m.dispose());
});
