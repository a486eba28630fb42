/**
 * Checks a run's setup once, in the main thread, before any shard is claimed or any file written:
 * the model loads, its input is the config's `model.size` (and the dataset's images decode to
 * its shape and channels), the Grad-CAM layer exists and outputs a feature map. These faults are
 * deterministic: retrying them per shard would only end in exit 3 and a requeue loop on a
 * cluster. A failure is one PreflightError (exit 2) that names the field and what to do.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { initBackend } from '../engine/backend.js';
import { defaultGradcamNode } from '../engine/explain-engine.js';
import { variantPreset } from '../engine/variants.js';
import { disposeGraph, nodeByName, type Graph } from '../engine/graph.js';
import { loadGraph } from '../engine/model-loader.js';
import { onnxFileProblem } from '../formats/onnx/index.js';
import { datasetFromConfig } from '../data/factory.js';
import type { DatasetReader } from '../data/types.js';
import { modelSourceOf, type RunConfig } from './config.js';

export class PreflightError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'PreflightError';
  }
}

/** Images tried for "one sample decodes" (unreadable images are recorded by the run, not fatal). */
const SAMPLES_TRIED = 16;

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}

/**
 * A TF.js model.json and every weight file it lists must exist: a missing file is a setup error of
 * the whole run, not of one shard.
 */
export async function checkModelFiles(modelPath: string, field = 'model.path'): Promise<void> {
  if (extname(modelPath).toLowerCase() !== '.json') {
    try {
      if (!(await stat(modelPath)).isFile()) throw new PreflightError(field, `${modelPath} is not a file`);
    } catch (err) {
      if (err instanceof PreflightError) throw err;
      throw new PreflightError(field, `${modelPath} does not exist; check ${field}`);
    }
    if (extname(modelPath).toLowerCase() === '.onnx') {
      const problem = onnxFileProblem(modelPath); // unreadable protobuf or missing external data
      if (problem) throw new PreflightError('model.path', problem);
    }
    return;
  }
  let json: { weightsManifest?: { paths?: unknown }[] };
  try {
    json = JSON.parse(await readFile(modelPath, 'utf8')) as typeof json;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PreflightError(
      'model.path',
      code === 'ENOENT' ? `${modelPath} does not exist` : `${modelPath} is not a readable model.json (${firstLine(err)})`,
    );
  }
  if (!Array.isArray(json.weightsManifest))
    throw new PreflightError(
      'model.path',
      `${modelPath} has no weightsManifest: not a TF.js LayersModel (Keras .h5/.keras and .onnx files load directly: pass that file instead)`,
    );
  const missing: string[] = [];
  for (const group of json.weightsManifest) {
    for (const p of Array.isArray(group?.paths) ? (group.paths as unknown[]) : []) {
      const file = resolve(dirname(modelPath), String(p));
      try {
        if (!(await stat(file)).isFile()) missing.push(String(p));
      } catch {
        missing.push(String(p));
      }
    }
  }
  if (missing.length > 0)
    throw new PreflightError(
      'model.path',
      `weight file(s) ${missing.join(', ')} listed in ${modelPath} are missing; copy every weight file next to model.json`,
    );
}

function checkInputSize(graph: Graph, config: RunConfig): void {
  const [h, w, c] = graph.inputShape;
  if (h !== config.model.size || w !== config.model.size) {
    throw new PreflightError(
      'model.size',
      `is ${config.model.size}, but the model takes ${h}×${w}×${c} inputs; set model.size: ${h === w ? h : `${h} (the model is not square: ${h}×${w})`}`,
    );
  }
}

function checkGradcamLayer(graph: Graph, config: RunConfig): void {
  if (!config.methods.includes('gradcam') && !config.methods.includes('ggcam')) return;
  let node;
  try {
    node = config.model.gradcamLayer
      ? nodeByName(graph, config.model.gradcamLayer)
      : defaultGradcamNode(graph, variantPreset(config.variant).gradcamLayer);
  } catch (err) {
    throw new PreflightError('model.gradcamLayer', firstLine(err));
  }
  if (node.outputShape.length !== 3) {
    throw new PreflightError(
      'model.gradcamLayer',
      `layer '${node.name}' outputs [${node.outputShape.join(', ')}], not a feature map (H×W×C); name a convolutional layer (or leave gradcamLayer out for the last one)`,
    );
  }
}

async function checkOneSample(reader: DatasetReader, graph: Graph, limit: number | null): Promise<void> {
  const [h, w, c] = graph.inputShape;
  const size = Math.min(reader.size(), limit ?? Infinity);
  for (let i = 0; i < Math.min(size, SAMPLES_TRIED); i++) {
    const r = await reader.read(i);
    if (!r.ok) continue;
    const s = r.sample;
    if (s.height !== h || s.width !== w || s.channels !== c) {
      throw new PreflightError(
        'dataset',
        `image ${s.id} decodes to ${s.height}×${s.width}×${s.channels}, but the model takes ${h}×${w}×${c}` +
          (s.channels !== c
            ? `: a ${c === 1 ? 'grayscale' : `${c}-channel`} model cannot read ${s.channels}-channel images; use a model for this dataset`
            : '; check model.size'),
      );
    }
    return;
  }
}

/**
 * Run every check; throws one PreflightError. Loads the model on the CPU backend of this (main)
 * thread and frees it again; the workers load their own copy on the run's backend.
 */
export async function preflight(config: RunConfig, limit: number | null): Promise<void> {
  const source = modelSourceOf(config.model);
  // With arch + weights the one file to check and name is the weight file.
  const [modelField, modelFile] = 'path' in source ? ['model.path', source.path] : ['model.weights', source.weights];
  await checkModelFiles(modelFile, modelField);
  let reader: DatasetReader;
  try {
    reader = datasetFromConfig(config);
  } catch (err) {
    throw new PreflightError('dataset', firstLine(err));
  }
  if (reader.size() === 0) throw new PreflightError('dataset', `${reader.name} has no images; check dataset.images`);
  await initBackend('cpu');
  let graph: Graph;
  try {
    graph = await loadGraph(source);
  } catch (err) {
    throw new PreflightError(
      modelField,
      `${modelFile} cannot be loaded: ${firstLine(err)} (a truncated or corrupt weight file? copy the model again)`,
    );
  }
  try {
    checkInputSize(graph, config);
    checkGradcamLayer(graph, config);
    await checkOneSample(reader, graph, limit);
  } finally {
    disposeGraph(graph);
  }
}
