import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BackendUnavailableError,
  describeAdapter,
  initBackend,
  isSoftwareAdapter,
  probeWebgpuAdapter,
  usableForAuto,
  type AdapterFacts,
} from '../../engine/backend.js';

// First in the file: initBackend('auto') is idempotent per thread (a later call returns what ran first).
test('auto picks the fastest backend that starts here and reports its name', async () => {
  const name = await initBackend('auto');
  assert.ok(['tensorflow', 'webgpu', 'wasm'].includes(name), `auto chose ${name}`);
  assert.equal(await initBackend('auto'), name, 'idempotent');
  const adapter = await probeWebgpuAdapter().catch(() => null);
  if (adapter && isSoftwareAdapter(adapter))
    assert.notEqual(name, 'webgpu', `auto must not take the software adapter ${describeAdapter(adapter)}`);
});

test('a backend asked for by name that cannot start is a clear error naming it and the way out', async () => {
  await assert.rejects(initBackend('nope' as never), /unknown backend 'nope'; choose one of auto, tensorflow, webgpu, wasm, cpu/);
  let tfNode = true;
  try {
    await import('@tensorflow/tfjs-node' as string);
  } catch {
    tfNode = false;
  }
  if (!tfNode) {
    await assert.rejects(
      initBackend('tensorflow'),
      (e: Error) =>
        e instanceof BackendUnavailableError && /backend 'tensorflow' cannot start/.test(e.message) && /--backend wasm/.test(e.message),
    );
  }
  // webgpu starts wherever Dawn finds an adapter, a software one (Mesa lavapipe) included.
  const adapter = await probeWebgpuAdapter().catch(() => null);
  if (!adapter) {
    await assert.rejects(initBackend('webgpu'), (e: Error) => e instanceof BackendUnavailableError && /webgpu/.test(e.message));
  }
});

/** Adapter infos as Dawn reports them on real machines. */
const ADAPTERS: { name: string; info: AdapterFacts; software: boolean }[] = [
  {
    name: 'Mesa lavapipe (bookworm-backports)',
    info: {
      vendor: 'mesa',
      architecture: 'software',
      device: 'llvmpipe-llvm-15-0-6-256-bits-',
      description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1',
      isFallbackAdapter: true,
    },
    software: true,
  },
  {
    name: 'lavapipe without the fallback flag',
    info: { vendor: 'mesa', architecture: 'software', device: 'llvmpipe', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' },
    software: true,
  },
  {
    name: 'lavapipe named only in its description',
    info: { vendor: 'mesa', architecture: '', device: '', description: 'llvmpipe (LLVM 19.1.7, 256 bits)' },
    software: true,
  },
  {
    name: 'SwiftShader',
    info: { vendor: 'google', architecture: '', device: '', description: 'SwiftShader Device (Subzero)' },
    software: true,
  },
  {
    name: 'any fallback adapter',
    info: { vendor: 'acme', architecture: 'x', device: 'y', description: 'z', isFallbackAdapter: true },
    software: true,
  },
  {
    name: 'NVIDIA H100',
    info: { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H100 80GB HBM3', isFallbackAdapter: false },
    software: false,
  },
  { name: 'NVIDIA H200', info: { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200' }, software: false },
  {
    name: 'Intel iGPU (Mesa ANV)',
    info: { vendor: 'intel', architecture: 'gen-12lp', device: '', description: 'Intel(R) Xe Graphics (TGL GT2)' },
    software: false,
  },
  { name: 'Apple', info: { vendor: 'apple', architecture: 'metal-3', device: '', description: 'Apple M1 Max' }, software: false },
  { name: 'no information', info: {}, software: false },
];

test('adapter info → usable by auto: software adapters (lavapipe/llvmpipe, SwiftShader, fallback) are not, GPUs are', () => {
  for (const a of ADAPTERS) {
    assert.equal(isSoftwareAdapter(a.info), a.software, a.name);
    assert.equal(usableForAuto(a.info), !a.software, a.name);
    const d = describeAdapter(a.info);
    assert.equal(/software adapter/.test(d), a.software, `${a.name}: ${d}`);
  }
  assert.equal(
    describeAdapter(ADAPTERS[0]!.info),
    'mesa llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1 (software adapter: CPU emulation, not a GPU)',
  );
  assert.equal(describeAdapter(ADAPTERS[5]!.info), 'nvidia NVIDIA H100 80GB HBM3');
  assert.equal(describeAdapter({}), 'unnamed adapter');
});
