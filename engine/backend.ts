import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { BACKEND_NAMES, type BackendName } from './types.js';

/** Thrown when a backend that was asked for by name cannot start. */
export class BackendUnavailableError extends Error {}

type Starter = () => Promise<void>;

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
  async webgpu() {
    // Dawn for Node (npm `webgpu`) provides navigator.gpu; see shared/gpu/README.md.
    let adapterFound = false;
    try {
      const dawn = (await import('webgpu')) as unknown as { create: (o: string[]) => unknown; globals: object };
      Object.assign(globalThis, dawn.globals);
      const gpu = dawn.create([]) as { requestAdapter: () => Promise<unknown> };
      Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
      adapterFound = (await gpu.requestAdapter()) != null;
    } catch (e) {
      throw new BackendUnavailableError(`backend 'webgpu' cannot start: loading Dawn (npm 'webgpu') failed: ${firstLine(e)}`);
    }
    if (!adapterFound) {
      throw new BackendUnavailableError(
        "backend 'webgpu' cannot start: no GPU adapter (Dawn found no Vulkan device; on the lent GPU machine source .device/enter.sh first). Use --backend wasm on a CPU machine.",
      );
    }
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new BackendUnavailableError("backend 'webgpu' cannot start: setBackend('webgpu') returned false");
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

let started: BackendName | undefined;

/**
 * Starts the requested backend (or, for `auto`, the fastest one that starts here: tensorflow,
 * webgpu, wasm, cpu) and returns its name. A backend named explicitly that cannot start is an
 * error; `auto` falls through silently. Idempotent per thread.
 */
export async function initBackend(requested: BackendName | 'auto' = 'auto'): Promise<BackendName> {
  if (started && (requested === 'auto' || requested === started)) return started;
  if (requested !== 'auto') {
    if (!BACKEND_NAMES.includes(requested)) {
      throw new BackendUnavailableError(`unknown backend '${String(requested)}'; choose one of auto, ${BACKEND_NAMES.join(', ')}`);
    }
    await STARTERS[requested]();
    await tf.ready();
    return (started = requested);
  }
  for (const name of BACKEND_NAMES) {
    // Dawn prints warnings when it finds no GPU; only try it where a GPU device node exists.
    if (name === 'webgpu' && !gpuLikely()) continue;
    try {
      await STARTERS[name]();
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

/** The backend this thread runs on (for recording in every output). */
export function currentBackend(): string {
  return tf.getBackend();
}
