/**
 * The run-config fields of image decoding (model.interpolation, model.antialias,
 * dataset.maxPixels) and how a non-finite number is named in an error.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { DEFAULT_MAX_PIXELS } from '../../io/image.js';
import { projectRoot } from '../../io/project-root.js';
import { ConfigError, loadConfig, parseConfig } from '../../pipeline/config.js';

const IMAGENET = {
  name: 't',
  dataset: { kind: 'imagenet', images: '/data/val' },
  model: { path: '/m/model.json', preprocess: 'caffe', geometry: 'resize', size: 224 },
};

const problems = (obj: unknown): string => {
  try {
    parseConfig(obj, 'cfg.yaml');
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail('expected a ConfigError');
};

test('interpolation and antialias: defaults bilinear + antialias, choices validated by name', () => {
  const c = parseConfig(IMAGENET, 'x');
  assert.equal(c.model.interpolation, 'bilinear');
  assert.equal(c.model.antialias, true);
  const nearest = parseConfig({ ...IMAGENET, model: { ...IMAGENET.model, interpolation: 'nearest', antialias: false } }, 'x');
  assert.deepEqual([nearest.model.interpolation, nearest.model.antialias], ['nearest', false]);
  assert.match(
    problems({ ...IMAGENET, model: { ...IMAGENET.model, interpolation: 'lanczos' } }),
    /model\.interpolation: expected one of "nearest", "bilinear", "bicubic", "area", got "lanczos"/,
  );
  assert.match(
    problems({ ...IMAGENET, model: { ...IMAGENET.model, antialias: 'yes' } }),
    /model\.antialias: expected true or false, got "yes"/,
  );
});

test('dataset.maxPixels: filled in with the default, validated, unknown on digits-pair', () => {
  const c = parseConfig(IMAGENET, 'x');
  assert.equal(c.dataset.kind === 'imagenet' && c.dataset.maxPixels, DEFAULT_MAX_PIXELS);
  const set = parseConfig({ ...IMAGENET, dataset: { ...IMAGENET.dataset, maxPixels: 1_000_000 } }, 'x');
  assert.equal(set.dataset.kind === 'imagenet' && set.dataset.maxPixels, 1_000_000);
  assert.match(
    problems({ ...IMAGENET, dataset: { ...IMAGENET.dataset, maxPixels: 0 } }),
    /dataset\.maxPixels: expected a positive integer \(pixels per image\), got 0/,
  );
  assert.match(problems({ ...IMAGENET, dataset: { ...IMAGENET.dataset, maxPixels: 2.5 } }), /dataset\.maxPixels: .*got 2\.5/);
  assert.match(
    problems({ ...IMAGENET, dataset: { kind: 'digits-pair', maxPixels: 5 } }),
    /dataset\.maxPixels: unknown field \(allowed here: kind, split, seed, count\)/,
  );
});

test('a .inf or .nan in the YAML is named as such, not as "null"', async () => {
  const yaml = YAML.stringify({ ...IMAGENET, model: { ...IMAGENET.model, inputBounds: [-1, 1] }, pointing: { energies: [0.5, 1] } })
    .replace(/- -1\n/, '- -.inf\n')
    .replace(/- 0\.5\n/, '- .nan\n');
  assert.match(yaml, /\.inf/);
  assert.match(yaml, /\.nan/);
  const dir = await mkdtemp(join(tmpdir(), 'inf-nan-'));
  const file = join(dir, 'run.yaml');
  await writeFile(file, yaml);
  try {
    await assert.rejects(loadConfig(file), (e: unknown) => {
      const msg = (e as Error).message;
      assert.match(msg, /model\.inputBounds\[0\]: .*got -\.inf \(minus infinity\)/);
      assert.match(msg, /pointing\.energies\[0\]: .*got \.nan \(not a number\)/);
      assert.doesNotMatch(msg, /got null/);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the paper config resizes like the notebook (Keras load_img: nearest, no antialias)', async () => {
  const c = await loadConfig(join(projectRoot(), 'configs', 'imagenet-vgg16.yaml'));
  assert.deepEqual([c.model.interpolation, c.model.antialias], ['nearest', false]);
});
