/**
 * Where the Keras formats meet the run config and the explain command line: `model: {arch,
 * weights}` (path XOR arch + weights) and `--arch NAME --weights FILE`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { projectRoot } from '../../io/project-root.js';

import { ConfigError, loadConfig, modelSourceOf, parseConfig } from '../../pipeline/config.js';
import { ExplainUsageError, parseExplainArgs } from '../../pipeline/explain-options.js';

const BASE = { name: 't', dataset: { kind: 'imagenet', images: '/val' } };
const MODEL = { preprocess: 'caffe', geometry: 'resize', size: 224 };

function problemsOf(model: Record<string, unknown>): { path: string; message: string }[] {
  try {
    parseConfig({ ...BASE, model: { ...MODEL, ...model } }, 'run.yaml', { baseDir: '/cfg' });
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.problems;
  }
  assert.fail('expected the config to be rejected');
}

describe('run config: model.arch + model.weights', () => {
  test('arch + weights resolve like paths and become the {arch, weights} source', () => {
    const c = parseConfig({ ...BASE, model: { ...MODEL, arch: 'vgg16', weights: 'w/vgg16.h5' } }, 'run.yaml', { baseDir: '/cfg' });
    assert.equal(c.model.path, undefined);
    assert.deepEqual(modelSourceOf(c.model), { arch: 'vgg16', weights: '/cfg/w/vgg16.h5' });
    const p = parseConfig({ ...BASE, model: { ...MODEL, path: 'm.keras' } }, 'run.yaml', { baseDir: '/cfg' });
    assert.deepEqual(modelSourceOf(p.model), { path: '/cfg/m.keras' });
  });

  test('path XOR arch + weights, each problem named', () => {
    assert.deepEqual(problemsOf({ path: 'm.h5', arch: 'vgg16', weights: 'w.h5' }), [
      { path: 'model', message: 'give either path (a model file) or arch + weights (a Keras application weight file), not both' },
    ]);
    assert.equal(problemsOf({ arch: 'vgg16' })[0]!.path, 'model.weights');
    assert.match(problemsOf({ weights: 'w.h5' })[0]!.message, /weights need arch: one of vgg16, vgg19, resnet50, densenet121, inceptionv3/);
    assert.match(problemsOf({})[0]!.message, /required field is missing \(a model file, or arch \+ weights\)/);
    const bad = problemsOf({ arch: 'vgg17', weights: 'w.h5' });
    assert.equal(bad[0]!.path, 'model.arch');
    assert.match(bad[0]!.message, /"vgg16", "vgg19"/);
  });
});

describe('explain: --arch / --weights', () => {
  const base = { inputs: ['x.png'], out: 'o' };
  test('--arch NAME --weights FILE instead of --model', () => {
    const cfg = parseExplainArgs({ ...base, arch: 'VGG16', weights: 'w.h5' });
    assert.equal(cfg.arch, 'vgg16');
    assert.ok(cfg.model.endsWith('/w.h5'));
    assert.equal(parseExplainArgs({ ...base, model: 'm.h5' }).arch, undefined);
  });

  test('half or both of the two forms is a usage error that says what to give', () => {
    const refused = (argv: Record<string, string>, re: RegExp) =>
      assert.throws(
        () => parseExplainArgs({ ...base, ...argv }),
        (e: Error) => e instanceof ExplainUsageError && re.test(e.message),
      );
    refused({ arch: 'vgg16' }, /--arch vgg16 needs --weights FILE/);
    refused({ weights: 'w.h5' }, /--weights needs --arch/);
    refused({ model: 'm.h5', arch: 'vgg16', weights: 'w.h5' }, /not both/);
    refused({ arch: 'alexnet', weights: 'w.h5' }, /--arch alexnet: expected one of vgg16/);
    refused({}, /--model is required .* or --arch NAME --weights FILE/);
  });
});

describe('run config overrides', () => {
  test('--set model.path replaces a config’s arch + weights, and --set model.arch/weights a path', async () => {
    const file = join(projectRoot(), 'configs', 'imagenet-vgg16.yaml');
    const shipped = await loadConfig(file);
    assert.deepEqual(modelSourceOf(shipped.model), { arch: 'vgg16', weights: '/models/vgg16_weights_tf_dim_ordering_tf_kernels.h5' });
    const byPath = await loadConfig(file, { 'model.path': 'vgg16/model.json' }, '/here');
    assert.deepEqual(modelSourceOf(byPath.model), { path: '/here/vgg16/model.json' });
    assert.equal(byPath.model.arch, undefined);
    const digits = join(projectRoot(), 'configs', 'digits-pair.yaml');
    const byArch = await loadConfig(digits, { 'model.arch': 'vgg19', 'model.weights': 'w.h5', 'model.size': 224 }, '/here');
    assert.deepEqual(modelSourceOf(byArch.model), { arch: 'vgg19', weights: '/here/w.h5' });
  });
});
