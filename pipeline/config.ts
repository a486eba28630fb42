/**
 * The run config: a YAML file validated with zod into a fully resolved `RunConfig` (every default
 * filled in, every path absolute), so the copy a run directory keeps (`config.yaml`) says exactly
 * what was computed and can be re-loaded on any node of a cluster that mounts the same paths.
 */
import { promises as fs } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { sha256Hex } from '../results/checksum.js';
import { ARCHITECTURE_NAMES } from '../architectures/names.js';
import type { ModelSource } from '../formats/index.js';
import { BUILT_IN_CLASS_LISTS } from '../data/class-file.js';
import type { AnnotationsSpec, DatasetSpec } from '../data/spec.js';
import { DEFAULT_MAX_PIXELS, INTERPOLATIONS, type Interpolation } from '../io/image.js';
import { metricConfigFields, metricConfigShape, registeredMetrics, type MetricConfigs } from '../metrics/registry.js';
import { compositeNames } from '../engine/composites.js';
import { METHOD_NAMES } from '../engine/methods/index.js';

/** The attribution methods, from the engine's method registry (engine/methods/), in canonical order. */
export const METHODS = METHOD_NAMES;
export const TARGET_KINDS = ['gt', 'top2'] as const;
export const PREPROCESS = ['caffe', 'torch', 'tf', 'unit'] as const;
export const GEOMETRIES = ['resize', 'center-crop', 'resize256-crop224'] as const;
export const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
// Metric config values live with their metric (metrics/*.ts); re-exported for existing importers.
export { FILLS, DEFAULT_PATCH_SIZES } from '../metrics/masking.js';
export { DEFAULT_ENERGIES } from '../metrics/pointing.js';
/** Class lists known by name (data/class-file.ts reads them; anything else is a file path). */
export const CLASS_SETS = BUILT_IN_CLASS_LISTS;

export type Method = (typeof METHODS)[number];
export type ConfigTargetKind = (typeof TARGET_KINDS)[number];
export type Preprocess = (typeof PREPROCESS)[number];

/** The dataset part of a run config; data/spec.ts owns its shape (maxPixels is always filled in here). */
export type AnnotationsConfig = AnnotationsSpec;
export type DatasetConfig = DatasetSpec;

export interface ModelConfig {
  /**
   * Absolute path of the model file (TF.js `model.json`, Keras `.h5` / `.keras`, …). Exactly one
   * of `path` and `arch` + `weights` is set.
   */
  path?: string;
  /** One of the project's architectures (ARCHITECTURE_NAMES), filled from `weights`. */
  arch?: string;
  /** Absolute path of a Keras application weight file (e.g. vgg16_weights_tf_dim_ordering_tf_kernels.h5), with `arch`. */
  weights?: string;
  preprocess: Preprocess;
  geometry: (typeof GEOMETRIES)[number];
  /** Input side in pixels (square inputs). */
  size: number;
  /** [low, high] of a preprocessed pixel, for the zB rule; defaults from the preprocess preset. */
  inputBounds: [number, number];
  /** Layer whose output Grad-CAM uses; absent = the engine's choice (the last conv layer). */
  gradcamLayer?: string;
  /** 'imagenet' | 'digits' | absolute path of a class-name file. */
  classes: string;
  /** Resampling kernel of image datasets (io/resample.ts); default bilinear. */
  interpolation: Interpolation;
  /** Widen bilinear/bicubic kernels when shrinking (io/resample.ts); default true. */
  antialias: boolean;
}

/**
 * A validated run config with every default applied and every path absolute. Each metric's slice
 * (`masking`, `pointing`, …) comes from MetricConfigs, i.e. from the metric's own module.
 */
export interface RunConfig extends MetricConfigs {
  name: string;
  dataset: DatasetConfig;
  model: ModelConfig;
  /** In the canonical order of METHODS, no duplicates. */
  methods: Method[];
  variant: 'paper' | 'reference';
  /** LRP composite by name (engine/composites.ts); absent: the variant's own. */
  composite?: string;
  /** In the canonical order of TARGET_KINDS, no duplicates. */
  targets: ConfigTargetKind[];
  shardSize: number;
  batchSize: 'auto' | number;
  /**
   * Megabytes one relevance/gradient pass may hold ('auto': by backend — wasm 1,200, webgpu 6,000);
   * it sets how many images share a pass. Raise it on a large GPU (e.g. 40000 on an 80 GB H100).
   */
  passBudgetMB: 'auto' | number;
  workers: 'auto' | number;
  backend: (typeof BACKENDS)[number];
  seed: number;
  examples: number;
  keepMaps: boolean;
}

/**
 * Fields that do not change any number in the tables, so they are left out of `configHash` and a
 * run may be resumed with other values: the run's label, how the work is scheduled (workers,
 * batchSize), how much memory a pass may hold (passBudgetMB), which TF.js backend runs it (recorded per shard in the manifest instead: backends
 * agree to float32 rounding, not bit for bit), and which extra artefacts are kept for the report
 * (examples, keepMaps; the report copes with fewer or more of them).
 * Everything else is hashed, shardSize included: shard files are numbered by it.
 */
export const RESULT_NEUTRAL_FIELDS = ['name', 'workers', 'batchSize', 'passBudgetMB', 'backend', 'examples', 'keepMaps'] as const;

/** Fields whose values are file paths: relative ones resolve against the config file's folder. */
export const PATH_FIELDS = [
  'dataset.images',
  'dataset.synsets',
  'dataset.annotations.path',
  'dataset.annotations.dir',
  'model.path',
  'model.weights',
  'model.classes',
] as const;

/** Default [low, high] of one preprocessed pixel per preset (docs/PROTOCOL.md §1, §6): pixel 0 and 255 mapped. */
export const PRESET_INPUT_BOUNDS: Record<Preprocess, [number, number]> = {
  // BGR minus [103.939, 116.779, 123.68], no scaling: low = 0 − 123.68, high = 255 − 103.939.
  caffe: [-123.68, 151.061],
  // (x/255 − mean)/std with mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225]: min over
  // channels of (0 − m)/s is the red one, max of (1 − m)/s is the blue one.
  torch: [-0.485 / 0.229, (1 - 0.406) / 0.225],
  tf: [-1, 1],
  unit: [0, 1],
};

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: { path: string; message: string }[],
  ) {
    super(`${source}: invalid run config:\n${problems.map((p) => `  - ${p.path || '(top level)'}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

// ---------------------------------------------------------------------------------------------
// Schema. Messages are written out because zod's defaults ("expected int, received number") do
// not tell a user what to type.

const path = () => z.string({ error: 'expected a file or folder path (string)' }).min(1, 'expected a non-empty path');
const int = (what: string) => z.int({ error: `expected ${what}` });
const posInt = (what = 'a positive integer') => int(what).min(1, `expected ${what}`);
const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `expected one of ${values.map((v) => JSON.stringify(v)).join(', ')}` });
const autoOrPosInt = () => z.union([z.literal('auto'), posInt()], { error: 'expected "auto" or a positive integer' });
const subsetOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z
    .array(oneOf(values), { error: `expected a list drawn from ${values.join(', ')}` })
    .min(1, `expected at least one of ${values.join(', ')}`)
    .refine((list) => new Set(list).size === list.length, { message: 'lists a value twice' });

const annotationsSchema = z.discriminatedUnion(
  'kind',
  [z.strictObject({ kind: z.literal('loc-csv'), path: path() }), z.strictObject({ kind: z.literal('voc-xml'), dir: path() })],
  { error: 'expected {kind: loc-csv, path: LOC_val_solution.csv} or {kind: voc-xml, dir: folder of XML files}' },
);

// Images with more pixels than this are refused (an errors row that names this field).
const maxPixels = () =>
  posInt('a positive integer (pixels per image)').max(Number.MAX_SAFE_INTEGER, 'expected a positive integer (pixels per image)').optional();

const datasetSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({
      kind: z.literal('imagenet'),
      images: path(),
      annotations: annotationsSchema.optional(),
      synsets: path().optional(),
      maxPixels: maxPixels(),
    }),
    z.strictObject({
      kind: z.literal('folder'),
      images: path(),
      annotations: annotationsSchema.optional(),
      synsets: path().optional(),
      maxPixels: maxPixels(),
    }),
    z.strictObject({
      kind: z.literal('digits-pair'),
      split: z.literal('test', { error: 'expected "test" (the only split evaluated)' }).default('test'),
      seed: int('an integer').min(0, 'expected a non-negative integer').default(0),
      count: posInt().optional(),
    }),
  ],
  { error: 'expected kind: imagenet, folder or digits-pair' },
);

const modelSchema = z.strictObject(
  {
    path: path().optional(),
    arch: oneOf(ARCHITECTURE_NAMES).optional(),
    weights: path().optional(),
    preprocess: oneOf(PREPROCESS),
    geometry: oneOf(GEOMETRIES),
    size: posInt('the input side in pixels (a positive integer)'),
    inputBounds: z
      .tuple([z.number({ error: 'expected a finite number' }), z.number({ error: 'expected a finite number' })], {
        error: 'expected [low, high]',
      })
      .refine(([low, high]) => low < high, { message: 'expected [low, high] with low < high' })
      .optional(),
    gradcamLayer: z.string({ error: 'expected a layer name (string)' }).min(1, 'expected a layer name').optional(),
    classes: z.string({ error: 'expected imagenet, digits or a path to a class-name file' }).min(1).optional(),
    interpolation: oneOf(INTERPOLATIONS).default('bilinear'),
    antialias: z.boolean({ error: 'expected true or false' }).default(true),
  },
  { error: 'expected a mapping {path (or arch + weights), preprocess, geometry, size, …}' },
);

const coreSchema = z.strictObject({
  name: z.string({ error: 'expected a run name (string)' }).min(1, 'expected a non-empty run name'),
  dataset: datasetSchema,
  model: modelSchema,
  methods: subsetOf(METHODS).default([...METHODS]),
  variant: oneOf(['paper', 'reference'] as const).default('paper'),
  composite: z
    .string({ error: 'expected a composite name (string)' })
    .refine((name) => compositeNames().includes(name), {
      message: `expected one of ${compositeNames().join(', ')} (or leave it out: the variant's own)`,
    })
    .optional(),
  targets: subsetOf(TARGET_KINDS).default([...TARGET_KINDS]),
  shardSize: posInt().default(100),
  batchSize: autoOrPosInt().default('auto'),
  passBudgetMB: autoOrPosInt().default('auto'),
  workers: autoOrPosInt().default('auto'),
  backend: oneOf(BACKENDS).default('auto'),
  seed: int('a non-negative integer below 2^32')
    .min(0, 'expected a non-negative integer below 2^32')
    .max(2 ** 32 - 1, 'expected a non-negative integer below 2^32')
    .default(0),
  examples: int('a non-negative integer').min(0, 'expected a non-negative integer').default(4),
  keepMaps: z.boolean({ error: 'expected true or false' }).default(false),
});

/** The core fields plus each registered metric's config slice (built per parse: metrics can be registered later). */
function rawSchema() {
  return coreSchema.extend(metricConfigShape());
}

type RawConfig = z.infer<typeof coreSchema> & Record<string, unknown>;

/** Allowed keys per object, for "unknown field" messages (dataset depends on its kind). */
function allowedKeys(at: string, input: unknown): string[] | undefined {
  const kindAt = (p: string) => {
    const v = getPath(input, p);
    return v && typeof v === 'object' ? (v as Record<string, unknown>).kind : undefined;
  };
  switch (at) {
    case '':
      return Object.keys(rawSchema().shape);
    case 'model':
      return Object.keys(modelSchema.shape);
    case 'dataset':
      return kindAt('dataset') === 'digits-pair'
        ? ['kind', 'split', 'seed', 'count']
        : ['kind', 'images', 'annotations', 'synsets', 'maxPixels'];
    case 'dataset.annotations':
      return kindAt('dataset.annotations') === 'voc-xml' ? ['kind', 'dir'] : ['kind', 'path'];
    default:
      return metricConfigFields(at);
  }
}

/** `masking.patchSizes[1]` for zod's ['masking', 'patchSizes', 1]. */
function formatPath(path: readonly PropertyKey[]): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('');
}

function showValue(v: unknown): string | undefined {
  // JSON has no infinity or NaN (it would print "null"); name them as YAML spells them.
  if (typeof v === 'number' && !Number.isFinite(v))
    return Number.isNaN(v) ? '.nan (not a number)' : v > 0 ? '.inf (infinity)' : '-.inf (minus infinity)';
  if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) return JSON.stringify(v);
  return undefined;
}

function issueProblems(issues: z.core.$ZodIssue[], input: unknown): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    const at = formatPath(issue.path);
    const value = getIn(input, issue.path);
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys(issue.path.join('.'), input);
      for (const key of issue.keys) {
        problems.push({
          path: at ? `${at}.${key}` : key,
          message: `unknown field${allowed ? ` (allowed here: ${allowed.join(', ')})` : ''}`,
        });
      }
      continue;
    }
    // One message per field is enough (a 0 patch size is both "not positive" and "not odd").
    if (seen.has(at)) continue;
    seen.add(at);
    if (value === undefined && at !== '') {
      problems.push({ path: at, message: `required field is missing (${issue.message})` });
    } else {
      const got = showValue(value);
      problems.push({ path: at, message: got === undefined ? issue.message : `${issue.message}, got ${got}` });
    }
  }
  return problems;
}

function getIn(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function getPath(obj: unknown, dotted: string): unknown {
  return getIn(obj, dotted === '' ? [] : dotted.split('.'));
}

// ---------------------------------------------------------------------------------------------

export interface ParseOptions {
  /** Folder that relative paths resolve against (default: the current directory). */
  baseDir?: string;
  /** Per field path: a different base folder (used for command-line overrides). */
  baseDirFor?: (field: string) => string | undefined;
}

function resolvePath(field: string, value: string, options: ParseOptions): string {
  if (isAbsolute(value)) return value;
  return resolve(options.baseDirFor?.(field) ?? options.baseDir ?? process.cwd(), value);
}

function crossFieldProblems(raw: RawConfig): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const m = raw.model;
  if (m.path !== undefined && (m.arch !== undefined || m.weights !== undefined)) {
    problems.push({
      path: 'model',
      message: 'give either path (a model file) or arch + weights (a Keras application weight file), not both',
    });
  } else if (m.path === undefined && (m.arch === undefined || m.weights === undefined)) {
    problems.push({
      path: m.arch === undefined && m.weights === undefined ? 'model.path' : m.arch === undefined ? 'model.arch' : 'model.weights',
      message:
        m.arch === undefined && m.weights === undefined
          ? 'required field is missing (a model file, or arch + weights)'
          : m.arch === undefined
            ? `weights need arch: one of ${ARCHITECTURE_NAMES.join(', ')}`
            : 'arch needs weights: the path of a Keras application weight file',
    });
  }
  for (const m of registeredMetrics()) problems.push(...(m.config.check?.(raw[m.config.key], raw) ?? []));
  return problems;
}

/**
 * Validate a parsed YAML/JSON object into a resolved RunConfig. `sourceName` (usually the file
 * path) starts every error message. Throws ConfigError listing every problem with its field path.
 */
export function parseConfig(obj: unknown, sourceName: string, options: ParseOptions = {}): RunConfig {
  const parsed = rawSchema().safeParse(obj);
  if (!parsed.success) throw new ConfigError(sourceName, issueProblems(parsed.error.issues, obj));
  // The metric fields are typed by their own schemas, which the extended shape erases.
  const raw = parsed.data as RawConfig;
  const cross = crossFieldProblems(raw);
  if (cross.length > 0) throw new ConfigError(sourceName, cross);

  const p = (field: (typeof PATH_FIELDS)[number], value: string) => resolvePath(field, value, options);
  const annotations = (a: AnnotationsConfig | undefined): AnnotationsConfig | undefined =>
    a === undefined
      ? undefined
      : a.kind === 'loc-csv'
        ? { kind: 'loc-csv', path: p('dataset.annotations.path', a.path) }
        : { kind: 'voc-xml', dir: p('dataset.annotations.dir', a.dir) };

  let dataset: DatasetConfig;
  if (raw.dataset.kind === 'digits-pair') {
    dataset = {
      kind: 'digits-pair',
      split: raw.dataset.split,
      seed: raw.dataset.seed,
      ...(raw.dataset.count !== undefined && { count: raw.dataset.count }),
    };
  } else {
    const ann = annotations(raw.dataset.annotations);
    dataset = {
      kind: raw.dataset.kind,
      images: p('dataset.images', raw.dataset.images),
      ...(ann && { annotations: ann }),
      ...(raw.dataset.synsets !== undefined && { synsets: p('dataset.synsets', raw.dataset.synsets) }),
      maxPixels: raw.dataset.maxPixels ?? DEFAULT_MAX_PIXELS,
    };
  }

  const classes = raw.model.classes ?? (raw.dataset.kind === 'digits-pair' ? 'digits' : 'imagenet');
  const model: ModelConfig = {
    ...(raw.model.path !== undefined && { path: p('model.path', raw.model.path) }),
    ...(raw.model.arch !== undefined && { arch: raw.model.arch }),
    ...(raw.model.weights !== undefined && { weights: p('model.weights', raw.model.weights) }),
    preprocess: raw.model.preprocess,
    geometry: raw.model.geometry,
    size: raw.model.size,
    inputBounds: raw.model.inputBounds
      ? [raw.model.inputBounds[0], raw.model.inputBounds[1]]
      : [...PRESET_INPUT_BOUNDS[raw.model.preprocess]],
    ...(raw.model.gradcamLayer !== undefined && { gradcamLayer: raw.model.gradcamLayer }),
    classes: (CLASS_SETS as readonly string[]).includes(classes) ? classes : p('model.classes', classes),
    interpolation: raw.model.interpolation,
    antialias: raw.model.antialias,
  };

  // Canonical order, so that listing the same set differently gives the same hash.
  return {
    name: raw.name,
    dataset,
    model,
    methods: METHODS.filter((m) => raw.methods.includes(m)),
    variant: raw.variant,
    ...(raw.composite !== undefined && { composite: raw.composite }),
    targets: TARGET_KINDS.filter((t) => raw.targets.includes(t)),
    // Each metric's slice, already canonical (its schema sorts lists), in registry order.
    ...(Object.fromEntries(registeredMetrics().map((m) => [m.config.key, raw[m.config.key]])) as MetricConfigs),
    shardSize: raw.shardSize,
    batchSize: raw.batchSize,
    passBudgetMB: raw.passBudgetMB,
    workers: raw.workers,
    backend: raw.backend,
    seed: raw.seed,
    examples: raw.examples,
    keepMaps: raw.keepMaps,
  };
}

/** Where a validated config's model comes from (for formats/index.ts loadModelSource). */
export function modelSourceOf(model: ModelConfig): ModelSource {
  if (model.path !== undefined) return { path: model.path };
  return { arch: model.arch!, weights: model.weights! };
}

/** Field path → value, e.g. {'masking.fill': 'zero', workers: 2} (from `--set field=value`). */
export type ConfigOverrides = Record<string, unknown>;

/** Parse one `field=value` command-line override; the value is read as YAML (`2`, `[1,3]`, `zero`). */
export function parseOverride(text: string): [string, unknown] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new Error(`override "${text}": expected field=value, e.g. masking.fill=zero or methods=[lrp,sglrp]`);
  const field = text.slice(0, eq).trim();
  if (!/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/.test(field))
    throw new Error(`override "${text}": "${field}" is not a field path like model.size`);
  return [field, YAML.parse(text.slice(eq + 1))];
}

function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let cur = obj;
  for (const key of keys.slice(0, -1)) {
    const next = cur[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = value;
}

/**
 * Read and validate a YAML run config. Relative paths resolve against the file's folder, except
 * paths given in `overrides`, which resolve against `cwd` (where the user typed them).
 */
export async function loadConfig(file: string, overrides: ConfigOverrides = {}, cwd = process.cwd()): Promise<RunConfig> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new Error(
      `${file}: cannot read the run config (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check the path`,
    );
  }
  let obj: unknown;
  try {
    obj = YAML.parse(text, { uniqueKeys: true });
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `not valid YAML: ${(err as Error).message}` }]);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new ConfigError(file, [{ path: '', message: 'expected a YAML mapping with name, dataset, model, …' }]);
  }
  const merged = structuredClone(obj) as Record<string, unknown>;
  for (const [field, value] of Object.entries(overrides)) {
    // The model comes from a path or from arch + weights: overriding one form replaces the other.
    const model = merged['model'];
    if (model !== null && typeof model === 'object') {
      const m = model as Record<string, unknown>;
      if (field === 'model.path') {
        delete m['arch'];
        delete m['weights'];
      }
      if (field === 'model.arch' || field === 'model.weights') delete m['path'];
    }
    setPath(merged, field, value);
  }
  const overridden = Object.keys(overrides);
  return parseConfig(merged, file, {
    baseDir: dirname(resolve(file)),
    baseDirFor: (field) => (overridden.some((o) => field === o || field.startsWith(`${o}.`)) ? cwd : undefined),
  });
}

/** The resolved config as YAML (what RUN_DIR/config.yaml holds); parseConfig reads it back unchanged. */
export function stringifyConfig(config: RunConfig): string {
  return `# Resolved run config (defaults filled in, paths absolute), written by sglrp.\n# Resuming needs the same values for every field except: ${RESULT_NEUTRAL_FIELDS.join(', ')}.\n${YAML.stringify(config)}`;
}

/** JSON with object keys sorted at every level, so equal configs give equal bytes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The config less RESULT_NEUTRAL_FIELDS: the part that determines the tables. */
export function resultFields(config: RunConfig): Partial<RunConfig> {
  const copy: Record<string, unknown> = { ...config };
  for (const field of RESULT_NEUTRAL_FIELDS) delete copy[field];
  return copy as Partial<RunConfig>;
}

/** Bump when the meaning of a field changes, so old run directories are not resumed by mistake. */
const HASH_VERSION = 'sglrp-run-config-v1';

/**
 * sha256 (hex) of the canonical JSON of the result-determining fields (see RESULT_NEUTRAL_FIELDS).
 * Paths are hashed as resolved absolute paths: nodes of one run must mount data and model at the
 * same paths (a mismatch is refused, naming the field, rather than silently mixing inputs).
 */
export function configHash(config: RunConfig): string {
  return sha256Hex(`${HASH_VERSION}\n${canonicalJson(resultFields(config))}`);
}

function diffValues(a: unknown, b: unknown, at: string, out: string[]): void {
  const isObj = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(ra), ...Object.keys(rb)])].sort();
    for (const key of keys) diffValues(ra[key], rb[key], at ? `${at}.${key}` : key, out);
  } else if (canonicalJson(a) !== canonicalJson(b)) {
    // Arrays are compared whole: "masking.patchSizes" says more than "masking.patchSizes.3".
    out.push(at);
  }
}

/**
 * Field paths (dotted, leaves; arrays as a whole) whose values differ between two configs.
 * With `resultsOnly`, fields in RESULT_NEUTRAL_FIELDS are ignored.
 */
export function diffConfigs(a: RunConfig, b: RunConfig, options: { resultsOnly?: boolean } = {}): string[] {
  const out: string[] = [];
  if (options.resultsOnly) diffValues(resultFields(a), resultFields(b), '', out);
  else diffValues(a, b, '', out);
  return out;
}

/** "variant: paper → reference" lines for the fields diffConfigs found. */
export function describeDiff(a: RunConfig, b: RunConfig, fields: readonly string[]): string[] {
  const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));
  return fields.map((f) => `${f}: ${show(getPath(a, f))} → ${show(getPath(b, f))}`);
}
