import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { BACKEND_NAMES, type BackendName } from './types.js';

/** Thrown when a backend that was asked for by name cannot start. */
export class BackendUnavailableError extends Error {}

/** Starts one backend; `auto` is true when `initBackend('auto')` is trying it (it may refuse more). */
type Starter = (auto: boolean) => Promise<void>;

/**
 * How each backend is brought up. They are imported lazily: the native and GPU packages are
 * optional, and merely importing a missing one must not break the others.
 */
const STARTERS: Record<BackendName, Starter> = {
  async tensorflow() {
    const errors: string[] = [];
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        await import(pkg);
        if (await tf.setBackend('tensorflow')) return;
        errors.push(`${pkg}: setBackend('tensorflow') returned false`);
      } catch (e) {
        errors.push(`${pkg}: ${firstLine(e)}`);
      }
    }
    throw new BackendUnavailableError(
      `backend 'tensorflow' cannot start (${errors.join('; ')}). It needs @tensorflow/tfjs-node-gpu (CUDA 11.2 + cuDNN 8.1) ` +
        `or @tensorflow/tfjs-node installed with their libtensorflow download; use --backend wasm otherwise.`,
    );
  },
  async webgpu(auto) {
    // Dawn for Node (npm `webgpu`) provides navigator.gpu; see shared/gpu/README.md.
    const adapter = await probeWebgpuAdapter();
    if (!adapter) {
      throw new BackendUnavailableError(
        "backend 'webgpu' cannot start: no GPU adapter (Dawn found no Vulkan device; on the lent GPU machine source .device/enter.sh first). Use --backend wasm on a CPU machine.",
      );
    }
    // A software rasterizer (Mesa lavapipe/llvmpipe, SwiftShader) runs WebGPU on the CPU, far
    // slower than wasm: `auto` must never pick it. Asked for by name it runs (correctness checks
    // of the GPU code paths on a GPU-less machine), and the recorded backend says so.
    if (auto && !usableForAuto(adapter)) {
      throw new BackendUnavailableError(
        `backend 'webgpu' skipped by auto: the adapter is ${describeAdapter(adapter)}; name --backend webgpu to use it anyway`,
      );
    }
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu')))
      throw new BackendUnavailableError("backend 'webgpu' cannot start: setBackend('webgpu') returned false");
    webgpuAdapter = adapter;
  },
  async wasm() {
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new BackendUnavailableError("backend 'wasm' cannot start: setBackend('wasm') returned false");
  },
  async cpu() {
    if (!(await tf.setBackend('cpu'))) throw new BackendUnavailableError("backend 'cpu' cannot start");
  },
};

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0] ?? '';
}

/** What Dawn reports about a WebGPU adapter (GPUAdapterInfo's fields; all may be empty). */
export interface AdapterFacts {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  /** GPUAdapterInfo.isFallbackAdapter (older Dawn: GPUAdapter.isFallbackAdapter). */
  isFallbackAdapter?: boolean;
}

/** Names of CPU (software) implementations of Vulkan/WebGPU that adapters report. */
const SOFTWARE_ADAPTER_NAMES = /llvmpipe|lavapipe|swiftshader|softpipe|software rasterizer|microsoft basic render/i;

/**
 * Whether an adapter is a software (CPU) implementation: the fallback adapter, architecture
 * 'software' (Mesa's lavapipe reports that), or a description/device naming llvmpipe, lavapipe,
 * SwiftShader and the like. Pure: tested on adapter infos from real machines.
 */
export function isSoftwareAdapter(a: AdapterFacts): boolean {
  if (a.isFallbackAdapter === true) return true;
  if ((a.architecture ?? '').trim().toLowerCase() === 'software') return true;
  return [a.vendor, a.device, a.description].some((s) => SOFTWARE_ADAPTER_NAMES.test(s ?? ''));
}

/** Whether `auto` may pick webgpu on this adapter: only a real GPU (software adapters are slower than wasm). */
export function usableForAuto(a: AdapterFacts): boolean {
  return !isSoftwareAdapter(a);
}

/** One line naming the adapter, e.g. "mesa llvmpipe: Mesa 25.0.7 … (software adapter)". */
export function describeAdapter(a: AdapterFacts): string {
  const parts = [a.vendor, a.description || a.device || a.architecture].map((s) => (s ?? '').trim()).filter((s) => s.length > 0);
  const name = parts.length > 0 ? [...new Set(parts)].join(' ') : 'unnamed adapter';
  return isSoftwareAdapter(a) ? `${name} (software adapter: CPU emulation, not a GPU)` : name;
}

/**
 * Loads Dawn (npm `webgpu`), installs navigator.gpu and its globals, and returns the facts of the
 * adapter TF.js's webgpu backend will get (it asks for 'high-performance'), or null when there is
 * none. Throws BackendUnavailableError when Dawn itself cannot load. Once per thread: switching
 * back to webgpu (tests alternate backends) reuses the first Dawn instance.
 */
export function probeWebgpuAdapter(): Promise<AdapterFacts | null> {
  probed ??= probeOnce();
  return probed;
}

let probed: Promise<AdapterFacts | null> | undefined;

async function probeOnce(): Promise<AdapterFacts | null> {
  let adapter: (Record<string, unknown> & { info?: Record<string, unknown> }) | null;
  try {
    const dawn = (await import('webgpu')) as unknown as { create: (o: string[]) => unknown; globals: object };
    Object.assign(globalThis, dawn.globals);
    const gpu = dawn.create([]) as { requestAdapter: (o?: object) => Promise<typeof adapter> };
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    throw new BackendUnavailableError(`backend 'webgpu' cannot start: loading Dawn (npm 'webgpu') failed: ${firstLine(e)}`);
  }
  if (!adapter) return null;
  const info = adapter.info ?? {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const fallback = info['isFallbackAdapter'] ?? adapter['isFallbackAdapter'];
  return {
    vendor: str(info['vendor']),
    architecture: str(info['architecture']),
    device: str(info['device']),
    description: str(info['description']),
    ...(typeof fallback === 'boolean' ? { isFallbackAdapter: fallback } : {}),
  };
}

/** The adapter webgpu started on in this thread (set by initBackend). */
let webgpuAdapter: AdapterFacts | undefined;

let started: BackendName | undefined;

export interface InitOptions {
  /**
   * `auto`: ask Dawn for an adapter even where no GPU device node is visible (tests; a software
   * adapter found that way is still refused).
   */
  probeWebgpu?: boolean;
}

/**
 * Starts the requested backend (or, for `auto`, the fastest one that starts here: tensorflow,
 * webgpu, wasm, cpu) and returns its name. A backend named explicitly that cannot start is an
 * error; `auto` falls through silently, and never takes webgpu on a software adapter (lavapipe,
 * SwiftShader: see usableForAuto). Idempotent per thread.
 */
export async function initBackend(requested: BackendName | 'auto' = 'auto', opts: InitOptions = {}): Promise<BackendName> {
  if (started && (requested === 'auto' || requested === started)) return started;
  if (requested !== 'auto') {
    if (!BACKEND_NAMES.includes(requested)) {
      throw new BackendUnavailableError(`unknown backend '${String(requested)}'; choose one of auto, ${BACKEND_NAMES.join(', ')}`);
    }
    await STARTERS[requested](false);
    await tf.ready();
    return (started = requested);
  }
  for (const name of BACKEND_NAMES) {
    // Dawn prints warnings when it finds no GPU; only try it where a GPU device node exists.
    if (name === 'webgpu' && !gpuLikely() && !opts.probeWebgpu) continue;
    try {
      await STARTERS[name](true);
      await tf.ready();
      return (started = name);
    } catch {
      // auto: try the next one
    }
  }
  throw new BackendUnavailableError('no TF.js backend could start (tried tensorflow, webgpu, wasm, cpu)');
}

/** Whether this machine shows a GPU device (NVIDIA, DRM render node, or a Mac). */
function gpuLikely(): boolean {
  return process.platform === 'darwin' || existsSync('/dev/nvidia0') || existsSync('/dev/dri/renderD128');
}

/** Whether webgpu started in this thread on a software adapter (lavapipe, SwiftShader): CPU emulation. */
export function webgpuOnSoftwareAdapter(): boolean {
  return tf.getBackend() === 'webgpu' && webgpuAdapter !== undefined && isSoftwareAdapter(webgpuAdapter);
}

/**
 * What the backend name alone does not say, recorded next to it in outputs (explain summaries,
 * shard manifests, the report): for webgpu the adapter, flagged when it is a software one (its
 * timings mean nothing). Undefined for the other backends.
 */
export function backendDetail(backend: string = tf.getBackend()): string | undefined {
  if (backend !== 'webgpu' || !webgpuAdapter) return undefined;
  return `webgpu on ${describeAdapter(webgpuAdapter)}`;
}

/** WebGPU's default maxStorageBufferBindingSize (128 MiB), assumed where a device does not say. */
export const WEBGPU_DEFAULT_STORAGE_BINDING_BYTES = 128 * 1024 * 1024;

/**
 * The largest buffer one shader may bind as storage on the current backend, in bytes, or null
 * where there is no such limit (the host backends: wasm, cpu, tensorflow).
 *
 * Why it matters: TF.js binds a tensor's whole buffer in every shader that reads it, and WebGPU
 * rejects a binding over the device's `maxStorageBufferBindingSize` (TF.js requests the
 * adapter's own limit: 128 MiB on Mesa's lavapipe and many integrated GPUs, 2–4 GiB on NVIDIA).
 * Over it, Dawn floods validation errors ("Binding size … is larger than the maximum storage
 * buffer binding size") and the op yields garbage. The model loader keeps Dense kernels over this
 * limit as column blocks (engine/blocked.ts) and refuses other weights over it.
 */
export function maxStorageBindingBytes(): number | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const device = (tf.backend() as unknown as { device?: { limits?: { maxStorageBufferBindingSize?: unknown } } }).device;
  const limit = device?.limits?.maxStorageBufferBindingSize;
  return typeof limit === 'number' && Number.isFinite(limit) && limit > 0 ? limit : WEBGPU_DEFAULT_STORAGE_BINDING_BYTES;
}
