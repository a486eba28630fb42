/**
 * A run's identity (docs/PROTOCOL.md §9): the hash of its config's result fields plus the sha256
 * of the bytes behind the paths the config names — the model's files and the annotation files.
 * A config hash alone covers paths, not contents: a model retrained in place, or an annotation
 * file fixed, would otherwise mix old and new shards in one run.
 */
import { existsSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import { onnxExternalDataFiles } from '../formats/onnx/index.js';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { sha256File, sha256Hex } from '../results/checksum.js';
import { identityDiff, type ContentFile, type RunIdentity, type ShardIdentity } from '../results/run-format.js';
import { CLASS_SETS, configHash, type ModelConfig, type RunConfig } from './config.js';

/** The run's identity does not match what a run directory (or one of its shards) was made with. */
export class RunIdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunIdentityError';
  }
}

function modelProblem(path: string, message: string): RunIdentityError {
  return new RunIdentityError(`model.path ${path}: ${message}`);
}

/**
 * The files whose bytes make up the model: for a TF.js `model.json`, the file plus every weight
 * file its weightsManifest lists; for an .onnx file, the file plus its external data files; for
 * any other format (.h5, .keras), the file itself; plus `model.weights` when the config names one.
 */
export async function modelContentFiles(model: ModelConfig): Promise<string[]> {
  // arch + weights (a Keras application weight file) has no model file: the weights are all of it.
  const path = model.path;
  const files = path === undefined ? [] : [path];
  if (path !== undefined && extname(path).toLowerCase() === '.json') {
    let json: { weightsManifest?: { paths?: unknown }[] };
    try {
      json = JSON.parse(await fs.readFile(path, 'utf8')) as typeof json;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw modelProblem(
        path,
        code === 'ENOENT' ? 'does not exist; check model.path' : `is not a readable model.json (${(err as Error).message})`,
      );
    }
    if (!Array.isArray(json.weightsManifest))
      throw modelProblem(
        path,
        'has no weightsManifest: not a TF.js LayersModel (Keras .h5/.keras and .onnx files load directly: pass that file instead)',
      );
    for (const group of json.weightsManifest) {
      for (const p of Array.isArray(group?.paths) ? (group.paths as unknown[]) : []) files.push(resolve(dirname(path), String(p)));
    }
  }
  // A missing file is reported when it is hashed; only a present .onnx names external data files.
  if (path !== undefined && extname(path).toLowerCase() === '.onnx' && existsSync(path)) {
    try {
      files.push(...onnxExternalDataFiles(path));
    } catch (err) {
      throw modelProblem(path, `is not a readable ONNX file (${(err as Error).message})`);
    }
  }
  const weights = (model as ModelConfig & { weights?: unknown }).weights;
  if (typeof weights === 'string' && weights !== '') files.push(weights);
  return files;
}

/** Annotation, synset and class files the dataset reads (a voc-xml folder: every file in it). */
export async function annotationContentFiles(config: RunConfig): Promise<string[]> {
  const files: string[] = [];
  const d = config.dataset;
  if (d.kind !== 'digits-pair') {
    if (d.annotations?.kind === 'loc-csv') files.push(d.annotations.path);
    if (d.annotations?.kind === 'voc-xml') {
      const names = (
        await fs.readdir(d.annotations.dir, { recursive: true, withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
          throw new RunIdentityError(
            `dataset.annotations.dir ${d.annotations?.kind === 'voc-xml' ? d.annotations.dir : ''}: cannot be read (${err.code ?? err.message}); check the path`,
          );
        })
      )
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name))
        .sort();
      files.push(...names);
    }
    if (d.synsets) files.push(d.synsets);
  }
  if (!(CLASS_SETS as readonly string[]).includes(config.model.classes)) files.push(config.model.classes);
  return files;
}

async function hashFiles(paths: string[], what: string): Promise<ContentFile[]> {
  const out: ContentFile[] = [];
  for (const path of paths) {
    try {
      const bytes = (await fs.stat(path)).size;
      out.push({ path, bytes, sha256: await sha256File(path) });
    } catch (err) {
      throw new RunIdentityError(
        `${what} file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check the path and that the file is there`,
      );
    }
  }
  return out;
}

/** One digest over a file list: names (relative to the first file's folder) and contents, in order. */
function digest(files: ContentFile[]): string {
  const root = files.length > 0 ? dirname(files[0]!.path) : '';
  return sha256Hex(files.map((f) => `${relative(root, f.path).split(sep).join('/')}\u0000${f.sha256}`).join('\n'));
}

/** Hash the config and the files behind it (reads every model and annotation file once). */
export async function runIdentity(config: RunConfig): Promise<RunIdentity> {
  const model = await hashFiles(await modelContentFiles(config.model), 'model');
  const annotations = await hashFiles(await annotationContentFiles(config), 'annotation');
  return {
    configHash: configHash(config),
    model: digest(model),
    annotations: annotations.length > 0 ? digest(annotations) : null,
    files: { model, annotations },
  };
}

const PART_NAMES: Record<keyof ShardIdentity, string> = {
  configHash: 'the config (its result fields)',
  model: 'the model files',
  annotations: 'the annotation files',
};

/** "the model files (model.json, group1-shard1of1.bin changed)" for what differs between two identities. */
export function describeIdentityChange(stored: RunIdentity | ShardIdentity, current: RunIdentity): string {
  const parts = identityDiff(stored, current);
  return parts
    .map((part) => {
      if (part === 'configHash' || !('files' in stored)) return PART_NAMES[part];
      const before = new Map(stored.files[part].map((f) => [f.path, f.sha256]));
      const after = new Map(current.files[part].map((f) => [f.path, f.sha256]));
      const changed = [...new Set([...before.keys(), ...after.keys()])].filter((p) => before.get(p) !== after.get(p));
      return `${PART_NAMES[part]} (${changed.map((p) => (before.has(p) ? (after.has(p) ? `${p} changed` : `${p} is no longer used`) : `${p} is new`)).join(', ')})`;
    })
    .join(' and ');
}
