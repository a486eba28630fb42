import assert from 'node:assert/strict';
import { test } from 'node:test';

import { GpuArgsError, parseGpuArgs, sumKernels } from '../../bench/gpu-throughput.js';

test('gpu-throughput options: defaults, lists, budget in GB, and refusals naming the flag', () => {
  const d = parseGpuArgs([]);
  assert.deepEqual([d.backend, d.model, d.batches, d.budgetBytes, d.seconds], ['webgpu', null, [8, 32, 64], null, 420]);
  const a = parseGpuArgs([
    '--backend',
    'wasm',
    '--batch',
    '1, 2',
    '--budget-gb',
    '40',
    '--seconds',
    '60',
    '--model',
    'm/model.json',
    '--out',
    'x.json',
  ]);
  assert.deepEqual([a.backend, a.batches, a.budgetBytes, a.seconds, a.model, a.out], ['wasm', [1, 2], 40e9, 60, 'm/model.json', 'x.json']);
  for (const argv of [['--batch', '0'], ['--batch', '2.5'], ['--seconds', '-1'], ['--budget-gb'], ['--model'], ['--nope']]) {
    assert.throws(
      () => parseGpuArgs(argv),
      (e: unknown) => e instanceof GpuArgsError && e.message.includes(argv[0]!),
      argv.join(' '),
    );
  }
});

test('kernel profile sums per kernel, largest first; no timings gives a null total', () => {
  const s = sumKernels([
    { name: 'Conv2D', kernelTimeMs: 5 },
    { name: 'Multiply', kernelTimeMs: 1 },
    { name: 'Conv2D', kernelTimeMs: 7 },
  ]);
  assert.equal(s.totalMs, 13);
  assert.deepEqual(s.kernels, [
    { kernel: 'Conv2D', ms: 12, count: 2 },
    { kernel: 'Multiply', ms: 1, count: 1 },
  ]);
  const none = sumKernels([{ name: 'Conv2D', kernelTimeMs: { error: 'no timestamp queries' } }]);
  assert.equal(none.totalMs, null);
  assert.deepEqual(none.kernels, [{ kernel: 'Conv2D', ms: 0, count: 1 }]);
});
