/**
 * Where the report's numbers come from: the resolved config, the model (files and their sha256,
 * input shape, preprocessing, parameter count), the dataset (paths, annotation form and sha256,
 * images planned / evaluated / failed), the classifier's own accuracy on the evaluated images,
 * the software (sglrp version and git commit, Node, TF.js) and, per shard, the backend, device,
 * host and seconds. Written to provenance.json and shown at the top of the report.
 */
import { extname } from 'node:path';
import { formatOf, loadModelSource, type ModelSource } from '../../formats/index.js';
import { onnxExternalDataFiles } from '../../formats/onnx/index.js';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../io/project-root.js';
import { plannedImages } from './model.js';
import type { ForwardInfo } from './per-image.js';
import { classifierAccuracy } from './per-image.js';
import { readRunConfig, readShardRuns, type ShardRun } from './run-records.js';
import type { Counts, RunInfo } from './types.js';

export interface FileDigest {
  path: string;
  bytes: number;
  sha256: string;
}

export interface ModelProvenance {
  path: string | null;
  /** model.json's own `format` (layers-model, graph-model) or the file extension. */
  format: string | null;
  files: FileDigest[];
  inputShape: (number | null)[] | null;
  preprocess: string | null;
  geometry: string | null;
  size: number | null;
  /** Σ of the weight tensors' element counts (from the weights manifest). */
  parameters: number | null;
}

export interface DatasetProvenance {
  /** The dataset block of the resolved config (kind, paths, split, seed, count). */
  spec: Record<string, unknown> | null;
  annotations: { form: string; path: string; sha256: string | null; files: number } | null;
  planned: number | null;
  evaluated: number;
  failed: number;
}

export interface RunProvenance {
  runDir: string;
  config: Record<string, unknown> | null;
  configHash: string | null;
  variant: string | null;
  seed: number | null;
  model: ModelProvenance;
  dataset: DatasetProvenance;
  shards: ShardRun[];
  /** Earliest shard start (finish − seconds) and latest finish, ISO times; null when unknown. */
  start: string | null;
  end: string | null;
  /** Σ seconds of every shard record (worker time, all phases). */
  computeSeconds: number;
  backends: string[];
  hosts: string[];
}

export interface Provenance {
  generatedAt: string;
  software: { sglrp: string | null; gitCommit: string | null; node: string; tfjs: string | null };
  classifier: { labelled: number; top1: number; top5: number };
  runs: RunProvenance[];
}

async function sha256File(path: string): Promise<FileDigest | null> {
  try {
    const data = await fs.readFile(path);
    return { path, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
  } catch {
    return null;
  }
}

const obj = (v: unknown): Record<string, unknown> | null =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** A TF.js model.json: its weight files (paths relative to it), input shape and parameter count. */
function tfjsModelFacts(json: Record<string, unknown>): {
  format: string | null;
  weightFiles: string[];
  inputShape: (number | null)[] | null;
  parameters: number | null;
} {
  const groups = Array.isArray(json.weightsManifest) ? (json.weightsManifest as Record<string, unknown>[]) : [];
  const weightFiles = groups.flatMap((g) =>
    Array.isArray(g.paths) ? (g.paths as unknown[]).filter((p): p is string => typeof p === 'string') : [],
  );
  let parameters = 0;
  for (const g of groups)
    for (const w of Array.isArray(g.weights) ? (g.weights as Record<string, unknown>[]) : []) {
      if (Array.isArray(w.shape)) parameters += (w.shape as number[]).reduce((a, b) => a * b, 1);
    }
  // The topology is the model itself or, as tensorflowjs_converter writes it, wrapped in model_config;
  // its config is either the layer list (old Sequential) or an object holding `layers`.
  const topology = obj(json.modelTopology);
  const modelConfig = obj(topology?.model_config) ?? topology;
  const config = modelConfig?.config;
  const layers = Array.isArray(config) ? config : obj(config)?.layers;
  const first = Array.isArray(layers) ? obj(obj(layers[0])?.config) : null;
  const shape = first?.batch_input_shape ?? first?.batchInputShape;
  return {
    format: str(json.format),
    weightFiles,
    inputShape: Array.isArray(shape) ? (shape as (number | null)[]).slice(1) : null,
    parameters: groups.length ? parameters : null,
  };
}

async function modelProvenance(model: Record<string, unknown> | null): Promise<ModelProvenance> {
  const path = str(model?.path);
  const base = { path, preprocess: str(model?.preprocess), geometry: str(model?.geometry), size: num(model?.size) };
  const arch = str(model?.arch);
  const weightFile = str(model?.weights);
  if (!path && arch && weightFile) {
    // A Keras application weight file loaded into the project's builder (formats/index.ts).
    const file = await sha256File(weightFile);
    return {
      ...base,
      format: `keras-weights:${arch}`,
      files: file ? [file] : [],
      ...(await importedModelFacts({ arch, weights: weightFile })),
    };
  }
  if (!path) return { ...base, format: null, files: [], inputShape: null, parameters: null };
  const main = await sha256File(path);
  if (!main) return { ...base, format: path.split('.').pop() ?? null, files: [], inputShape: null, parameters: null };
  if (!path.endsWith('.json')) {
    // ONNX / Keras files: hash them (and an .onnx file's external data) and read the facts from the loaded model.
    let extra: string[] = [];
    try {
      if (extname(path).toLowerCase() === '.onnx') extra = onnxExternalDataFiles(path);
    } catch {
      // unreadable: the loader below says nothing either; the digest of the file itself stands
    }
    const digests = await Promise.all(extra.map((f) => sha256File(f)));
    return {
      ...base,
      format: formatOf(path).name,
      files: [main, ...digests.filter((d): d is FileDigest => d !== null)],
      ...(await importedModelFacts({ path })),
    };
  }
  let facts: ReturnType<typeof tfjsModelFacts> = { format: null, weightFiles: [], inputShape: null, parameters: null };
  try {
    facts = tfjsModelFacts(JSON.parse(await fs.readFile(path, 'utf8')) as Record<string, unknown>);
  } catch {
    // not a TF.js model.json: its digest is still recorded
  }
  const weights = await Promise.all(facts.weightFiles.map((w) => sha256File(resolve(dirname(path), w))));
  return {
    ...base,
    format: facts.format,
    files: [main, ...weights.filter((w): w is FileDigest => w !== null)],
    inputShape: facts.inputShape,
    parameters: facts.parameters,
  };
}

/** sha256 of an annotation file, or of a folder's files in name order (name and bytes of each). */
async function annotationsProvenance(dataset: Record<string, unknown> | null): Promise<DatasetProvenance['annotations']> {
  const ann = obj(dataset?.annotations);
  const form = str(ann?.kind);
  const path = str(ann?.path) ?? str(ann?.dir);
  if (!form || !path) return null;
  if (str(ann?.path)) {
    const d = await sha256File(path);
    return { form, path, sha256: d?.sha256 ?? null, files: d ? 1 : 0 };
  }
  const names = (await fs.readdir(path).catch(() => [] as string[])).sort();
  const hash = createHash('sha256');
  let files = 0;
  for (const name of names) {
    const data = await fs.readFile(join(path, name)).catch(() => null);
    if (!data) continue;
    hash.update(`${name}\u0000${data.length}\u0000`).update(data);
    files++;
  }
  return { form, path, sha256: files ? hash.digest('hex') : null, files };
}

const execFileP = promisify(execFile);

/** The checkout's commit, when the project is a git checkout and git is installed. */
async function gitCommit(root: string): Promise<string | null> {
  try {
    const { stdout } = await execFileP('git', ['rev-parse', 'HEAD'], { cwd: root, timeout: 5000 });
    const dirty = await execFileP('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, timeout: 5000 }).then(
      (r) => r.stdout.trim() !== '',
      () => false,
    );
    return `${stdout.trim()}${dirty ? ' (with uncommitted changes)' : ''}`;
  } catch {
    return null;
  }
}

async function packageVersion(packageJson: string): Promise<string | null> {
  try {
    return str((JSON.parse(await fs.readFile(packageJson, 'utf8')) as Record<string, unknown>).version);
  } catch {
    return null;
  }
}

function tfjsVersionPath(root: string): string | null {
  try {
    return createRequire(join(root, 'package.json')).resolve('@tensorflow/tfjs/package.json');
  } catch {
    return null;
  }
}

function timeSpan(shards: readonly ShardRun[]): { start: string | null; end: string | null } {
  let start = Infinity;
  let end = -Infinity;
  for (const s of shards) {
    const t = s.finishedAt ? Date.parse(s.finishedAt) : NaN;
    if (!Number.isFinite(t)) continue;
    end = Math.max(end, t);
    start = Math.min(start, t - (s.seconds ?? 0) * 1000);
  }
  return Number.isFinite(start) ? { start: new Date(start).toISOString(), end: new Date(end).toISOString() } : { start: null, end: null };
}

export interface ProvenanceInput {
  runs: readonly RunInfo[];
  counts: Counts;
  forward: readonly (ForwardInfo | undefined)[];
  generatedAt: string;
}

export async function collectProvenance(input: ProvenanceInput): Promise<Provenance> {
  const root = projectRoot();
  const tfjsPkg = tfjsVersionPath(root);
  const runs: RunProvenance[] = [];
  for (const run of input.runs) {
    const config = await readRunConfig(run.runDir);
    const shards = await readShardRuns(run.runDir);
    const dataset = obj(config?.dataset);
    runs.push({
      runDir: run.runDir,
      config,
      configHash: run.configHash,
      variant: str(config?.variant),
      seed: num(config?.seed),
      model: await modelProvenance(obj(config?.model)),
      dataset: {
        spec: dataset,
        annotations: await annotationsProvenance(dataset),
        planned: plannedImages(run),
        evaluated: input.counts.imagesByTable.forward ?? 0,
        failed: input.counts.errorImages,
      },
      shards,
      ...timeSpan(shards),
      computeSeconds: shards.reduce((s, r) => s + (r.seconds ?? 0), 0),
      backends: [...new Set(shards.map((s) => s.backendDetail ?? s.backend).filter((b): b is string => b !== null))].sort(),
      hosts: [...new Set(shards.map((s) => s.host).filter((h): h is string => h !== null))].sort(),
    });
  }
  return {
    generatedAt: input.generatedAt,
    software: {
      sglrp: await packageVersion(join(root, 'package.json')),
      gitCommit: await gitCommit(root),
      node: process.version,
      tfjs: tfjsPkg ? await packageVersion(tfjsPkg) : null,
    },
    classifier: classifierAccuracy(input.forward),
    runs,
  };
}

/**
 * Input shape and parameter count of a model in another format than TF.js, from the model as
 * the engine loads it (formats/index.ts); null when it cannot be loaded here (the report never
 * fails for provenance).
 */
async function importedModelFacts(source: ModelSource): Promise<{ inputShape: (number | null)[] | null; parameters: number | null }> {
  try {
    const model = await loadModelSource(source);
    try {
      return { inputShape: model.inputs[0]?.shape.slice(1) ?? null, parameters: model.countParams() };
    } finally {
      model.dispose();
    }
  } catch {
    return { inputShape: null, parameters: null };
  }
}
