/**
 * Throughput of the whole benchmark protocol on a GPU backend (BENCHMARKS.md, GPU), written as the
 * one prepared, short script a lent GPU machine runs (`../shared/gpu/README.md`; 15 minutes of
 * device time per session, machine start included). Also runs anywhere else, e.g. on wasm or on
 * webgpu over Mesa's software Vulkan adapter, to check the script itself.
 *
 * On a VGG16-shaped model (random weights, 224×224; or `--model PATH`), for each batch size B:
 *   - forward:  `forwardAsync` of B images (logits only), images/s;
 *   - lrp:      `explainAsync` of B images, LRP for top1 (one forward + one relevance row per image);
 *   - whole:    `evaluateBatchAsync` of B samples with the paper's protocol (7 methods × gt, top2;
 *               5 patch sizes, incremental masking; pointing), what a pipeline worker runs;
 * and one kernel profile (`tf.profile`) of a forward and of an LRP call at the smallest B, summed
 * per kernel, to show where a relevance pass spends its time compared with the forward pass.
 * Every step is written to the JSON file as soon as it ends, so a run cut short by the device's
 * time limit still returns what it measured. `--seconds N` stops starting new steps after N s.
 *
 * Usage: node dist/bench/gpu-throughput.js [--backend webgpu] [--model PATH/model.json]
 *          [--batch 8,32,64] [--budget-gb 40] [--seconds 420] [--out FILE]
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { ExplainEngine } from '../engine/explain-engine.js';
import { runAsync } from '../engine/reads.js';
import { rankClasses } from '../engine/targets.js';
import type { BackendName } from '../engine/types.js';
import { presetBounds } from '../io/preprocess.js';
import { evaluateBatchAsync } from '../stages/evaluate.js';
import { seededUniform as randomImage } from '../architectures/seeded-noise.js';
import { machineInfo } from './bench-machine.js';
import { saveRandomVgg16 } from './random-vgg16.js';
import { benchSample, wholeProtocolOptions } from './whole-image.js';

export interface GpuArgs {
  backend: BackendName;
  model: string | null;
  batches: number[];
  budgetBytes: number | null;
  seconds: number;
  out: string;
}

export class GpuArgsError extends Error {}

export const GPU_USAGE = `usage: node dist/bench/gpu-throughput.js [options]
  --backend B     backend (default webgpu)
  --model PATH    a model.json (default: a VGG16 with random weights, built and saved here)
  --batch a,b     images per call (default 8,32,64)
  --budget-gb G   the engine's memory budget per pass in GB (default: the backend's own)
  --seconds N     start no new step after N seconds (default 420)
  --out FILE      JSON results (default bench-results/gpu-throughput.json)`;

export function parseGpuArgs(argv: readonly string[]): GpuArgs {
  const args: GpuArgs = {
    backend: 'webgpu',
    model: null,
    batches: [8, 32, 64],
    budgetBytes: null,
    seconds: 420,
    out: 'bench-results/gpu-throughput.json',
  };
  const positive = (flag: string, v: string | undefined, integer: boolean): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
      throw new GpuArgsError(`${flag} ${v ?? ''}: expected a positive ${integer ? 'integer' : 'number'}\n${GPU_USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => argv[++i];
    switch (flag) {
      case '--backend':
        args.backend = (value() ?? '') as BackendName;
        break;
      case '--model':
        args.model = value() ?? null;
        if (!args.model) throw new GpuArgsError(`--model needs a path\n${GPU_USAGE}`);
        break;
      case '--batch':
        args.batches = (value() ?? '').split(',').map((s) => positive('--batch', s.trim(), true));
        break;
      case '--budget-gb':
        args.budgetBytes = positive('--budget-gb', value(), false) * 1e9;
        break;
      case '--seconds':
        args.seconds = positive('--seconds', value(), false);
        break;
      case '--out':
        args.out = value() ?? args.out;
        break;
      default:
        throw new GpuArgsError(`unknown option ${flag}\n${GPU_USAGE}`);
    }
  }
  return args;
}

export interface StepResult {
  step: 'forward' | 'lrp' | 'whole';
  batch: number;
  /** Timed calls (after one untimed warm-up call of the same shape). */
  calls: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface KernelShare {
  kernel: string;
  ms: number;
  count: number;
}

export interface ProfileResult {
  what: 'forward' | 'lrp';
  batch: number;
  /** Σ kernel time; null where the backend gives no kernel timings. */
  totalMs: number | null;
  kernels: KernelShare[];
}

/** Kernel times summed per kernel name, largest first (pure; unit-tested). */
export function sumKernels(kernels: readonly { name: string; kernelTimeMs: unknown }[]): {
  totalMs: number | null;
  kernels: KernelShare[];
} {
  const by = new Map<string, KernelShare>();
  let timed = false;
  for (const k of kernels) {
    const ms = typeof k.kernelTimeMs === 'number' && Number.isFinite(k.kernelTimeMs) ? k.kernelTimeMs : 0;
    if (typeof k.kernelTimeMs === 'number') timed = true;
    const s = by.get(k.name) ?? { kernel: k.name, ms: 0, count: 0 };
    s.ms += ms;
    s.count++;
    by.set(k.name, s);
  }
  const list = [...by.values()].sort((a, b) => b.ms - a.ms);
  return { totalMs: timed ? list.reduce((a, s) => a + s.ms, 0) : null, kernels: list };
}

async function main(): Promise<void> {
  const args = parseGpuArgs(process.argv.slice(2));
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const log = (s: string) => process.stderr.write(`gpu-throughput [${elapsed().toFixed(0)} s]: ${s}\n`);
  const file = resolve(args.out);
  mkdirSync(dirname(file), { recursive: true });
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: machineInfo(),
    args,
    steps: [] as StepResult[],
    profiles: [] as ProfileResult[],
  };
  const save = () => writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);

  let dir: string | null = null;
  let modelPath = args.model;
  if (!modelPath) {
    // Built on wasm (weights initialised and saved from the host), then loaded on the backend measured.
    dir = mkdtempSync(join(tmpdir(), 'sglrp-gpu-'));
    ({ modelPath } = await saveRandomVgg16(dir));
    log(`VGG16 with random weights saved to ${modelPath}`);
  }
  try {
    const ex = await ExplainEngine.load(modelPath, {
      backend: args.backend,
      inputBounds: presetBounds('caffe', 3),
      ...(args.budgetBytes ? { memoryBudgetBytes: args.budgetBytes } : {}),
    });
    result['backend'] = ex.backend;
    result['backendDetail'] = ex.backendDetail ?? null;
    result['maxRowsPerPass'] = ex.maxRowsPerPass();
    log(`backend ${ex.backendDetail ?? ex.backend}; ${ex.maxRowsPerPass()} rows per pass`);
    save();
    const [h, w, c] = ex.inputShape;
    const bounds = presetBounds('caffe', 3);
    const biggest = Math.max(...args.batches);
    const inputs = Array.from({ length: biggest }, (_, i) => randomImage(h * w * c, 5000 + i, bounds.low, bounds.high));
    const logits = await runAsync(ex.logitsSteps(inputs));
    const samples = inputs.map((x, i) => benchSample(x, i, h, w, c, logits[i]!));
    const opts = wholeProtocolOptions(h, w, c);
    const top1 = (_i: number, _p: Float32Array, z: Float32Array) => [{ kind: 'top1' as const, classIndex: rankClasses(z)[0]! }];
    const calls: Record<StepResult['step'], (b: number) => Promise<void>> = {
      forward: async (b) => void (await runAsync(ex.forwardSteps(inputs.slice(0, b)))),
      lrp: async (b) =>
        void (await runAsync(
          ex.explainSteps(inputs.slice(0, b), top1, {
            methods: ['lrp'],
            variant: 'paper',
            seed: 0,
            imageIds: samples.slice(0, b).map((s) => s.id),
            withRaw: false,
          }),
        )),
      whole: async (b) => void (await evaluateBatchAsync(ex, samples.slice(0, b), opts)),
    };

    const steps = result['steps'] as StepResult[];
    for (const step of ['forward', 'lrp', 'whole'] as const) {
      for (const b of args.batches) {
        if (elapsed() > args.seconds) {
          log(`time limit (${args.seconds} s) reached: ${step} at batch ${b} and later steps not run`);
          result['cutShort'] = true;
          save();
          break;
        }
        await calls[step](b); // warm-up: shader compilation, derived weights, allocation
        const reps = step === 'whole' ? 1 : 3;
        const t = performance.now();
        for (let r = 0; r < reps; r++) await calls[step](b);
        const seconds = (performance.now() - t) / 1000;
        const row: StepResult = { step, batch: b, calls: reps, seconds, imagesPerSecond: (reps * b) / seconds };
        steps.push(row);
        log(`${step} batch ${b}: ${row.imagesPerSecond.toFixed(2)} images/s`);
        save();
      }
    }

    // Where the time goes: kernels of a forward call and of an LRP call (one relevance row per image).
    const b = Math.min(...args.batches);
    for (const what of ['forward', 'lrp'] as const) {
      if (elapsed() > args.seconds) break;
      const info = await tf.profile(() => calls[what](b));
      // kernelTimeMs is a number, or {error} where the backend cannot time kernels (no timestamp queries).
      const kernels = await Promise.all(
        info.kernels.map(async (k) => ({ name: k.name, kernelTimeMs: await Promise.resolve(k.kernelTimeMs as unknown) })),
      );
      const sums = sumKernels(kernels);
      (result['profiles'] as ProfileResult[]).push({ what, batch: b, ...sums, kernels: sums.kernels.slice(0, 25) });
      log(
        `profile ${what} batch ${b}: ${sums.totalMs === null ? 'no kernel timings on this backend' : `${sums.totalMs.toFixed(1)} ms in kernels`}`,
      );
      save();
    }
    ex.dispose();
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  result['seconds'] = elapsed();
  save();
  process.stdout.write(`wrote ${file}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof GpuArgsError ? e.message : `bench/gpu-throughput: ${(e as Error)?.stack ?? String(e)}`}\n`);
    process.exit(1);
  });
}
