import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import YAML from 'yaml';
import { projectRoot } from '../../io/project-root.js';
import {
  ConfigError,
  DEFAULT_ENERGIES,
  configHash,
  diffConfigs,
  loadConfig,
  parseConfig,
  parseOverride,
  stringifyConfig,
  type RunConfig,
} from '../../pipeline/config.js';

const repoRoot = projectRoot();
const configsDir = join(repoRoot, 'configs');

const tmp = await mkdtemp(join(tmpdir(), 'config-'));
after(() => fs.rm(tmp, { recursive: true, force: true }));

const MINIMAL = {
  name: 't',
  dataset: { kind: 'digits-pair' },
  model: { path: 'model.json', preprocess: 'unit', geometry: 'resize', size: 64 },
};

function problemsOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected the config to be rejected');
}

describe('config', () => {
  it('parses every shipped config', async () => {
    const names = (await fs.readdir(configsDir)).filter((n) => n.endsWith('.yaml'));
    assert.ok(names.length >= 3, `configs/ holds ${names.join(', ')}`);
    for (const name of names) {
      const config = await loadConfig(join(configsDir, name));
      assert.ok(config.name.length > 0, name);
      assert.equal(config.pointing.energies.length, 20, name);
    }
    const digits = await loadConfig(join(configsDir, 'digits-pair.yaml'));
    assert.deepEqual(digits.dataset, { kind: 'digits-pair', split: 'test', seed: 0, count: 500 });
    assert.equal(digits.model.path, join(repoRoot, 'models', 'digits-pair', 'model.json'));
    assert.deepEqual(digits.model.inputBounds, [0, 1]);
    assert.equal(digits.model.gradcamLayer, 'block3_conv1');
    const vgg16 = await loadConfig(join(configsDir, 'imagenet-vgg16.yaml'));
    assert.equal(vgg16.variant, 'paper');
    assert.equal(vgg16.model.gradcamLayer, 'block5_conv3');
    assert.deepEqual(vgg16.model.inputBounds, [-123.68, 151.061]);
    const vgg19 = await loadConfig(join(configsDir, 'imagenet-vgg19-reference.yaml'));
    assert.equal(vgg19.variant, 'reference');
    assert.equal(vgg19.model.geometry, 'center-crop');
    assert.equal(vgg19.model.gradcamLayer, 'block5_pool');
  });

  it('fills defaults', () => {
    const c = parseConfig(MINIMAL, 'minimal', { baseDir: '/cfg' });
    assert.deepEqual(c.methods, ['lrp', 'clrp', 'sglrp', 'gbp', 'gradcam', 'ggcam', 'random']);
    assert.deepEqual(c.targets, ['gt', 'top2']);
    assert.equal(c.variant, 'paper');
    assert.deepEqual(c.masking, { patchSizes: [1, 3, 5, 7, 9], fill: 'dataset-mean' });
    assert.equal(c.pointing.tolerance, 15);
    assert.equal(c.pointing.energies.length, 20);
    assert.equal(c.pointing.energies[0], 0.05);
    assert.equal(c.pointing.energies[2], 0.15);
    assert.equal(c.pointing.energies[19], 1);
    assert.deepEqual(c.pointing.energies, DEFAULT_ENERGIES);
    assert.equal(c.shardSize, 100);
    assert.equal(c.batchSize, 'auto');
    assert.equal(c.passBudgetMB, 'auto');
    assert.equal(c.workers, 'auto');
    assert.equal(c.backend, 'auto');
    assert.equal(c.seed, 0);
    assert.equal(c.examples, 4);
    assert.equal(c.keepMaps, false);
    assert.equal(c.model.classes, 'digits');
    assert.equal(c.model.path, '/cfg/model.json');
    const torch = parseConfig({ ...MINIMAL, model: { ...MINIMAL.model, preprocess: 'torch' } }, 'x');
    assert.ok(Math.abs(torch.model.inputBounds[0] - -2.1179039) < 1e-6);
    assert.ok(Math.abs(torch.model.inputBounds[1] - 2.64) < 1e-9);
  });

  it('resolves relative paths against the config file folder, overrides against cwd', async () => {
    const sub = join(tmp, 'sub');
    await fs.mkdir(sub, { recursive: true });
    const file = join(sub, 'run.yaml');
    await fs.writeFile(
      file,
      YAML.stringify({
        name: 'r',
        dataset: { kind: 'imagenet', images: 'val', annotations: { kind: 'voc-xml', dir: '../xml' } },
        model: { path: 'm/model.json', preprocess: 'caffe', geometry: 'center-crop', size: 224, classes: 'names.txt' },
      }),
    );
    const c = await loadConfig(file);
    assert.equal(c.dataset.kind, 'imagenet');
    if (c.dataset.kind !== 'imagenet') return;
    assert.equal(c.dataset.images, join(sub, 'val'));
    assert.deepEqual(c.dataset.annotations, { kind: 'voc-xml', dir: join(tmp, 'xml') });
    assert.equal(c.model.path, join(sub, 'm', 'model.json'));
    assert.equal(c.model.classes, join(sub, 'names.txt'));
    const o = await loadConfig(file, { 'model.path': 'other.json', workers: 3, 'masking.fill': 'zero' }, '/elsewhere');
    assert.equal(o.model.path, '/elsewhere/other.json');
    assert.equal(o.workers, 3);
    assert.equal(o.masking.fill, 'zero');
    assert.equal(o.dataset.kind === 'imagenet' && o.dataset.images, join(sub, 'val'));
  });

  it('reads its own resolved YAML back unchanged', () => {
    const c = parseConfig({ ...MINIMAL, methods: ['sglrp', 'lrp'], masking: { patchSizes: [5, 1] } }, 'x', { baseDir: '/cfg' });
    assert.deepEqual(c.methods, ['lrp', 'sglrp'], 'canonical order');
    assert.deepEqual(c.masking.patchSizes, [1, 5], 'ascending');
    const again = parseConfig(YAML.parse(stringifyConfig(c)), 'config.yaml', { baseDir: '/somewhere/else' });
    assert.deepEqual(again, c);
    assert.equal(configHash(again), configHash(c));
  });

  it('names the field of an unknown key, at any depth', () => {
    const top = problemsOf(() => parseConfig({ ...MINIMAL, wokers: 2 }, 'run.yaml'));
    assert.equal(top[0]!.path, 'wokers');
    assert.match(top[0]!.message, /unknown field.*workers/);
    const deep = problemsOf(() => parseConfig({ ...MINIMAL, masking: { patchSize: [3] } }, 'run.yaml'));
    assert.equal(deep[0]!.path, 'masking.patchSize');
    assert.match(deep[0]!.message, /allowed here: patchSizes, fill/);
    const perKind = problemsOf(() => parseConfig({ ...MINIMAL, dataset: { kind: 'imagenet', images: 'x', count: 5 } }, 'run.yaml'));
    assert.deepEqual(
      perKind.map((p) => p.path),
      ['dataset.count'],
    );
  });

  it('names the field and the expected type or values', () => {
    let problems = problemsOf(() => parseConfig({ ...MINIMAL, model: { ...MINIMAL.model, size: 'big' } }, 'run.yaml'));
    assert.equal(problems[0]!.path, 'model.size');
    assert.match(problems[0]!.message, /positive integer.*got "big"/);
    problems = problemsOf(() => parseConfig({ ...MINIMAL, variant: 'papr' }, 'run.yaml'));
    assert.equal(problems[0]!.path, 'variant');
    assert.match(problems[0]!.message, /"paper", "reference"/);
    problems = problemsOf(() => parseConfig({ ...MINIMAL, methods: ['lrp', 'gradcam++'] }, 'run.yaml'));
    assert.equal(problems[0]!.path, 'methods[1]');
    problems = problemsOf(() => parseConfig({ ...MINIMAL, pointing: { energies: [0, 0.5] } }, 'run.yaml'));
    assert.equal(problems[0]!.path, 'pointing.energies[0]');
    assert.match(problems[0]!.message, /\(0, 1\]/);
    problems = problemsOf(() => parseConfig({ name: 't', dataset: { kind: 'digits-pair' } }, 'run.yaml'));
    assert.equal(problems[0]!.path, 'model');
    assert.match(problems[0]!.message, /missing/);
    problems = problemsOf(() => parseConfig({ ...MINIMAL, workers: 0, batchSize: 'lots', passBudgetMB: -5 }, 'run.yaml'));
    assert.deepEqual(problems.map((p) => p.path).sort(), ['batchSize', 'passBudgetMB', 'workers']);
    assert.match(problems.find((p) => p.path === 'batchSize')!.message, /"auto" or a positive integer/);
  });

  it('rejects bad patch sizes, naming the element', () => {
    for (const [bad, index] of [
      [[1, 4], 1],
      [[0], 0],
      [[-3], 0],
      [[2.5], 0],
      [[3, 'five'], 1],
    ] as const) {
      const problems = problemsOf(() => parseConfig({ ...MINIMAL, masking: { patchSizes: bad } }, 'run.yaml'));
      assert.equal(problems[0]!.path, `masking.patchSizes[${index}]`, JSON.stringify(bad));
      assert.match(problems[0]!.message, /odd positive integer/);
    }
    const tooBig = problemsOf(() => parseConfig({ ...MINIMAL, masking: { patchSizes: [65] } }, 'run.yaml'));
    assert.equal(tooBig[0]!.path, 'masking.patchSizes');
    assert.match(tooBig[0]!.message, /exceed model.size 64/);
  });

  it('puts the source name and every field in the error message', () => {
    assert.throws(
      () => parseConfig({ ...MINIMAL, seed: -1, examples: 'four' }, 'my-run.yaml'),
      (err: unknown) =>
        err instanceof ConfigError &&
        /^my-run\.yaml: invalid run config/.test(err.message) &&
        /seed:/.test(err.message) &&
        /examples:/.test(err.message),
    );
  });

  it('reports YAML syntax errors and unreadable files with the file name', async () => {
    const file = join(tmp, 'broken.yaml');
    await fs.writeFile(file, 'name: [unclosed\n');
    await assert.rejects(
      loadConfig(file),
      (err: unknown) => err instanceof Error && err.message.startsWith(file) && /not valid YAML/.test(err.message),
    );
    await assert.rejects(loadConfig(join(tmp, 'nope.yaml')), /nope\.yaml: cannot read the run config \(ENOENT\)/);
  });

  it('hashes only result fields: workers etc. do not change it, variant does', () => {
    const base = parseConfig(MINIMAL, 'x', { baseDir: '/cfg' });
    const h = configHash(base);
    assert.match(h, /^[0-9a-f]{64}$/);
    const neutral: Partial<RunConfig>[] = [
      { workers: 7 },
      { batchSize: 16 },
      { passBudgetMB: 40000 },
      { backend: 'wasm' },
      { keepMaps: true },
      { examples: 0 },
      { name: 'renamed' },
    ];
    for (const change of neutral) assert.equal(configHash({ ...base, ...change }), h, JSON.stringify(change));
    const relevant: Partial<RunConfig>[] = [
      { variant: 'reference' },
      { seed: 1 },
      { shardSize: 50 },
      { methods: ['lrp'] },
      { masking: { ...base.masking, fill: 'zero' } },
      { pointing: { ...base.pointing, tolerance: 0 } },
      { model: { ...base.model, size: 32 } },
    ];
    for (const change of relevant) assert.notEqual(configHash({ ...base, ...change }), h, JSON.stringify(change));
    // Key order in the object does not matter.
    const reordered = Object.fromEntries(Object.entries(base).reverse()) as unknown as RunConfig;
    assert.equal(configHash(reordered), h);
  });

  it('lists the differing field paths', () => {
    const a = parseConfig(MINIMAL, 'a', { baseDir: '/cfg' });
    const b = parseConfig({ ...MINIMAL, variant: 'reference', workers: 2, masking: { patchSizes: [1, 3], fill: 'zero' } }, 'b', {
      baseDir: '/cfg',
    });
    assert.deepEqual(diffConfigs(a, a), []);
    assert.deepEqual(diffConfigs(a, b), ['masking.fill', 'masking.patchSizes', 'variant', 'workers']);
    assert.deepEqual(diffConfigs(a, b, { resultsOnly: true }), ['masking.fill', 'masking.patchSizes', 'variant']);
    const c = parseConfig({ ...MINIMAL, dataset: { kind: 'digits-pair', count: 10 } }, 'c', { baseDir: '/cfg' });
    assert.deepEqual(diffConfigs(a, c), ['dataset.count']);
  });

  it('parses command-line overrides as YAML values', () => {
    assert.deepEqual(parseOverride('masking.patchSizes=[1, 3]'), ['masking.patchSizes', [1, 3]]);
    assert.deepEqual(parseOverride('workers=4'), ['workers', 4]);
    assert.deepEqual(parseOverride('masking.fill=zero'), ['masking.fill', 'zero']);
    assert.throws(() => parseOverride('workers'), /expected field=value/);
    assert.throws(() => parseOverride('a..b=1'), /not a field path/);
  });
});
