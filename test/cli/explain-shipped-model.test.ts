/**
 * `sglrp explain` on the model that ships in models/digits-pair/, through the real command line:
 * the model's sglrp.json supplies the preprocessing and class names (the generic defaults,
 * caffe and no names, cannot work on a 1-channel digits model), an explicit flag still wins, the
 * resolved top1/top2 classes are printed, and `--input-bounds -1,1` (space, negative LOW) is
 * accepted as every user will type it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { generateDigitsPair, DIGITS_PAIR_SIZE } from '../../data/digits-pair.js';
import { projectRoot } from '../../io/project-root.js';
import type { InputSummaryJson } from '../../pipeline/explain-command.js';
import { readModelInfo } from '../../pipeline/explain-model-info.js';
import { CLI } from '../util/run-fixture.js';

const MODEL = join(projectRoot(), 'models', 'digits-pair');
const dir = mkdtempSync(join(tmpdir(), 'sglrp-explain-shipped-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A test-split digits-pair image as a PNG, and its two digits (ground truth first). */
async function digitsPng(index: number): Promise<{ path: string; digits: [number, number] }> {
  const img = generateDigitsPair(index, 0, 'test');
  const path = join(dir, `pair-${index}.png`);
  await sharp(Buffer.from(img.pixels), { raw: { width: DIGITS_PAIR_SIZE, height: DIGITS_PAIR_SIZE, channels: 1 } })
    .png()
    .toFile(path);
  return { path, digits: [img.digits[0].digit, img.digits[1].digit] };
}

function explain(args: string[]): { code: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [CLI, 'explain', ...args], { encoding: 'utf8' });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

const summaryOf = (out: string, stem: string) => JSON.parse(readFileSync(join(out, `${stem}_summary.json`), 'utf8')) as InputSummaryJson;

test('the shipped sglrp.json says what train-digits trains with: unit preprocessing, resize, classes "0"…"9"', () => {
  const info = readModelInfo(join(MODEL, 'model.json'));
  assert.ok(info, 'models/digits-pair/sglrp.json is missing');
  assert.equal(info.preprocess, 'unit');
  assert.equal(info.geometry, 'resize');
  assert.deepEqual(info.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
});

test("explain on the shipped model with no --preprocess uses the model's preprocessing and prints the top1/top2 classes by name", async () => {
  const { path, digits } = await digitsPng(0);
  const out = join(dir, 'default');
  const r = explain([path, '--model', MODEL, '--target', 'top1,top2', '--methods', 'sglrp,gradcam', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /preprocessing unit \(from .*models\/digits-pair\/sglrp\.json\)/);
  const s = summaryOf(out, 'pair-0');
  assert.equal(s.preprocess, 'unit');
  assert.deepEqual(s.inputBounds, [0, 1]);
  const [top1, top2] = s.images[0]!.targets;
  // The trained model names both digits of a pair as its two most probable classes (~91% of
  // test images; this one is checked): proof that the input was preprocessed as in training.
  assert.deepEqual(new Set([top1!.classIndex, top2!.classIndex]), new Set(digits), JSON.stringify(s.images[0]!.targets));
  assert.equal(top1!.name, String(top1!.classIndex));
  const line = `pair-0: top1 = ${top1!.classIndex} (class ${top1!.classIndex}, p=${top1!.probability.toPrecision(3)}); top2 = ${top2!.classIndex} (class ${top2!.classIndex}, p=${top2!.probability.toPrecision(3)})`;
  assert.ok(r.stderr.includes(line), `expected the line\n  ${line}\nin\n${r.stderr}`);
});

test("an explicit --preprocess and --classes still override the model's sglrp.json", async () => {
  const { path } = await digitsPng(1);
  const out = join(dir, 'override');
  const names = join(dir, 'names.txt');
  writeFileSync(names, `${['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'].join('\n')}\n`);
  const r = explain([
    path,
    '--model',
    MODEL,
    '--preprocess',
    'tf',
    '--classes',
    names,
    '--target',
    'top1',
    '--methods',
    'lrp',
    '--out',
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /preprocessing tf \(--preprocess\)/);
  const s = summaryOf(out, 'pair-1');
  assert.equal(s.preprocess, 'tf');
  assert.deepEqual(s.inputBounds, [-1, 1]);
  const t = s.images[0]!.targets[0]!;
  assert.equal(t.name, ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'][t.classIndex]);
  assert.match(r.stderr, new RegExp(`pair-1: top1 = ${t.name} \\(class ${t.classIndex}, p=`));
});

test('--input-bounds -1,1 (a space, then a negative LOW) is accepted; a malformed value is one clear line, not the whole help', async () => {
  const { path } = await digitsPng(2);
  const out = join(dir, 'bounds');
  const r = explain([path, '--model', MODEL, '--input-bounds', '-1,1', '--methods', 'lrp', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(summaryOf(out, 'pair-2').inputBounds, [-1, 1]);

  const bad = explain([path, '--model', MODEL, '--input-bounds', '-1', '--out', join(dir, 'bad')]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--input-bounds -1: expected LOW,HIGH with LOW < HIGH/);
  assert.doesNotMatch(bad.stderr, /Options:/, 'the help text is not printed for a bad value');
});
