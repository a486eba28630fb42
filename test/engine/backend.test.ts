import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { BackendUnavailableError, initBackend } from '../../engine/backend.js';

test('a backend asked for by name that cannot start is a clear error naming it and the way out', async () => {
  await assert.rejects(initBackend('nope' as never), /unknown backend 'nope'; choose one of auto, tensorflow, webgpu, wasm, cpu/);
  let tfNode = true;
  try {
    await import('@tensorflow/tfjs-node' as string);
  } catch {
    tfNode = false;
  }
  if (!tfNode) {
    await assert.rejects(initBackend('tensorflow'), (e: Error) => e instanceof BackendUnavailableError && /backend 'tensorflow' cannot start/.test(e.message) && /--backend wasm/.test(e.message));
  }
  if (!existsSync('/dev/nvidia0') && !existsSync('/dev/dri/renderD128')) {
    await assert.rejects(initBackend('webgpu'), (e: Error) => e instanceof BackendUnavailableError && /webgpu/.test(e.message));
  }
});

test('auto picks the fastest backend that starts here and reports its name', async () => {
  const name = await initBackend('auto');
  assert.ok(['tensorflow', 'webgpu', 'wasm'].includes(name), `auto chose ${name}`);
  assert.equal(await initBackend('auto'), name, 'idempotent');
});
