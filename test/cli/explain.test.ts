import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import yargs from 'yargs';

import { initBackend } from '../../engine/backend.js';
import { ExplainEngine } from '../../engine/explain-engine.js';
import { runSync } from '../../engine/reads.js';
import { saveLayersModel } from '../../engine/model-saver.js';
import { resolveTarget } from '../../engine/targets.js';
import { METHOD_NAMES, type MethodName } from '../../engine/types.js';
import { gridLayout } from '../../io/heatmap.js';
import { encodeNpy, readNpy, writeNpy } from '../../io/npy.js';
import { presetBounds } from '../../io/preprocess.js';
import {
  EXPLAIN_COMMAND,
  explainCommandOptions,
  parseExplainArgs,
  runExplain,
  type InputSummaryJson,
} from '../../pipeline/explain-command.js';
import { uniqueStems } from '../../pipeline/explain-inputs.js';
import { NpyStreamWriter, npyHeader } from '../../pipeline/explain-npy-stream.js';
import { RAW_METHODS } from '../../pipeline/explain-outputs.js';
import { buildTinyCnn, randomImage } from '../util/models.js';

const S = 16; // input side
const C = 3;
const CLASS_NAMES = ['cat', 'dog', 'bird', 'fish'];
const CAFFE = presetBounds('caffe', 3);
const quiet = () => undefined;

let dir: string;
let modelPath: string;
let classesPath: string;
let jpgPath: string;
let batchPath: string; // 2×16×16×3
let singlePath: string; // 16×16×3
let batchData: Float32Array;

before(async () => {
  await initBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'sglrp-explain-'));
  const model = buildTinyCnn({ size: S, classes: CLASS_NAMES.length, seed: 11 });
  modelPath = await saveLayersModel(model, join(dir, 'model'));
  model.dispose();
  classesPath = join(dir, 'classes.txt');
  writeFileSync(classesPath, CLASS_NAMES.join('\n') + '\n');
  // A non-square photo, so the decoder's resize to 16×16 is exercised.
  const px = Uint8Array.from(randomImage(24 * 20 * 3, 5, 0, 255), (v) => Math.floor(v));
  jpgPath = join(dir, 'photo.jpg');
  await sharp(Buffer.from(px), { raw: { width: 24, height: 20, channels: 3 } })
    .jpeg()
    .toFile(jpgPath);
  // Small values keep this random net's logits moderate, so no two probabilities tie at 0 in float32.
  batchData = randomImage(2 * S * S * C, 9, -2, 2);
  batchPath = join(dir, 'batch.npy');
  await writeNpy(batchPath, batchData, [2, S, S, C]);
  singlePath = join(dir, 'single.npy');
  await writeNpy(singlePath, randomImage(S * S * C, 13, CAFFE.low, CAFFE.high), [S, S, C]);
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** Every file one input must produce (names relative to the output folder). */
function expectedFiles(stem: string, prefixes: string[], targets: string[], methods: readonly MethodName[]): string[] {
  const out = [`${stem}_summary.json`];
  for (const t of targets) {
    for (const m of methods) {
      out.push(`${stem}_${m}_${t}.npy`);
      if (RAW_METHODS.includes(m)) out.push(`${stem}_${m}_${t}_raw.npy`);
      for (const p of prefixes) out.push(`${p}_${m}_${t}.png`);
    }
  }
  for (const p of prefixes) out.push(`${p}_grid.png`);
  return out;
}

function positiveChannelSumRef(raw: Float32Array, c: number): Float64Array {
  const out = new Float64Array(raw.length / c);
  for (let i = 0; i < raw.length; i++) out[Math.floor(i / c)]! += Math.max(raw[i]!, 0);
  return out;
}

describe('sglrp explain (runExplain)', () => {
  const targets = ['top1', 'top2', 'gt', 'bird'];
  let out: string;
  let summary: Awaited<ReturnType<typeof runExplain>>;

  before(async () => {
    out = join(dir, 'out');
    summary = await runExplain(
      {
        inputs: [jpgPath, batchPath, singlePath],
        model: modelPath,
        out,
        target: ['top1,top2', 'gt', 'bird'],
        label: 1,
        classes: classesPath,
        backend: 'wasm',
      },
      { log: quiet },
    );
  });

  test('writes exactly the expected maps, raw relevance, heatmaps, grids and summaries, and nothing else', () => {
    assert.equal(summary.exitCode, 0, JSON.stringify(summary.errors));
    assert.equal(summary.failed, 0);
    assert.deepEqual(summary.methods, [...METHOD_NAMES]);
    const want = [
      ...expectedFiles('photo', ['photo'], targets, METHOD_NAMES),
      ...expectedFiles('batch', ['batch_0', 'batch_1'], targets, METHOD_NAMES),
      ...expectedFiles('single', ['single'], targets, METHOD_NAMES),
    ].sort();
    // No temporary files left behind, no unexpected names.
    assert.deepEqual(readdirSync(out).sort(), want);
    assert.equal(
      summary.inputs.reduce((s, r) => s + r.files.length, 0),
      want.length,
    );
    assert.deepEqual(
      summary.inputs.map((r) => r.images),
      [1, 2, 1],
    );
  });

  test('maps are H×W (an .npy batch stacked N×H×W), raw relevance H×W×C, and the paper map is the positive channel sum of the raw one', async () => {
    for (const [stem, lead] of [
      ['photo', []],
      ['single', []],
      ['batch', [2]],
    ] as const) {
      for (const m of METHOD_NAMES) {
        const map = await readNpy(join(out, `${stem}_${m}_top1.npy`));
        assert.deepEqual(map.shape, [...lead, S, S], `${stem} ${m}`);
        if (!RAW_METHODS.includes(m)) continue;
        const raw = await readNpy(join(out, `${stem}_${m}_top1_raw.npy`));
        assert.deepEqual(raw.shape, [...lead, S, S, C], `${stem} ${m} raw`);
        if (m === 'ggcam') continue; // Guided Grad-CAM's map is GBP's map times the CAM, not a sum of its raw signal
        const ref = positiveChannelSumRef(raw.data, C);
        ref.forEach((v, p) =>
          assert.ok(Math.abs(map.data[p]! - v) <= 1e-5 * (Math.abs(v) + 1e-3), `${stem} ${m} pixel ${p}: ${map.data[p]} vs ${v}`),
        );
      }
      // (The positive-part map may be all zero when z_t < 0 in this random net; the raw signal may not.)
      const raw = await readNpy(join(out, `${stem}_lrp_top1_raw.npy`));
      assert.ok(
        raw.data.some((v) => v !== 0),
        `${stem}: the LRP relevance is all zero`,
      );
    }
  });

  test("batch element i of the stacked file is the engine's map for element i explained alone", async () => {
    const ex = await ExplainEngine.load(modelPath, { backend: 'wasm', inputBounds: CAFFE });
    try {
      const per = S * S * C;
      const x1 = batchData.slice(per, 2 * per);
      const res = runSync(
        ex.explainSteps([x1], (_i, probs) => [resolveTarget('top2', probs, -1)], {
          methods: ['sglrp', 'gradcam'],
          variant: 'paper',
          seed: 0,
          imageIds: ['x'],
        }),
      );
      for (const m of ['sglrp', 'gradcam'] as const) {
        const direct = res.explanations.find((e) => e.method === m)!.map;
        const stacked = (await readNpy(join(out, `batch_${m}_top2.npy`))).data.subarray(S * S, 2 * S * S);
        const scale = Math.max(...direct.map(Math.abs), 1e-30);
        direct.forEach((v, p) => assert.ok(Math.abs(stacked[p]! - v) <= 1e-5 * scale, `${m} pixel ${p}: ${stacked[p]} vs ${v}`));
      }
    } finally {
      ex.dispose();
    }
  });

  test('the summary JSON records backend, variant, logits, top-5 with names and the resolved targets', () => {
    const s = JSON.parse(readFileSync(join(out, 'batch_summary.json'), 'utf8')) as InputSummaryJson;
    assert.equal(s.backend, 'wasm');
    assert.equal(s.variant, 'paper');
    assert.equal(s.kind, 'npy');
    assert.deepEqual(s.inputShape, [S, S, C]);
    assert.deepEqual(s.inputBounds, [CAFFE.low, CAFFE.high]);
    assert.equal(s.images.length, 2);
    for (const im of s.images) {
      assert.equal(im.logits.length, 4);
      // Softmax of the logits, computed here independently.
      const mx = Math.max(...im.logits);
      const e = im.logits.map((z) => Math.exp(z - mx));
      const probs = e.map((v) => v / e.reduce((a, b) => a + b, 0));
      const order = [0, 1, 2, 3].sort((a, b) => probs[b]! - probs[a]!);
      assert.equal(new Set(probs).size, 4, 'test setup: the four probabilities must differ');
      assert.deepEqual(
        im.top5.map((t) => t.classIndex),
        order,
        'top-5 is by decreasing probability (4 classes here)',
      );
      im.top5.forEach((t) => {
        assert.equal(t.name, CLASS_NAMES[t.classIndex]);
        assert.ok(Math.abs(t.probability - probs[t.classIndex]!) < 1e-5);
      });
      assert.deepEqual(
        im.targets.map((t) => t.spec),
        targets,
      );
      assert.deepEqual(
        im.targets.map((t) => [t.kind, t.classIndex]),
        [
          ['top1', order[0]],
          ['top2', order[1]],
          ['gt', 1],
          ['index', 2],
        ],
      );
      assert.equal(im.targets[3]!.name, 'bird');
    }
    const photo = JSON.parse(readFileSync(join(out, 'photo_summary.json'), 'utf8')) as InputSummaryJson;
    assert.equal(photo.kind, 'image');
    assert.deepEqual(photo.images[0]!.originalSize, [24, 20]);
    assert.ok(photo.timingsMs['forward']! >= 0 && photo.timingsMs['lrp']! >= 0 && photo.timingsMs['decode']! >= 0);
    assert.equal(summary.backend, 'wasm');
    assert.deepEqual(summary.targets, targets);
  });

  test('heatmap PNGs are H×W RGB over the image; the grid has a row per target and the input plus every method per row', async () => {
    const png = await sharp(join(out, 'photo_sglrp_top2.png')).metadata();
    assert.deepEqual([png.format, png.width, png.height, png.channels], ['png', S, S, 3]);
    const grid = await sharp(join(out, 'batch_1_grid.png')).metadata();
    const tile = { title: 't', rgb: new Uint8Array(S * S * 3), h: S, w: S };
    const layout = gridLayout(targets.map(() => ({ label: 'x', tiles: Array.from({ length: 1 + METHOD_NAMES.length }, () => tile) })));
    assert.deepEqual([grid.width, grid.height], [layout.width, layout.height]);
  });

  test(
    'numpy reads a stacked map with the same shape and values',
    { skip: !hasNumpy() && 'python3 with numpy is not installed' },
    async () => {
      const file = join(out, 'batch_clrp_top1_raw.npy');
      const r = spawnSync(
        'python3',
        ['-c', 'import sys, numpy as np; a = np.load(sys.argv[1]); print(a.dtype, a.shape, repr(float(a.astype(np.float64).sum())))', file],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      const [dtype, ...rest] = r.stdout.trim().split(' ');
      assert.equal(dtype, 'float32');
      const js = await readNpy(file);
      assert.equal(rest.slice(0, -1).join(' '), '(2, 16, 16, 3)');
      const sum = js.data.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(Number(rest.at(-1)) - sum) <= 1e-4 * (Math.abs(sum) + 1e-6), `${rest.at(-1)} vs ${sum}`);
    },
  );
});

function hasNumpy(): boolean {
  return spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
}

describe('explain with bad inputs', () => {
  test('an unreadable image is reported by name; the other input is still written; exit code 1', async () => {
    const bad = join(dir, 'broken.jpg');
    writeFileSync(bad, Buffer.from('this is not a JPEG at all'));
    const wrongShape = join(dir, 'wrong.npy');
    await writeNpy(wrongShape, new Float32Array(8 * 8 * 3), [8, 8, 3]);
    const out = join(dir, 'out-bad');
    const lines: string[] = [];
    const s = await runExplain(
      { inputs: [bad, singlePath, wrongShape], model: modelPath, out, methods: 'lrp,gradcam', target: 'top1' },
      { log: (l) => lines.push(l) },
    );
    assert.equal(s.exitCode, 1);
    assert.equal(s.failed, 2);
    assert.equal(s.errors[0]!.file, bad);
    assert.match(s.errors[0]!.message, /broken\.jpg/);
    assert.match(s.errors[0]!.message, /not an image|corrupt/);
    assert.match(s.errors[1]!.message, /wrong\.npy.*shape \(8, 8, 3\).*16×16×3/);
    assert.ok(
      lines.some((l) => l.includes('broken.jpg')),
      'the error is logged',
    );
    assert.deepEqual(readdirSync(out).sort(), expectedFiles('single', ['single'], ['top1'], ['lrp', 'gradcam']).sort());
  });

  test('a missing model file is a clear error naming it', async () => {
    const missing = join(dir, 'nope', 'model.json');
    await assert.rejects(runExplain({ inputs: [jpgPath], model: missing, out: join(dir, 'o2') }, { log: quiet }), (e: Error) => {
      assert.match(e.message, /--model .*nope.*model\.json: no such file/);
      return true;
    });
    assert.equal(existsSync(join(dir, 'o2')), false, 'nothing is created before the model loads');
  });

  test('command-level mistakes are refused with the flag named', async () => {
    const base = { inputs: [jpgPath], model: modelPath, out: join(dir, 'o3') };
    const refuses = (args: object, re: RegExp) => assert.rejects(runExplain({ ...base, ...args }, { log: quiet }), re);
    await refuses({ target: 'gt' }, /--target gt needs .*--label/);
    await refuses({ methods: 'lrp,magic' }, /--methods: unknown method 'magic'/);
    await refuses({ 'input-bounds': '5,1' }, /--input-bounds 5,1: expected LOW,HIGH with LOW < HIGH/);
    await refuses({ target: '9' }, /--target 9: the model has 4 classes/);
    await refuses({ target: 'zebra' }, /--target zebra: a wnid or class name needs a class list/);
    await refuses({ target: 'zebra', classes: classesPath }, /--target zebra: unknown class "zebra"/);
    await refuses({ classes: 'imagenet' }, /--classes imagenet: the list has 1000 classes but the model has 4/);
    await refuses({ 'gradcam-layer': 'nosuch' }, /--gradcam-layer nosuch/);
    await refuses({ variant: 'paperish' }, /--variant paperish: expected one of paper, reference/);
  });

  test('a model folder works in place of model.json; the reference variant and a single method run', async () => {
    const out = join(dir, 'o4');
    const s = await runExplain(
      { inputs: [jpgPath], model: join(dir, 'model'), out, methods: 'sglrp', variant: 'reference', target: '3' },
      { log: quiet },
    );
    assert.equal(s.exitCode, 0);
    assert.deepEqual(readdirSync(out).sort(), expectedFiles('photo', ['photo'], ['3'], ['sglrp']).sort());
    const j = JSON.parse(readFileSync(join(out, 'photo_summary.json'), 'utf8')) as InputSummaryJson;
    assert.equal(j.variant, 'reference');
  });
});

describe('explain command line (yargs builder)', () => {
  const parse = async (args: string[]) =>
    yargs(['explain', ...args])
      .command(EXPLAIN_COMMAND, '', explainCommandOptions)
      .strict()
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new Error(msg);
      })
      .parseAsync();

  test('declares every flag: repeatable and comma targets, negative bounds, defaults', async () => {
    const argv = await parse([
      '--target',
      'top2',
      'a.jpg',
      'b.npy',
      '--model',
      'm/model.json',
      '--out',
      'o',
      '--target',
      'top1,340',
      '--input-bounds=-123.68,151.061',
      '--methods',
      'lrp,sglrp',
      '--label',
      '3',
      '--seed',
      '7',
      '--gradcam-layer',
      'block5_conv3',
      '--backend',
      'wasm',
      '--classes',
      'imagenet',
    ]);
    const cfg = parseExplainArgs(argv as never);
    assert.deepEqual(
      cfg.inputs.map((p) => p.split('/').pop()),
      ['a.jpg', 'b.npy'],
    );
    assert.deepEqual(cfg.targets, ['top2', 'top1', '340']);
    assert.deepEqual(cfg.inputBounds, { low: -123.68, high: 151.061 });
    assert.deepEqual(cfg.methods, ['lrp', 'sglrp']);
    assert.equal(cfg.label, 3);
    assert.equal(cfg.seed, 7);
    assert.equal(cfg.gradcamLayer, 'block5_conv3');
    assert.equal(cfg.backend, 'wasm');
    assert.equal(cfg.classes, 'imagenet');
    assert.equal(cfg.variant, 'paper');
    // Absent flags stay absent: runExplain fills them from the model's sglrp.json, else caffe/resize.
    assert.equal(cfg.preprocess, undefined);
    assert.equal(cfg.geometry, undefined);
  });

  test('--input-bounds takes its value after a space even when LOW is negative', async () => {
    const cfg = parseExplainArgs((await parse(['x.png', '--input-bounds', '-1,1', '--model', 'm', '--out', 'o'])) as never);
    assert.deepEqual(cfg.inputBounds, { low: -1, high: 1 });
    assert.deepEqual(
      cfg.inputs.map((p) => p.split('/').pop()),
      ['x.png'],
    );
    assert.equal(
      parseExplainArgs((await parse(['x.png', '--model', 'm', '--out', 'o', '--preprocess', 'torch'])) as never).preprocess,
      'torch',
    );
  });

  test('defaults: all seven methods, target top1, auto backend', async () => {
    const cfg = parseExplainArgs((await parse(['x.png', '--model', 'm', '--out', 'o'])) as never);
    assert.deepEqual(cfg.methods, [...METHOD_NAMES]);
    assert.deepEqual(cfg.targets, ['top1']);
    assert.equal(cfg.backend, 'auto');
    assert.equal(cfg.inputBounds, undefined);
  });

  test('--model and --out are required', async () => {
    await assert.rejects(parse(['x.png', '--out', 'o']), /model/);
    await assert.rejects(parse(['x.png', '--model', 'm']), /out/);
  });
});

describe('explain helpers', () => {
  test('the streamed .npy header is byte-identical to io/npy.ts for any shape', () => {
    for (const shape of [[5], [16, 16], [2, 16, 16], [3, 224, 224, 3], [1, 1, 1, 1, 1]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const full = encodeNpy(new Float32Array(n), shape);
      assert.deepEqual(npyHeader(shape), full.subarray(0, full.length - 4 * n), `shape ${shape}`);
    }
  });

  test('a stream written in pieces reads back whole; an incomplete one leaves no file', async () => {
    const path = join(dir, 'stream.npy');
    const w = await NpyStreamWriter.create(path, [3, 2]);
    await w.append(new Float32Array([1, 2]));
    await w.append(new Float32Array([3, 4, 5, 6]));
    await w.close();
    assert.deepEqual(await readNpy(path), { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [3, 2] });
    const partial = join(dir, 'partial.npy');
    const p = await NpyStreamWriter.create(partial, [2, 2]);
    await p.append(new Float32Array([1, 2]));
    await assert.rejects(p.close(), /received 2 of the 4 values/);
    assert.equal(
      readdirSync(dir).some((f) => f.startsWith('partial.npy')),
      false,
    );
  });

  test('input stems are made unique so outputs never overwrite each other', () => {
    assert.deepEqual(uniqueStems(['/a/cat.jpg', '/b/cat.png', '/c/cat.npy', '/d/dog.jpg']), ['cat', 'cat-2', 'cat-3', 'dog']);
  });
});
