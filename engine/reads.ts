import * as tf from '@tensorflow/tfjs';
import { hostResidentBackend } from './pool-routing.js';

/**
 * Engine computations that read tensors back to the host, written once and run either
 * synchronously (`runSync`: dataSync, the host backends) or asynchronously (`runAsync`: await
 * data(), which every backend supports).
 *
 * Why: TF.js's webgpu backend reads synchronously through an OffscreenCanvas, which Node does
 * not have — under Dawn for Node every dataSync() of a GPU tensor throws "OffscreenCanvas is not
 * defined" (found running the engine on Mesa's software Vulkan adapter). So the engine's reads
 * are steps of a generator: it yields each tensor it needs on the host and receives its values
 * (a Float32Array); it may also yield a Promise (an async callback such as explain's onGroup) to
 * be awaited before it goes on. The public Explainer (engine/explainer.ts) drives them with
 * runAsync only; the project's own callers of ExplainEngine pick the driver (runSync on host
 * backends, for tests and tools; runAsync everywhere else, webgpu included).
 */
export type Step = tf.Tensor | PromiseLike<unknown>;
export type Reads<T> = Generator<Step, T, unknown>;

/** Within a Reads generator: `const data = yield* read(t)` gives t's values on the host. */
export function* read(t: tf.Tensor): Reads<Float32Array> {
  return (yield t) as Float32Array;
}

/** Within a Reads generator: waits for an async callback's promise (runAsync only). */
export function* wait(p: PromiseLike<unknown>): Reads<void> {
  yield p;
}

/** Whether a value is a Reads generator (an onGroup callback may return one). */
export function isReads(v: unknown): v is Reads<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as Generator).next === 'function' && typeof (v as Generator).throw === 'function';
}

function isTensor(s: Step): s is tf.Tensor {
  return s instanceof tf.Tensor;
}

/** dataSync with the reason spelled out where it cannot work (webgpu under Node). */
export function readSync(t: tf.Tensor): Float32Array {
  try {
    return t.dataSync() as Float32Array;
  } catch (e) {
    if (tf.getBackend() === 'webgpu') {
      throw new Error(
        `the webgpu backend cannot read tensors synchronously under Node (TF.js reads through an OffscreenCanvas, which Node lacks): ` +
          `use the engine's async API (Explainer's methods, runAsync, incrementalLogitsAsync, evaluateBatchAsync) [${(e as Error).message}]`,
        { cause: e },
      );
    }
    throw e;
  }
}

/** Runs `g` reading every tensor with dataSync. A yielded Promise is an error (use runAsync). */
export function runSync<T>(g: Reads<T>): T {
  let r = g.next();
  while (!r.done) {
    let value: unknown;
    try {
      const step = r.value;
      if (!isTensor(step))
        throw new Error('an async callback (it returned a Promise) needs the async API; the sync one cannot wait for it');
      value = readSync(step);
    } catch (e) {
      r = g.throw(e); // the generator's finally blocks dispose what it holds
      continue;
    }
    r = g.next(value);
  }
  return r.value;
}

/** Runs `g` reading tensors with await data() (dataSync on host backends: the same values, no extra turn). */
export async function runAsync<T>(g: Reads<T>): Promise<T> {
  let r = g.next();
  while (!r.done) {
    let value: unknown;
    try {
      const step = r.value;
      if (!isTensor(step)) value = await step;
      else value = hostResidentBackend() ? step.dataSync() : await step.data();
    } catch (e) {
      r = g.throw(e);
      continue;
    }
    r = g.next(value);
  }
  return r.value;
}
