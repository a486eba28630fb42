/**
 * A run that says "complete" is complete, with one model and one config (docs/PROTOCOL.md §9):
 * the attacks of a fault-injection review, each replayed through the real CLI — swapped model
 * weights, a deleted config.yaml, a model.size the model does not take, a stray manifest, bad
 * --limit values, deterministic setup errors, usage errors and their exit codes, the summary of
 * images that could not be evaluated, and report inputs that must be refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  truncateSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { initBackend } from '../../engine/backend.js';
import { mergedTables, saveDigitsLikeModel, writeRunConfig } from '../util/run-fixture.js';
import { cli, killAt } from './cli-child.js';

const dir = mkdtempSync(join(tmpdir(), 'sglrp-integrity-'));
let modelPath = '';
let cfg = '';
let baseline: Record<string, string[]> = {};
const BASE_MODEL = { preprocess: 'unit', geometry: 'resize', size: 64, inputBounds: [0, 1], classes: 'digits' };
const DATASET = { kind: 'digits-pair', split: 'test', count: 12, seed: 3 };

const manifests = (out: string) =>
  readdirSync(join(out, 'manifest'))
    .filter((f) => f.startsWith('main-'))
    .sort();

/** A config with the base dataset and shard layout, and `model` fields over the base model's. */
function configWith(name: string, model: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    JSON.stringify({
      name: 'test-run',
      dataset: DATASET,
      model: { path: modelPath, ...BASE_MODEL, ...model },
      shardSize: 3,
      batchSize: 2,
      workers: 1,
      backend: 'wasm',
      examples: 0,
      ...extra,
    }),
  );
  return path;
}

/** Asserts a refused command: exit 2, one `sglrp:` message matching `message`, no retries, `out` not created. */
function assertRefused(r: { code: number | null; stderr: string }, message: RegExp, out?: string): void {
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /attempt \d\/\d/, 'a setup error is not retried per shard');
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'a sentence, not a stack trace');
  if (out) assert.ok(!existsSync(out), `${out} must not be created`);
}

test.before(async () => {
  await initBackend('cpu');
  modelPath = await saveDigitsLikeModel(join(dir, 'model'));
  cfg = writeRunConfig(dir, modelPath, { dataset: DATASET, shardSize: 3, batchSize: 2 });
  const r = await cli(['run', cfg, '--out', join(dir, 'baseline'), '--no-report']);
  assert.equal(r.code, 0, r.stderr);
  baseline = await mergedTables(join(dir, 'baseline'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('model weights replaced at the same path are refused, naming the file, and nothing is mixed in', async () => {
  const modelDir = join(dir, 'model-swapped');
  cpSync(join(dir, 'model'), modelDir, { recursive: true });
  const swappedCfg = writeRunConfig(dir, join(modelDir, 'model.json'), { dataset: DATASET, shardSize: 3, batchSize: 2, name: 'swapped' });
  const out = join(dir, 'swapped');
  const args = ['run', swappedCfg, '--out', out, '--no-report'];
  await killAt(args, { SGLRP_TEST_DELAY_AT: 'manifest@main:2' }, /at manifest main 2/);
  assert.deepEqual(manifests(out), ['main-00000.json', 'main-00001.json']);
  const weights = readdirSync(modelDir).find((f) => f.endsWith('.bin'))!;
  const bytes = readFileSync(join(modelDir, weights));
  bytes[bytes.length >> 1]! ^= 0x01; // other weights, same size and path
  writeFileSync(join(modelDir, weights), bytes);
  const r = await cli(args);
  assertRefused(r, new RegExp(`the model files \\(.*${weights} changed\\)`));
  assert.match(r.stderr, /Nothing was changed/);
  assert.deepEqual(manifests(out), ['main-00000.json', 'main-00001.json']);
});

test('a deleted config.yaml does not let a different config in, even with identity.json gone too', async () => {
  const out = join(dir, 'no-config');
  cpSync(join(dir, 'baseline'), out, { recursive: true });
  rmSync(join(out, 'config.yaml'));
  rmSync(join(out, 'manifest', 'main-00003.json'));
  const hashBefore = readFileSync(join(out, 'config.hash'), 'utf8');
  const other = ['run', cfg, '--out', out, '--no-report', '--set', 'variant=reference', '--set', 'masking.fill=zero'];
  assertRefused(await cli(other), /was made with other inputs: the config \(its result fields\)/);
  assert.ok(!existsSync(join(out, 'config.yaml')), 'config.yaml is not written for the other config');
  assert.equal(readFileSync(join(out, 'config.hash'), 'utf8'), hashBefore);

  rmSync(join(out, 'identity.json'));
  assertRefused(
    await cli(other),
    /4 finished shard\(s\) \(main-00000\.json, main-00001\.json, main-00002\.json, stats-00000\.json\) were computed with other inputs: the config/,
  );
  assert.deepEqual(manifests(out), ['main-00000.json', 'main-00001.json', 'main-00002.json']);

  // With its own config the run resumes, restoring what was deleted.
  const r = await cli(['run', cfg, '--out', out, '--no-report']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(out, 'config.yaml')) && existsSync(join(out, 'identity.json')));
  assert.deepEqual(await mergedTables(out), baseline);
});

test('model.size is checked against the model before anything is written', async () => {
  for (const size of [32, 128]) {
    const out = join(dir, `size-${size}`);
    assertRefused(
      await cli(['run', configWith(`size-${size}`, { size }), '--out', out]),
      new RegExp(`model\\.size: is ${size}, but the model takes 64×64×1 inputs; set model\\.size: 64`),
      out,
    );
  }
});

test('a stray manifest outside the plan is ignored and reported, never counted', async () => {
  const out = join(dir, 'stray');
  cpSync(join(dir, 'baseline'), out, { recursive: true });
  const record = JSON.parse(readFileSync(join(out, 'manifest', 'main-00000.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(out, 'manifest', 'main-00099.json'), JSON.stringify({ ...record, shard: 99 }));
  const r = await cli(['run', cfg, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /main: ignoring 1 manifest file\(s\) outside the plan of 4 shards \(main-00099\.json\)/);
  assert.match(r.stderr, /main: 4\/4 shards done/);
  assert.match(r.stderr, /report written/);
  assert.match(readFileSync(join(out, 'report', 'report.md'), 'utf8'), /main-00099\.json.*outside the plan/);
  const status = await cli(['status', out]);
  assert.match(status.stdout, /main\s+4\/4 shards done \(100%\), complete/);
  assert.match(status.stdout, /ignored: main-00099\.json \(outside the plan of 4 shards\)/);
});

test('--limit must be a positive integer: 0, negative, fractional or non-numeric is a usage error and creates nothing', async () => {
  for (const limit of ['0', '-5', '1.5', 'abc']) {
    const out = join(dir, `limit-${limit}`);
    assertRefused(await cli(['run', cfg, '--out', out, '--limit', limit]), /--limit .*: expected a positive integer/, out);
  }
});

test('deterministic setup errors exit 2 once, before any shard is claimed: a missing or non-conv Grad-CAM layer, a truncated weight file, RGB images for a grayscale model', async () => {
  const cases: [string, string, RegExp][] = [
    ['no-layer', configWith('no-layer', { gradcamLayer: 'nope' }), /model\.gradcamLayer: layer 'nope' not found in the model/],
    [
      'dense-layer',
      configWith('dense-layer', { gradcamLayer: 'fc1' }),
      /model\.gradcamLayer: layer 'fc1' outputs \[16\], not a feature map/,
    ],
  ];
  const truncated = join(dir, 'model-truncated');
  cpSync(join(dir, 'model'), truncated, { recursive: true });
  const bin = readdirSync(truncated).find((f) => f.endsWith('.bin'))!;
  truncateSync(join(truncated, bin), Math.floor(statSync(join(truncated, bin)).size / 2));
  cases.push([
    'truncated',
    configWith('truncated', { path: join(truncated, 'model.json') }),
    /model\.path: .*model\.json cannot be loaded/,
  ]);
  const images = join(dir, 'rgb-images');
  mkdirSync(images);
  await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 10, b: 10 } } })
    .png()
    .toFile(join(images, 'a.png'));
  cases.push([
    'rgb',
    configWith('rgb', { classes: 'imagenet' }, { dataset: { kind: 'folder', images } }),
    /dataset: image a decodes to 64×64×3, but the model takes 64×64×1: a grayscale model cannot read 3-channel images/,
  ]);
  for (const [name, config, message] of cases) {
    const out = join(dir, `setup-${name}`);
    assertRefused(await cli(['run', config, '--out', out]), message, out);
  }
});

test('usage errors exit 2 with a sentence: config path missing or a folder, shard index out of range, --set without a key, --limit changed on resume, a torn plan.json, --out / status / report on a file', async () => {
  const file = join(dir, 'a-file.txt');
  writeFileSync(file, 'not a run');
  const out = join(dir, 'usage');
  assertRefused(await cli(['run', join(dir, 'missing.yaml'), '--out', out]), /missing\.yaml: no such run config file/, out);
  assertRefused(await cli(['run', dir, '--out', out]), /is a folder, not a run config file/, out);
  assertRefused(await cli(['run', cfg, '--out', out, '--shard-index', '5', '--shard-count', '2']), /node index 5 is outside \[0, 1\]/, out);
  assertRefused(await cli(['run', cfg, '--out', out, '--set', '=5']), /--set override "=5": expected field=value/, out);
  assertRefused(await cli(['run', cfg, '--out', file]), /--out .*a-file\.txt is a file; the run directory must be a folder/);
  assertRefused(await cli(['status', file]), /a-file\.txt is a file, not a run directory/);
  assertRefused(await cli(['report', file]), /a-file\.txt is a file, not a run directory/);
  const resumed = join(dir, 'limit-resume');
  cpSync(join(dir, 'baseline'), resumed, { recursive: true });
  assertRefused(await cli(['run', cfg, '--out', resumed, '--limit', '6']), /planned as .*differs in limit, shardCount/);
  writeFileSync(join(resumed, 'plan.json'), '{"datasetSize": 12,');
  assertRefused(await cli(['run', cfg, '--out', resumed]), /plan\.json: plan is not valid JSON .*; delete it and run again to re-plan/);
});

test('run ends with a summary of the images that could not be evaluated', async () => {
  const rgbModel = await saveDigitsLikeModel(join(dir, 'model-rgb'), { channels: 3 });
  const images = join(dir, 'folder-images');
  mkdirSync(images);
  for (const name of ['a', 'b'])
    await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 9, g: 120, b: 250 } } })
      .png()
      .toFile(join(images, `${name}.png`));
  writeFileSync(join(images, 'c.png'), 'not a png');
  const config = join(dir, 'folder.yaml');
  writeFileSync(
    config,
    JSON.stringify({
      name: 'folder',
      dataset: { kind: 'folder', images },
      model: { path: rgbModel, ...BASE_MODEL, classes: 'imagenet' },
      methods: ['lrp'],
      targets: ['top2'],
      masking: { fill: 'zero' },
      shardSize: 3,
      workers: 1,
      backend: 'wasm',
      examples: 0,
    }),
  );
  const r = await cli(['run', config, '--out', join(dir, 'folder-run'), '--no-report']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /1 image could not be evaluated: 1 unreadable — see 'sglrp status .*folder-run' or the report/);
});

test("report refuses a folder that is not a run, runs of different configs, and --out inside a run's tables; it writes nothing", async () => {
  const notRun = join(dir, 'not-a-run');
  mkdirSync(notRun);
  assertRefused(await cli(['report', notRun]), /not-a-run is not an sglrp run directory \(it has no config\.yaml\)/);
  assert.deepEqual(readdirSync(notRun), []);
  assertRefused(await cli(['status', notRun]), /not-a-run is not an sglrp run directory/);

  const other = join(dir, 'other-config');
  const r = await cli(['run', cfg, '--out', other, '--no-report', '--set', 'masking.fill=zero', '--limit', '3']);
  assert.equal(r.code, 0, r.stderr);
  assertRefused(
    await cli(['report', join(dir, 'baseline'), other, '--out', join(dir, 'merged')]),
    /different configs.*\n.*masking\.fill: "dataset-mean" → "zero"/,
    join(dir, 'merged'),
  );
  assertRefused(
    await cli(['report', join(dir, 'baseline'), '--out', join(dir, 'baseline', 'tables', 'report')]),
    /is inside .*tables, which holds the run's own shards/,
    join(dir, 'baseline', 'tables', 'report'),
  );
});
