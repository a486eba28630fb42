/**
 * `sglrp explain` options: the yargs builder (declarations only) and the validation that turns
 * the parsed argv into an `ExplainConfig` with every default filled in. Validation lives here and
 * not in yargs `choices` so that `runExplain` called as a library function gets the same checks
 * and the same messages as the command line.
 */
import { resolve } from 'node:path';
import type { Argv } from 'yargs';

import { BACKEND_NAMES, METHOD_NAMES, type BackendName, type MethodName, type Variant } from '../engine/types.js';
import { GEOMETRIES, INTERPOLATIONS, type Geometry, type Interpolation } from '../io/image.js';
import { PRESETS, type PreprocessPreset } from '../io/preprocess.js';
import { ARCHITECTURE_NAMES } from '../architectures/names.js';

/** The command string the CLI registers this builder under. */
export const EXPLAIN_COMMAND = 'explain [inputs..]';

/** What yargs hands over (both the flag spelling and its camelCase alias may be present). */
export interface ExplainArgs {
  /** The positional INPUT... (`inputs` under EXPLAIN_COMMAND; `input` is accepted too). */
  inputs?: string | string[];
  input?: string | string[];
  model?: string;
  /** With `weights`, instead of `model`: one of ARCHITECTURE_NAMES filled from a Keras application weight file. */
  arch?: string;
  weights?: string;
  out: string;
  methods?: string | string[];
  target?: string | string[];
  variant?: string;
  preprocess?: string;
  geometry?: string;
  interpolation?: string;
  antialias?: boolean;
  inputBounds?: string | number[];
  'input-bounds'?: string | number[];
  backend?: string;
  gradcamLayer?: string;
  'gradcam-layer'?: string;
  label?: number;
  seed?: number;
  classes?: string;
  /** Print the layers Grad-CAM can read (and the default) instead of explaining; no inputs needed. */
  listLayers?: boolean;
  'list-layers'?: boolean;
}

/** Everything `runExplain` needs, validated, with defaults applied. Paths are absolute. */
export interface ExplainConfig {
  inputs: string[];
  /** The model file (`--model`), or with `arch` the weight file (`--weights`). */
  model: string;
  /** Set with `--arch NAME --weights FILE`: `model` is then the weight file loaded into that architecture. */
  arch?: string;
  out: string;
  methods: MethodName[];
  /** Target specs as given (deduplicated, order kept): top1, top2, gt, an index, a wnid or a class name. */
  targets: string[];
  variant: Variant;
  /** Absent = what the model's sglrp.json says, else caffe (explain-model-info.ts). */
  preprocess?: PreprocessPreset;
  /** Absent = what the model's sglrp.json says, else resize. */
  geometry?: Geometry;
  /** Resampling kernel of image inputs (io/resample.ts); default bilinear. */
  interpolation: Interpolation;
  /** Widen bilinear/bicubic kernels when shrinking (io/resample.ts); default true. */
  antialias: boolean;
  /** Explicit zB bounds; absent = from the preset. */
  inputBounds?: { low: number; high: number };
  backend: BackendName | 'auto';
  gradcamLayer?: string;
  /** Ground-truth class for the `gt` target (the same for every input). */
  label?: number;
  seed: number;
  /** imagenet | digits | a path; absent = the model's sglrp.json, else ImageNet when the model has 1000 outputs, else none. */
  classes?: string;
}

/** A flag value the command cannot use. The message names the flag and says what is accepted. */
export class ExplainUsageError extends Error {
  override readonly name = 'ExplainUsageError';
}

/** `--x a,b --x c` → ['a', 'b', 'c'] (repeatable flags and comma lists both work). */
export function splitList(value: string | readonly (string | number)[] | number | undefined): string[] {
  if (value === undefined) return [];
  const parts = Array.isArray(value) ? value : [value];
  return parts
    .flatMap((v) => String(v).split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * yargs builder for EXPLAIN_COMMAND (`explain <inputs..>`): declares every flag; the checks
 * happen in `parseExplainArgs`.
 */
export function explainCommandOptions(y: Argv): Argv<ExplainArgs> {
  return (
    y
      .positional('inputs', {
        // Checked in parseExplainArgs (not demanded here): --list-layers needs none.
        describe: 'image files (JPEG/PNG) or .npy files holding a preprocessed float32 batch (N×H×W×C or H×W×C)',
        type: 'string',
        array: true,
      })
      .option('model', {
        describe: "model file: a TF.js LayersModel's model.json (or its folder), an .onnx file, Keras .h5 or .keras",
        type: 'string',
      })
      .option('arch', { describe: `with --weights instead of --model: ${ARCHITECTURE_NAMES.join(' | ')}`, type: 'string' })
      .option('weights', {
        describe: 'with --arch: a Keras application weight file, e.g. vgg16_weights_tf_dim_ordering_tf_kernels.h5',
        type: 'string',
      })
      .option('out', { describe: 'output folder (created if missing; required unless --list-layers)', type: 'string' })
      .option('methods', { describe: `comma list of methods (default all: ${METHOD_NAMES.join(',')})`, type: 'string' })
      .option('target', {
        // Not `array: true`: an array flag would swallow the positional inputs that follow it.
        describe: 'top1 | top2 | gt | class INDEX | WNID | class name; repeat the flag or give a comma list (default top1)',
        type: 'string',
      })
      .option('variant', { describe: "paper (the paper's equations) or reference (the authors' code)", type: 'string', default: 'paper' })
      // No yargs defaults here: an absent flag means "what the model's sglrp.json says".
      .option('preprocess', {
        describe: `preprocessing preset: ${PRESETS.join(' | ')} (default: the model's sglrp.json, else caffe)`,
        type: 'string',
      })
      .option('geometry', {
        describe: `image geometry: ${GEOMETRIES.join(' | ')} (default: the model's sglrp.json, else resize)`,
        type: 'string',
      })
      .option('interpolation', {
        describe: `image resampling: ${INTERPOLATIONS.join(' | ')} (nearest = Keras load_img, as the paper's notebook)`,
        type: 'string',
        default: 'bilinear',
      })
      .option('antialias', {
        describe: 'widen bilinear/bicubic kernels when shrinking (--no-antialias: as TF without antialias)',
        type: 'boolean',
        default: true,
      })
      .option('input-bounds', {
        describe: 'LOW,HIGH of a preprocessed pixel for the zB rule, e.g. --input-bounds -1,1 (default: from the preset)',
        type: 'string',
        // One value, always: without nargs yargs reads "-1,1" as short flags -1 and -, and "1" as a stray argument.
        nargs: 1,
        requiresArg: true,
        // "LOW,HIGH" → [LOW, HIGH]. A malformed value is passed on unchanged for parseExplainArgs to
        // refuse (yargs would turn an error thrown here into an anonymous one, losing exit code 2).
        coerce: (value: string | string[]) => {
          try {
            const b = parseBounds(value);
            return b ? [b.low, b.high] : value;
          } catch {
            return value;
          }
        },
      })
      .option('backend', { describe: `TF.js backend: auto | ${BACKEND_NAMES.join(' | ')}`, type: 'string', default: 'auto' })
      .option('gradcam-layer', { describe: 'layer whose output Grad-CAM reads (default: the last conv layer)', type: 'string' })
      .option('label', { describe: "ground-truth class index, for the 'gt' target", type: 'number' })
      .option('seed', { describe: 'seed of the Random baseline', type: 'number', default: 0 })
      .option('classes', { describe: 'class names: imagenet | digits | PATH (default: imagenet for 1000-class models)', type: 'string' })
      .option('list-layers', {
        describe: 'print the layers --gradcam-layer accepts (with their other names) and the default, then exit',
        type: 'boolean',
      })
      // Inputs and --out are required unless --list-layers (which only reads the model).
      // One of the two model forms is required (parseExplainArgs checks the combination); inputs
      // and --out are required unless --list-layers (which only reads the model).
      .check((argv) => {
        if (!argv['model'] && !argv['arch'] && !argv['weights'])
          throw new Error('Missing required argument: model (or --arch NAME --weights FILE)');
        if (argv['list-layers']) return true;
        if (!argv['out']) throw new Error('Missing required argument: out');
        const inputs = argv['inputs'];
        if (inputs === undefined || (Array.isArray(inputs) && inputs.length === 0))
          throw new Error('explain: give at least one input file (image or .npy)');
        return true;
      }) as unknown as Argv<ExplainArgs>
  );
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ExplainUsageError(`--${flag} ${value}: expected one of ${allowed.join(', ')}`);
}

function parseBounds(value: string | readonly (string | number)[] | undefined): { low: number; high: number } | undefined {
  if (value === undefined) return undefined;
  const parts = splitList(value);
  const nums = parts.map(Number);
  if (nums.length !== 2 || !nums.every(Number.isFinite) || !(nums[0]! < nums[1]!)) {
    throw new ExplainUsageError(
      `--input-bounds ${parts.join(',')}: expected LOW,HIGH with LOW < HIGH (e.g. --input-bounds -123.68,151.061)`,
    );
  }
  return { low: nums[0]!, high: nums[1]! };
}

/** Validates the argv of `explain` into an `ExplainConfig`; throws `ExplainUsageError`. */
export function parseExplainArgs(argv: ExplainArgs): ExplainConfig {
  const inputs = splitListKeepCommas(argv.inputs ?? argv.input);
  if (inputs.length === 0) throw new ExplainUsageError('explain: give at least one input file (image or .npy)');
  const model = modelArgs(argv);
  if (!argv.out) throw new ExplainUsageError('explain: --out is required (the folder for the maps and pictures)');

  const methodList = argv.methods === undefined ? [...METHOD_NAMES] : splitList(argv.methods);
  if (methodList.length === 0) throw new ExplainUsageError(`--methods is empty: give a comma list of ${METHOD_NAMES.join(', ')}`);
  const methods: MethodName[] = [];
  for (const m of methodList) {
    const lower = m.toLowerCase();
    if (!(METHOD_NAMES as readonly string[]).includes(lower)) {
      throw new ExplainUsageError(`--methods: unknown method '${m}'; choose from ${METHOD_NAMES.join(', ')}`);
    }
    if (!methods.includes(lower as MethodName)) methods.push(lower as MethodName);
  }

  const targets = [...new Set(argv.target === undefined ? ['top1'] : splitList(argv.target))];
  if (targets.length === 0) throw new ExplainUsageError('--target is empty: give top1, top2, gt, a class index, a wnid or a class name');

  const label = argv.label;
  if (label !== undefined && !(Number.isInteger(label) && label >= 0)) {
    throw new ExplainUsageError(`--label ${String(label)}: expected a class index (an integer ≥ 0)`);
  }
  if (targets.includes('gt') && label === undefined) {
    throw new ExplainUsageError('--target gt needs the ground-truth class: add --label N (the class index)');
  }
  const seed = argv.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new ExplainUsageError(`--seed ${String(seed)}: expected an integer`);

  const bounds = parseBounds(argv['input-bounds'] ?? argv.inputBounds);
  const gradcamLayer = argv['gradcam-layer'] ?? argv.gradcamLayer;
  const antialias = argv.antialias ?? true;
  if (typeof antialias !== 'boolean')
    throw new ExplainUsageError(`--antialias ${String(antialias)}: expected true or false (or --no-antialias)`);
  return {
    inputs: inputs.map((p) => resolve(p)),
    ...model,
    out: resolve(argv.out),
    methods,
    targets,
    variant: oneOf('variant', argv.variant, ['paper', 'reference'] as const, 'paper'),
    ...(argv.preprocess !== undefined ? { preprocess: oneOf('preprocess', argv.preprocess, PRESETS, 'caffe') } : {}),
    ...(argv.geometry !== undefined ? { geometry: oneOf('geometry', argv.geometry, GEOMETRIES, 'resize') } : {}),
    interpolation: oneOf('interpolation', argv.interpolation, INTERPOLATIONS, 'bilinear'),
    antialias,
    ...(bounds ? { inputBounds: bounds } : {}),
    backend: oneOf('backend', argv.backend, ['auto', ...BACKEND_NAMES] as const, 'auto'),
    ...(gradcamLayer ? { gradcamLayer } : {}),
    ...(label !== undefined ? { label } : {}),
    seed,
    ...(argv.classes ? { classes: argv.classes } : {}),
  };
}

/** `--model FILE`, or `--arch NAME --weights FILE` (one or the other). */
function modelArgs(argv: ExplainArgs): { model: string; arch?: string } {
  if (argv.arch !== undefined || argv.weights !== undefined) {
    if (argv.model) throw new ExplainUsageError('explain: give --model FILE or --arch NAME --weights FILE, not both');
    if (!argv.arch) throw new ExplainUsageError(`explain: --weights needs --arch (${ARCHITECTURE_NAMES.join(', ')})`);
    const arch = argv.arch.toLowerCase();
    if (!(ARCHITECTURE_NAMES as readonly string[]).includes(arch))
      throw new ExplainUsageError(`--arch ${argv.arch}: expected one of ${ARCHITECTURE_NAMES.join(', ')}`);
    if (!argv.weights) throw new ExplainUsageError(`explain: --arch ${arch} needs --weights FILE (a Keras application weight file)`);
    return { model: resolve(argv.weights), arch };
  }
  if (!argv.model)
    throw new ExplainUsageError('explain: --model is required (a TF.js model.json, Keras .h5 or .keras), or --arch NAME --weights FILE');
  return { model: resolve(argv.model) };
}

/** Input paths may contain commas, so they are never split. */
function splitListKeepCommas(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String).filter((s) => s.length > 0);
}
