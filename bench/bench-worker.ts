/**
 * One backend's bench, run by bench.ts in a child process of its own: peak RSS is a
 * per-process high-water mark, a wasm heap never shrinks, and a backend that crashes natively
 * (Dawn, libtensorflow) must not take the other backends' results with it.
 *
 *   node bench-worker.js --backend wasm --model DIR/model.json --images 1 --batch 4 --cases a,b --result FILE
 */
import * as tf from '@tensorflow/tfjs';
import { writeFileSync } from 'node:fs';

import { webgpuOnSoftwareAdapter } from '../engine/backend.js';
import { ExplainEngine } from '../engine/explain-engine.js';
import type { BackendName } from '../engine/types.js';
import { presetBounds } from '../io/preprocess.js';
import { seededUniform as randomImage } from '../architectures/seeded-noise.js';
import { argValue } from './bench-args.js';
import { CASES, runCase, type CaseName, type CaseSpec } from './bench-cases.js';
import type { BackendResult, CaseResult, FailedCase, MemorySnapshot, WholeOutcome } from './bench-results.js';
import { benchIncremental } from './incremental.js';
import { benchWholeImage } from './whole-image.js';

function arg(name: string): string {
  const v = argValue(name);
  if (v === undefined) throw new Error(`bench-worker: --${name} is required (this file is started by bench.js, not by hand)`);
  return v;
}

function memory(backend: string): MemorySnapshot {
  const snap: MemorySnapshot = {
    rssBytes: process.memoryUsage().rss,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    tensorBytes: -1,
  };
  try {
    snap.tensorBytes = tf.memory().numBytes;
    if (backend === 'wasm') {
      // The wasm heap only grows (to at most 4 GiB); its size is the high-water mark of all passes so far.
      const heap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.buffer.byteLength;
      if (heap !== undefined) snap.wasmHeapBytes = heap;
    }
  } catch {
    // a backend that aborted cannot be asked; the process figures above still stand
  }
  return snap;
}

async function threadsOf(backend: string): Promise<number | undefined> {
  if (backend !== 'wasm') return undefined;
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  return wasm.getThreadsCount();
}

async function main(): Promise<void> {
  const backend = arg('backend') as BackendName;
  const modelPath = arg('model');
  const images = Number(arg('images'));
  const batch = Number(arg('batch'));
  const cases = arg('cases').split(',') as CaseName[];
  const resultFile = arg('result');
  const write = (r: BackendResult) => writeFileSync(resultFile, JSON.stringify(r, null, 2));

  const bounds = presetBounds('caffe', 3);
  let t = performance.now();
  let ex: ExplainEngine;
  try {
    ex = await ExplainEngine.load(modelPath, { backend, inputBounds: bounds });
  } catch (e) {
    write({ backend, status: 'unavailable', reason: (e as Error).message.split('\n')[0]! });
    return;
  }
  // Mesa's lavapipe gives Dawn a Vulkan device on machines without a GPU: correct, but CPU
  // emulation hours slower than wasm on VGG16. Measured only when asked for by name.
  if (webgpuOnSoftwareAdapter() && !process.argv.includes('--allow-software-webgpu')) {
    write({
      backend,
      status: 'unavailable',
      reason: `${ex.backendDetail ?? 'webgpu on a software adapter'}: no GPU here, so its timings would mean nothing; name it (--backend webgpu) to measure it anyway`,
    });
    ex.dispose();
    return;
  }
  const loadSeconds = (performance.now() - t) / 1000;
  const [h, w, c] = ex.inputShape;
  const count = Math.max(images, batch);
  const inputs = Array.from({ length: count }, (_, i) => randomImage(h * w * c, 1000 + i, bounds.low, bounds.high));

  // Cold start, timed on its own: compiles kernels, derives the rule weights (z⁺, zB) once and,
  // on wasm, grows the heap to its high-water mark. It runs the largest pass the batch-1 cases
  // make (all methods, 2 targets: a 6-row LRP pass), so no heap growth lands in a timed case.
  t = performance.now();
  await runCase(ex, CASES['all-b1'], [inputs[0]!]);
  const warmupSeconds = (performance.now() - t) / 1000;

  const timed = cases.filter((n) => !CASES[n].onePass);
  const probes = cases.filter((n) => CASES[n].onePass);
  const results: (CaseResult | FailedCase)[] = [];
  for (const name of timed) results.push(await timeCase(ex, CASES[name], inputs, images, batch));
  const threads = await threadsOf(ex.backend);
  const base = {
    backend,
    status: 'ok' as const,
    engineBackend: ex.backend,
    ...(threads !== undefined ? { threads } : {}),
    maxRowsPerPass: ex.maxRowsPerPass(),
    loadSeconds,
    warmupSeconds,
  };
  // Masked re-classification, full vs incremental (BENCHMARKS.md measurement (b)), on the same model and inputs.
  const incremental = await benchIncremental(ex.graph, inputs.slice(0, Math.max(1, Math.min(images, 2))), { centres: 8 });
  let whole: WholeOutcome | undefined;
  // Everything measured so far, with the memory now (rewritten after every phase).
  const save = (mem: MemorySnapshot) => write({ ...base, cases: results, memory: mem, incremental, ...(whole ? { whole } : {}) });
  // Written now, so the timed cases survive a probe that kills the process.
  save(memory(ex.backend));
  // The whole per-image work, stage code vs the naive sum (BENCHMARKS.md measurement (c)); its failure is recorded, not fatal.
  const wholeImages = Number(argValue('whole') ?? '0');
  if (wholeImages > 0) {
    try {
      // The bench inputs first, then more images of their own seeds where --whole asks for more.
      const wholeInputs = Array.from(
        { length: wholeImages },
        (_, i) => inputs[i] ?? randomImage(h * w * c, 2000 + i - inputs.length, bounds.low, bounds.high),
      );
      whole = await benchWholeImage(ex, wholeInputs);
    } catch (e) {
      const reason = (e as Error).message.split('\n')[0]!;
      process.stderr.write(`bench: whole image: failed: ${reason}\n`);
      whole = { status: 'failed', reason };
    }
    save(memory(ex.backend));
  }
  ex.dispose();

  for (const name of probes) {
    const spec = CASES[name];
    const label = labelOf(spec, batch);
    let probe: ExplainEngine | undefined;
    try {
      // A budget far above any machine: the engine then puts the whole batch in one pass.
      probe = await ExplainEngine.load(modelPath, { backend, inputBounds: bounds, memoryBudgetBytes: 1e15 });
      await runCase(probe, { ...CASES['lrp-1'], calls: [{ methods: ['lrp', 'gbp', 'gradcam'], targets: ['top1'] }] }, [inputs[0]!]);
      results.push(await timeCase(probe, spec, inputs, images, batch));
    } catch (e) {
      const msg = (e as Error).message.split('\n')[0]!;
      // Without emscripten assertions, running out of heap shows as an abort or a stray access.
      const heapFull = e instanceof WebAssembly.RuntimeError || /Aborted|memory access out of bounds/.test(msg);
      const reason =
        backend === 'wasm' && heapFull ? `wasm runtime error "${msg}": the one-pass batch does not fit in the 4 GiB wasm heap` : msg;
      process.stderr.write(`failed: ${reason}\n`);
      results.push({ name, label, status: 'failed', reason });
      save(memory(backend));
      return; // the backend is unusable after an abort
    }
    save(memory(probe.backend));
    probe.dispose();
  }
}

function labelOf(spec: CaseSpec, batch: number): string {
  return spec.label.replace('batch B', `batch ${batch}`);
}

/** Times one case over its inputs (the first `images`, or the first `batch` for batched cases). */
async function timeCase(ex: ExplainEngine, spec: CaseSpec, inputs: Float32Array[], images: number, batch: number): Promise<CaseResult> {
  const xs = spec.batching === 'batch' ? inputs.slice(0, batch) : inputs.slice(0, images);
  process.stderr.write(`bench: ${ex.backend}: ${labelOf(spec, batch)} (${xs.length} image${xs.length === 1 ? '' : 's'}) … `);
  const t = performance.now();
  await runCase(ex, spec, xs);
  const seconds = (performance.now() - t) / 1000;
  process.stderr.write(`${seconds.toFixed(1)} s\n`);
  return {
    name: spec.name,
    label: labelOf(spec, batch),
    images: xs.length,
    imagesPerCall: spec.batching === 'batch' ? xs.length : 1,
    maps: xs.length * spec.mapsPerImage,
    seconds,
    imagesPerSecond: xs.length / seconds,
    mapsPerSecond: spec.mapsPerImage > 0 ? (xs.length * spec.mapsPerImage) / seconds : null,
    memoryAfter: memory(ex.backend),
  };
}

main().catch((e: unknown) => {
  process.stderr.write(`bench-worker: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
