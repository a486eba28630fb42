import assert from 'node:assert/strict';
import { test } from 'node:test';

import { BenchUsageError, DEFAULT_EXTRA, EXTRA_USAGE, parseBenchArgs, splitExtraArgs } from '../../bench/bench-args.js';

test('splitExtraArgs: defaults, --vgg16-pipeline N (8 by default, 0 skips), both spellings, the rest left for parseBenchArgs', () => {
  assert.deepEqual(splitExtraArgs([]), { rest: [], extra: { whole: 1, pipelineLimit: 400, memoryImages: 1000, vgg16Pipeline: 8 } });
  assert.equal(DEFAULT_EXTRA.vgg16Pipeline, 8);
  const { rest, extra } = splitExtraArgs([
    '--backend',
    'wasm',
    '--vgg16-pipeline',
    '4',
    '--whole=0',
    '--images',
    '1',
    '--memory-images',
    '0',
    '--pipeline-limit=50',
  ]);
  assert.deepEqual(rest, ['--backend', 'wasm', '--images', '1']);
  assert.deepEqual(extra, { whole: 0, pipelineLimit: 50, memoryImages: 0, vgg16Pipeline: 4 });
  assert.equal(splitExtraArgs(['--vgg16-pipeline=0']).extra.vgg16Pipeline, 0);
  assert.deepEqual(parseBenchArgs(rest).backends, ['wasm']);
});

test('webgpu on a software adapter is measured only when backends are named', () => {
  assert.equal(parseBenchArgs([]).explicitBackends, false);
  assert.deepEqual(parseBenchArgs([]).backends, ['tensorflow', 'webgpu', 'wasm']);
  assert.equal(parseBenchArgs(['--backend', 'webgpu']).explicitBackends, true);
});

test('splitExtraArgs refuses a missing, negative or fractional count with the usage', () => {
  for (const argv of [
    ['--vgg16-pipeline'],
    ['--vgg16-pipeline', '-1'],
    ['--vgg16-pipeline=2.5'],
    ['--vgg16-pipeline='],
    ['--whole', 'x'],
  ]) {
    assert.throws(
      () => splitExtraArgs(argv),
      (e: unknown) => e instanceof BenchUsageError && /expected a whole number/.test(e.message) && e.message.includes(EXTRA_USAGE),
      argv.join(' '),
    );
  }
});

test('the usage text lists --vgg16-pipeline with its default', () => {
  assert.match(EXTRA_USAGE, /--vgg16-pipeline N .*imagenet-vgg16\.yaml/s);
  assert.match(EXTRA_USAGE, /default 8; 0 skips/);
});
