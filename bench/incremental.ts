/**
 * BENCHMARKS.md measurement (b): masked re-classification, full vs incremental, per patch size.
 *
 * On the model of `graph` (the bench's VGG16-shaped model: 224×224×3, random weights), for each
 * patch size p it masks `centres` seeded random centres of each image with a p×p patch of the
 * fill (zeros in preprocessed space = the channel mean) and times
 *   - full:        the masked images through `ExplainEngine.forwardSteps` (a full re-classification);
 *   - incremental: `incrementalLogits` from the unmasked images' forward cache.
 * The forward-with-cache of the unmasked images is timed on its own: in the pipeline it is the
 * forward pass the maps already need (engine/explainer.ts), so per p it is not charged; the
 * `all sizes` row charges it, as a run that cannot reuse it would pay it once per image.
 * Every incremental logit is checked against the full one (1e-5 relative), so a fast wrong
 * answer cannot be timed.
 *
 * Library use (bench-worker.ts, with the worker's ExplainEngine): `benchIncremental(ex.graph, …)`.
 * Standalone: `node dist/bench/incremental.js [--centres N] [--images N] [--backend wasm] [--out FILE]`.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { initBackend } from '../engine/backend.js';
import { ExplainEngine } from '../engine/explain-engine.js';
import { runAsync } from '../engine/reads.js';
import { disposeCache, forwardWithCache } from '../engine/forward.js';
import { disposeGraph, type Graph } from '../engine/graph.js';
import { emptyStats, incrementalLogitsAsync, type MaskedVariant } from '../engine/incremental.js';
import { graphFromLayersModel } from '../engine/model-loader.js';
import type { BackendName } from '../engine/types.js';
import { presetBounds } from '../io/preprocess.js';
import { applyPatch, patchBounds, type PatchBounds } from '../stages/masking-geometry.js';
import { buildVgg16 } from '../architectures/vgg.js';
import { seededUniform as randomImage } from '../architectures/seeded-noise.js';
import { argValue } from './bench-args.js';
import { LoadSampler, machineInfo, type MachineInfo } from './bench-machine.js';

export interface IncrementalRow {
  /** Patch size, or 0 for all sizes together (with the forward-with-cache charged). */
  patchSize: number;
  masked: number;
  fullSeconds: number;
  incrementalSeconds: number;
  fullImagesPerSecond: number;
  incrementalImagesPerSecond: number;
  speedup: number;
  /** Multiply-adds of the Conv2D/Dense layers run, as a share of the full passes' (the all-sizes row counts the forward with cache). */
  macFraction: number;
  /** Largest |incremental − full| / max|full logit| over the masked images. */
  maxRelError: number;
}

export interface IncrementalBenchResult {
  backend: string;
  images: number;
  centresPerImage: number;
  /** Seconds of the forward pass with cache, per image (what the maps already pay). */
  cacheForwardSecondsPerImage: number;
  rows: IncrementalRow[];
  /** Mean of the per-p speed-ups (performance target: ≥ 4). */
  meanSpeedup: number;
}

export interface IncrementalBenchOptions {
  patchSizes?: number[];
  /** Masked centres per image and patch size (default 8). */
  centres?: number;
  seed?: number;
  /** Passed to incrementalLogits. */
  maxBatch?: number;
  log?: (s: string) => void;
}

/** Seeded centres, uniform over the image (some land near the border, as real arg-maxes do). */
function centresOf(n: number, h: number, w: number, seed: number): [number, number][] {
  const u = randomImage(2 * n, seed);
  return Array.from({ length: n }, (_, i) => [Math.min(h - 1, Math.floor(u[2 * i]! * h)), Math.min(w - 1, Math.floor(u[2 * i + 1]! * w))]);
}

function relError(got: Float32Array, want: Float32Array[], k: number): number {
  let worst = 0;
  want.forEach((z, i) => {
    const scale = Math.max(1e-12, ...Array.from(z, Math.abs));
    for (let j = 0; j < k; j++) worst = Math.max(worst, Math.abs(got[i * k + j]! - z[j]!) / scale);
  });
  return worst;
}

export async function benchIncremental(
  graph: Graph,
  images: Float32Array[],
  options: IncrementalBenchOptions = {},
): Promise<IncrementalBenchResult> {
  const log = options.log ?? ((s: string) => process.stderr.write(s));
  const sizes = options.patchSizes ?? [1, 3, 5, 7, 9];
  const nCentres = options.centres ?? 8;
  const [h, w, c] = graph.inputShape;
  const k = graph.numClasses;
  const fill = new Float32Array(h * w * c);
  // ExplainEngine.forwardSteps is a full re-classification (chunked to the heap).
  // Not disposed: it would dispose the caller's graph.
  const ex = ExplainEngine.fromGraph(graph, { inputBounds: presetBounds('caffe', 3) });

  // Warm-up: kernels and the wasm heap, for both paths, outside the timings.
  const warm = patchBounds(h >> 1, w >> 1, 9, h, w);
  await runAsync(ex.forwardSteps([applyPatch(images[0]!, h, w, c, warm, fill)]));
  const x0 = tf.tensor4d(images[0]!, [1, h, w, c]);
  const c0 = forwardWithCache(graph, x0);
  x0.dispose();
  tf.dispose(
    await incrementalLogitsAsync(
      c0,
      [
        { image: 0, ...warm, fill },
        { image: 0, ...patchBounds(0, 0, 1, h, w), fill },
      ],
      { maxBatch: options.maxBatch ?? 32 },
    ),
  );
  disposeCache(c0);

  let t = performance.now();
  const x = tf.tensor4d(Float32Array.from(images.flatMap((a) => Array.from(a))), [images.length, h, w, c]);
  const cache = forwardWithCache(graph, x);
  x.dispose();
  const cacheSeconds = (performance.now() - t) / 1000;
  log(`bench: incremental: forward with cache ${(cacheSeconds / images.length).toFixed(2)} s/image\n`);

  const rows: IncrementalRow[] = [];
  const all = { masked: 0, full: 0, inc: cacheSeconds, macs: 0, total: 0, err: 0 };
  let perImageMacs = 0;
  try {
    for (const p of sizes) {
      const masks: { image: number; b: PatchBounds }[] = [];
      images.forEach((_, image) => {
        for (const [r, cc] of centresOf(nCentres, h, w, (options.seed ?? 1) * 1000 + p * 10 + image))
          masks.push({ image, b: patchBounds(r, cc, p, h, w) });
      });
      const inputs = masks.map((m) => applyPatch(images[m.image]!, h, w, c, m.b, fill));
      t = performance.now();
      const full = await runAsync(ex.logitsSteps(inputs));
      const fullSeconds = (performance.now() - t) / 1000;

      const stats = emptyStats();
      const variants: MaskedVariant[] = masks.map((m) => ({ image: m.image, ...m.b, fill }));
      t = performance.now();
      const z = await incrementalLogitsAsync(cache, variants, { stats, ...(options.maxBatch ? { maxBatch: options.maxBatch } : {}) });
      const zd = (await z.data()) as Float32Array;
      const incSeconds = (performance.now() - t) / 1000;
      z.dispose();
      const err = relError(zd, full, k);
      if (!(err <= 1e-5)) throw new Error(`bench: incremental logits differ from the full pass by ${err} (relative) at p = ${p}`);
      const row: IncrementalRow = {
        patchSize: p,
        masked: masks.length,
        fullSeconds,
        incrementalSeconds: incSeconds,
        fullImagesPerSecond: masks.length / fullSeconds,
        incrementalImagesPerSecond: masks.length / incSeconds,
        speedup: fullSeconds / incSeconds,
        macFraction: stats.macs / stats.fullPassMacs,
        maxRelError: err,
      };
      rows.push(row);
      all.masked += masks.length;
      all.full += fullSeconds;
      all.inc += incSeconds;
      all.err = Math.max(all.err, err);
      all.macs += stats.macs;
      all.total += stats.fullPassMacs;
      perImageMacs = stats.fullPassMacs / masks.length;
      log(
        `bench: incremental p=${p}: ${masks.length} masked, full ${fullSeconds.toFixed(1)} s, incremental ${incSeconds.toFixed(2)} s → ${row.speedup.toFixed(1)}×\n`,
      );
    }
  } finally {
    disposeCache(cache);
  }
  rows.push({
    patchSize: 0,
    masked: all.masked,
    fullSeconds: all.full,
    incrementalSeconds: all.inc,
    fullImagesPerSecond: all.masked / all.full,
    incrementalImagesPerSecond: all.masked / all.inc,
    speedup: all.full / all.inc,
    macFraction: (all.macs + perImageMacs * images.length) / all.total,
    maxRelError: all.err,
  });
  const perP = rows.filter((r) => r.patchSize > 0);
  return {
    backend: tf.getBackend(),
    images: images.length,
    centresPerImage: nCentres,
    cacheForwardSecondsPerImage: cacheSeconds / images.length,
    rows,
    meanSpeedup: perP.reduce((s, r) => s + r.speedup, 0) / perP.length,
  };
}

/** Markdown table (pastes into BENCHMARKS.md). */
export function formatIncrementalTable(r: IncrementalBenchResult): string {
  const lines = [
    `**(b) masked re-classification, ${r.backend}**: ${r.images} image(s) × ${r.centresPerImage} centres per patch size; forward with cache ${r.cacheForwardSecondsPerImage.toFixed(2)} s/image`,
    '',
    '| p | masked | full s | full images/s | incremental s | incremental images/s | speed-up | Conv/Dense MACs run (of full) | max rel. error |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of r.rows) {
    const label = row.patchSize === 0 ? 'all, incl. the forward with cache' : String(row.patchSize);
    lines.push(
      `| ${label} | ${row.masked} | ${row.fullSeconds.toFixed(1)} | ${row.fullImagesPerSecond.toFixed(2)} | ${row.incrementalSeconds.toFixed(2)} | ${row.incrementalImagesPerSecond.toFixed(2)} | ${row.speedup.toFixed(1)}× | ${(100 * row.macFraction).toFixed(1)}% | ${row.maxRelError.toExponential(1)} |`,
    );
  }
  lines.push('', `mean speed-up over p: **${r.meanSpeedup.toFixed(1)}×** (performance target ≥ 4×)`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const backend = (argValue('backend') ?? 'wasm') as BackendName;
  await initBackend(backend);
  const load = new LoadSampler();
  const model = buildVgg16();
  const graph = graphFromLayersModel(model);
  model.dispose();
  const bounds = presetBounds('caffe', 3);
  const [h, w, c] = graph.inputShape;
  const images = Array.from({ length: Number(argValue('images') ?? '1') }, (_, i) =>
    randomImage(h * w * c, 1000 + i, bounds.low, bounds.high),
  );
  const result = await benchIncremental(graph, images, { centres: Number(argValue('centres') ?? '8') });
  disposeGraph(graph);
  const out = { date: new Date().toISOString(), machine: machineInfo() as MachineInfo, load: load.stop(), ...result };
  const file = resolve(argValue('out') ?? 'bench-results/incremental.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  const m = out.machine;
  process.stdout.write(
    `\n${m.cpuModel}, nproc ${m.nproc}, Node ${m.node}; load average (1 min) before ${out.load.before.toFixed(2)}, max ${out.load.max.toFixed(2)}\n\n${formatIncrementalTable(result)}\n\nwrote ${file}\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`bench/incremental: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  });
}
