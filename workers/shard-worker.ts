import { join } from 'node:path';
import { threadId, type MessagePort } from 'node:worker_threads';
import { mkdir, writeFile } from 'node:fs/promises';
import { ExplainEngine } from '../engine/explain-engine.js';
import type { Explanation } from '../engine/types.js';
import { datasetFromConfig } from '../data/factory.js';
import type { DatasetReader, Sample } from '../data/types.js';
import { encodePng, heatmapRgb, overlayRgb, upscaleNearest } from '../io/heatmap.js';
import { readNpy, writeNpy } from '../io/npy.js';
import { modelSourceOf, type RunConfig } from '../pipeline/config.js';
import { failedImageCount, type ImageProgressMessage } from '../pipeline/progress-model.js';
import { testFailure, testHook } from '../pipeline/test-hooks.js';
import { evaluateBatchAsync } from '../stages/evaluate.js';
import { metricConfigsOf } from '../metrics/registry.js';
import { fillImage } from '../stages/masking-geometry.js';
import { mergeRows, pushRows, type TableRows } from '../stages/rows.js';
import { ExampleKeeper, randomExampleKey, sglrpAdvantage } from '../stages/report/example-choice.js';
import { statsRow } from '../stages/stats.js';
import type { Row } from '../results/schemas.js';

/**
 * The piscina worker: one shard per task. The model (and its derived weights) and the dataset
 * reader are loaded once per thread and kept; batches are read, evaluated and turned into rows
 * that go back to the main thread's table writers.
 */
export interface ShardTask {
  phase: 'stats' | 'main';
  shard: { index: number; start: number; end: number };
  config: RunConfig;
  runDir: string;
  /** Path of the dataset mean image (main phase with a mean-based fill). */
  meanPath?: string;
  /** Images per batch (0 = automatic). */
  batchSize: number;
  /**
   * Where to report finished images while the shard runs (transferred with the task); the
   * shard's result alone would move the progress bar only once per shard.
   */
  progress?: MessagePort;
}

export interface ShardResult {
  rows: TableRows;
  imageCount: number;
  seconds: number;
  backend: string;
  /** What `backend` alone does not say (webgpu: the adapter, flagged when software); absent otherwise. */
  backendDetail?: string;
}

interface WorkerState {
  key: string;
  explainer: ExplainEngine;
  reader: DatasetReader;
  fill: Float32Array | null;
  fillKey: string;
}
let state: WorkerState | undefined;

async function stateFor(task: ShardTask): Promise<WorkerState> {
  const c = task.config;
  const key = JSON.stringify([c.model, c.backend, c.dataset, c.passBudgetMB]);
  if (!state || state.key !== key) {
    state?.explainer.dispose();
    await testHook('model-load', task.phase, task.shard.index);
    const explainer = await ExplainEngine.load(modelSourceOf(c.model), {
      backend: c.backend,
      inputBounds: { low: c.model.inputBounds[0], high: c.model.inputBounds[1] },
      ...(c.passBudgetMB === 'auto' ? {} : { memoryBudgetBytes: c.passBudgetMB * 1e6 }),
    });
    state = { key, explainer, reader: datasetFromConfig(c), fill: null, fillKey: '' };
  }
  return state;
}

async function fillFor(s: WorkerState, task: ShardTask): Promise<Float32Array> {
  const [h, w, c] = s.explainer.inputShape;
  const key = `${task.config.masking.fill}|${task.meanPath ?? ''}`;
  if (!s.fill || s.fillKey !== key) {
    const mean = task.meanPath ? (await readNpy(task.meanPath)).data : null;
    s.fill = fillImage(task.config.masking.fill, mean, h, w, c);
    s.fillKey = key;
  }
  return s.fill;
}

/**
 * Images per batch: what one relevance pass can hold with every seed of an image (the methods'
 * rows per target, from the method registry, times the targets), as the explainer sizes its own
 * micro-batches, so a batch is one pass.
 */
function batchSizeFor(s: WorkerState, task: ShardTask): number {
  if (task.batchSize > 0) return task.batchSize;
  const c = task.config;
  return Math.min(32, s.explainer.imagesPerPass(c.methods, c.variant, c.targets.length));
}

/**
 * A wasm instance that ran out of its 4 GiB heap is unusable afterwards ("Aborted()", bounds
 * errors). After reporting the failure, such a worker thread exits so the pool replaces it with
 * a fresh one and the shard's retry starts clean.
 */
function isFatalRuntimeError(err: unknown): boolean {
  return /Aborted\(|memory access out of bounds|out of memory|RuntimeError/i.test(String((err as Error)?.message ?? err));
}

export default async function runShard(task: ShardTask): Promise<ShardResult> {
  try {
    return await runShardOnce(task);
  } catch (err) {
    if (isFatalRuntimeError(err)) {
      state = undefined;
      setTimeout(() => process.exit(70), 50);
    }
    throw err;
  }
}

async function runShardOnce(task: ShardTask): Promise<ShardResult> {
  const t0 = performance.now();
  const s = await stateFor(task);
  const rows: TableRows = {};
  const { start, end } = task.shard;
  const batch = batchSizeFor(s, task);
  const stats = task.phase === 'stats';
  const fill = stats ? null : await fillFor(s, task);
  const readable: Sample[] = [];
  // Report examples: this shard's biggest SGLRP wins and losses and seeded random images (docs/PROTOCOL.md §8).
  const examples = new ExampleKeeper<{ sample: Sample; list: Explanation[] }>(stats ? 0 : task.config.examples);
  const injected = testFailure(task.phase, task.shard.index);
  if (injected) throw injected;
  // Finished images go to the main thread after each batch: a batch's images finish together
  // (one forward and one relevance pass), and where images are slow (VGG16) the automatic batch
  // holds a single image, so the bar moves per image exactly where it matters.
  let finished = 0;
  let failed = 0;
  const report = (images: number, failures: number) => {
    finished += images;
    failed += failures;
    const message: ImageProgressMessage = { phase: task.phase, shard: task.shard.index, finished, failed, thread: threadId };
    task.progress?.postMessage(message);
  };
  for (let from = start; from < end; from += batch) {
    if (from > start) await testHook('mid-shard', task.phase, task.shard.index);
    const samples: Sample[] = [];
    for (let i = from; i < Math.min(end, from + batch); i++) {
      const r = await s.reader.read(i);
      if (r.ok) samples.push(r.sample);
      else pushRows(rows, 'errors', [{ image_id: r.error.id, image_index: r.error.index, stage: 'read', reason: r.error.reason }]);
    }
    const batchSize = Math.min(end, from + batch) - from;
    if (stats) {
      readable.push(...samples);
      report(batchSize, batchSize - samples.length);
      continue;
    }
    if (samples.length === 0) {
      report(batchSize, batchSize);
      continue;
    }
    const c = task.config;
    // Async: the webgpu backend cannot read tensors synchronously under Node (engine/reads.ts).
    const res = await evaluateBatchAsync(s.explainer, samples, {
      methods: c.methods,
      variant: c.variant,
      ...(c.composite !== undefined ? { composite: c.composite } : {}),
      targets: c.targets,
      seed: c.seed,
      gradcamLayer: c.model.gradcamLayer,
      metricConfigs: metricConfigsOf(c),
      fill: fill!,
    });
    explainAnnotationErrors(res.rows, samples);
    pushRows(rows, 'errors', annotationErrors(samples));
    mergeRows(rows, res.rows);
    await keepMaps(task, samples, res.explanations);
    offerExamples(examples, task, samples, res.rows.masking ?? [], res.explanations);
    report(batchSize, batchSize - samples.length + failedImageCount(res.rows.errors));
  }
  await writeExamples(task, examples);
  if (stats) {
    const size = s.explainer.inputShape.reduce((a, b) => a * b, 1);
    pushRows(rows, 'stats', [statsRow(readable, task.shard.index, size)]);
  }
  const detail = s.explainer.backendDetail;
  return {
    rows,
    imageCount: end - start,
    seconds: (performance.now() - t0) / 1000,
    backend: s.explainer.backend,
    ...(detail ? { backendDetail: detail } : {}),
  };
}

/**
 * An errors row for each labelled image whose every ground-truth box was dropped (inverted, or
 * outside the image): it is measured by masking but left out of the pointing game, and says why,
 * naming the image and quoting the boxes as they are in the annotation file. Reads the generic
 * `Sample.annotation` notes, so this works for any dataset whose reader fills them.
 */
function annotationErrors(samples: Sample[]): Row[] {
  const out: Row[] = [];
  for (const s of samples) {
    const dropped = s.annotation?.droppedBoxes ?? [];
    if (s.label < 0 || s.boxes.length > 0 || dropped.length === 0) continue;
    const reasons = [...new Set(dropped)];
    out.push({
      image_id: s.id,
      image_index: s.index,
      stage: 'pointing',
      reason: `${s.id}: no usable ground-truth box (${reasons.join('; ')}); the image is left out of the pointing game`,
    });
  }
  return out;
}

/** Adds the annotation's own explanation (e.g. "no annotation for this image") to errors rows of unlabelled images. */
function explainAnnotationErrors(rows: TableRows, samples: Sample[]): void {
  for (const row of rows.errors ?? []) {
    const s = samples.find((x) => x.index === row['image_index']);
    const issues = s && s.label < 0 ? (s.annotation?.issues ?? []) : [];
    if (issues.length > 0) row['reason'] = `${String(row['reason'])} (annotation: ${issues.join('; ')})`;
  }
}

/** An image id as a file name (folder datasets use ids like `n01440764/x`). */
function fileSafe(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** With keepMaps, every map of the batch as .npy. */
async function keepMaps(task: ShardTask, samples: Sample[], explanations: Map<string, Explanation[]>): Promise<void> {
  if (!task.config.keepMaps) return;
  const mapsDir = join(task.runDir, 'maps');
  await mkdir(mapsDir, { recursive: true });
  for (const sample of samples) {
    for (const e of explanations.get(sample.id) ?? [])
      await writeNpy(join(mapsDir, `${fileSafe(sample.id)}_${e.method}_${e.target.kind}.npy`), e.map, [e.height, e.width]);
  }
}

/** Offers each image of a batch to the shard's example keeper, scored by its masking rows. */
function offerExamples(
  keeper: ExampleKeeper<{ sample: Sample; list: Explanation[] }>,
  task: ShardTask,
  samples: Sample[],
  masking: Row[],
  explanations: Map<string, Explanation[]>,
): void {
  for (const sample of samples) {
    const list = explanations.get(sample.id) ?? [];
    if (list.length === 0) continue;
    const drops = masking
      .filter((r) => r['image_id'] === sample.id)
      .map((r) => ({
        method: String(r['method']),
        targetKind: String(r['target_kind']),
        patchSize: Number(r['patch_size']),
        drop: Number(r['drop']),
      }));
    keeper.offer(
      { imageId: sample.id, advantage: sglrpAdvantage(drops), randomKey: randomExampleKey(task.config.seed, sample.id) },
      { sample, list },
    );
  }
}

/** Example heatmaps (input and every map over it) of the images the keeper chose. */
async function writeExamples(task: ShardTask, keeper: ExampleKeeper<{ sample: Sample; list: Explanation[] }>): Promise<void> {
  for (const {
    payload: { sample, list },
  } of keeper.chosen()) {
    const dir = join(task.runDir, 'examples', fileSafe(sample.id));
    await mkdir(dir, { recursive: true });
    const { height: h, width: w } = sample;
    const factor = Math.max(1, Math.ceil(192 / Math.max(h, w)));
    const png = (rgb: Uint8Array) => encodePng(upscaleNearest(rgb, h, w, factor), h * factor, w * factor);
    await writeFile(join(dir, 'input.png'), await png(sample.display));
    for (const e of list)
      await writeFile(
        join(dir, `${e.method}_${e.target.kind}.png`),
        await png(overlayRgb(heatmapRgb(e.map, h, w), sample.display, h, w, 0.7)),
      );
  }
}
