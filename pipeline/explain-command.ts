/**
 * `sglrp explain`: explain a few inputs with every requested method and target and write the
 * maps, pictures and a summary per input (file layout in explain-outputs.ts). The lead's CLI
 * (pipeline/cli.ts) registers `explainCommandOptions` under `EXPLAIN_COMMAND` and calls
 * `runExplain`, exiting with `summary.exitCode`.
 *
 * Failure policy: anything wrong with the command as a whole (flags, model, backend, output
 * folder) throws before an input is touched; a bad input is reported (its file named) and
 * skipped, the others are still written, and `exitCode` is 1 at the end.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

import { ExplainEngine } from '../engine/explain-engine.js';
import { runAsync } from '../engine/reads.js';
import { resolveTarget } from '../engine/targets.js';
import type { MethodName, Target } from '../engine/types.js';
import type { Geometry } from '../io/image.js';
import { presetBounds, type PreprocessPreset } from '../io/preprocess.js';
import { fixedTargetIndex, loadClassNames, type ClassNames } from './explain-classes.js';
import { InputError, loadInput, uniqueStems, type InputImage, type LoadedInput } from './explain-inputs.js';
import { readModelInfo, type ModelInfo } from './explain-model-info.js';
import { ExplainUsageError, parseExplainArgs, type ExplainArgs, type ExplainConfig } from './explain-options.js';
import {
  classScore,
  MapFiles,
  pngFile,
  targetFileName,
  topClasses,
  writeGridPng,
  writeOverlayPng,
  type ClassScore,
  type ImageMaps,
} from './explain-outputs.js';

export {
  EXPLAIN_COMMAND,
  ExplainUsageError,
  explainCommandOptions,
  parseExplainArgs,
  type ExplainArgs,
  type ExplainConfig,
} from './explain-options.js';

/** Per input file: what was written, or why not. */
export interface InputResult {
  file: string;
  stem: string;
  ok: boolean;
  /** Images explained (N for an N×H×W×C .npy). */
  images: number;
  /** Absolute paths written for this input. */
  files: string[];
  summaryFile?: string;
  error?: string;
}

export interface ExplainSummary {
  outDir: string;
  model: string;
  backend: string;
  /** What `backend` alone does not say (webgpu: its adapter, flagged when it is a software one). */
  backendDetail?: string;
  variant: string;
  methods: MethodName[];
  targets: string[];
  inputs: InputResult[];
  errors: { file: string; message: string }[];
  /** Inputs that could not be explained (= errors.length). */
  failed: number;
  /** 0 when every input was written, 1 otherwise: the CLI exits with it. */
  exitCode: 0 | 1;
  seconds: number;
}

export interface RunExplainOptions {
  /** Where --list-layers prints (default: stdout). */
  print?: (line: string) => void;
  /** Progress and error lines (default: stderr). */
  log?: (line: string) => void;
  /** Bytes of explanations held before they are written (default 512 MB); bounds memory for big .npy batches. */
  chunkBytes?: number;
}

/** Contents of `<stem>_summary.json`. */
export interface InputSummaryJson {
  input: string;
  kind: 'image' | 'npy';
  model: string;
  backend: string;
  /** As ExplainSummary.backendDetail. */
  backendDetail?: string;
  variant: string;
  preprocess: string;
  geometry: string;
  interpolation: string;
  antialias: boolean;
  inputBounds: [number, number];
  inputShape: [number, number, number];
  methods: MethodName[];
  seed: number;
  label?: number;
  images: {
    prefix: string;
    originalSize?: [number, number];
    logits: number[];
    top5: ClassScore[];
    targets: (ClassScore & { spec: string; kind: Target['kind']; file: string })[];
  }[];
  files: string[];
  /** Milliseconds: decoding, the engine's phases (summed over chunks), writing. */
  timingsMs: Record<string, number>;
}

/** `--model` may name model.json or the folder holding it. */
function modelJsonPath(path: string): string {
  let p = path;
  if (existsSync(p) && statSync(p).isDirectory()) p = join(p, 'model.json');
  if (!existsSync(p)) {
    throw new ExplainUsageError(
      `--model ${path}: no such file; give a model file (a TF.js model.json or its folder, an .onnx file, Keras .h5 or .keras), or --arch NAME --weights FILE`,
    );
  }
  return p;
}

/** The config with the model's own defaults (sglrp.json) filled in where no flag was given. */
type ResolvedConfig = ExplainConfig & { preprocess: PreprocessPreset; geometry: Geometry };

function withModelDefaults(cfg: ExplainConfig, info: ModelInfo | undefined): ResolvedConfig {
  return { ...cfg, preprocess: cfg.preprocess ?? info?.preprocess ?? 'caffe', geometry: cfg.geometry ?? info?.geometry ?? 'resize' };
}

/** `--classes` when given, else the names in the model's sglrp.json, else the generic guess. */
function classNamesFor(cfg: ExplainConfig, info: ModelInfo | undefined, numClasses: number): ClassNames | undefined {
  if (cfg.classes !== undefined || !info?.classes) return loadClassNames(cfg.classes, numClasses);
  if (info.classes.length !== numClasses) {
    throw new ExplainUsageError(
      `${info.path}: lists ${info.classes.length} classes but the model has ${numClasses} outputs; fix the file or give --classes`,
    );
  }
  return { wnids: info.classes.map(() => ''), names: info.classes };
}

/** "from models/x/sglrp.json" or "default" or "--flag": where a setting came from, for the log. */
function origin(flagGiven: boolean, fromModel: boolean, info: ModelInfo | undefined, flag: string): string {
  return flagGiven ? flag : fromModel ? `from ${info!.path}` : 'default';
}

/**
 * `--list-layers`: the layers Grad-CAM can read (every node with an H×W×C output), each with the
 * other names it answers to (ONNX node and output names, PyTorch module paths, folded
 * BatchNorms), the default marked. Only the model is loaded; no inputs or output folder needed.
 */
async function listLayers(argv: ExplainArgs, print: (line: string) => void): Promise<ExplainSummary> {
  const t0 = performance.now();
  if (!argv.model) throw new ExplainUsageError('explain --list-layers: --model is required');
  const model = modelJsonPath(resolve(argv.model));
  const explainer = await ExplainEngine.load(model, {
    backend: (argv.backend as ExplainConfig['backend']) ?? 'auto',
    inputBounds: { low: 0, high: 1 },
  });
  try {
    const dflt = explainer.gradcamNode('paper');
    print(`Grad-CAM layers of ${model} (default: ${dflt.name}):`);
    for (const n of explainer.graph.nodes) {
      if (n.outputShape.length !== 3) continue;
      const also = n.aliases?.length ? `  also: ${n.aliases.join(', ')}` : '';
      print(`${n.id === dflt.id ? '*' : ' '} ${n.name}  (${n.className}, ${n.outputShape.join('×')})${also}`);
    }
  } finally {
    explainer.dispose();
  }
  return {
    outDir: '',
    model,
    backend: explainer.backend,
    variant: 'paper',
    methods: [],
    targets: [],
    inputs: [],
    errors: [],
    failed: 0,
    exitCode: 0,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Channels `presetBounds` is asked about before the model is known: caffe/torch are RGB-only. */
function boundsFor(cfg: ResolvedConfig, channels: number): { low: number; high: number } {
  if (cfg.inputBounds) return cfg.inputBounds;
  try {
    return presetBounds(cfg.preprocess, channels);
  } catch (e) {
    throw new ExplainUsageError(`--preprocess ${cfg.preprocess}: ${(e as Error).message}`);
  }
}

/** Runs `explain`. Throws on a command-level problem; per-input problems land in the summary. */
export async function runExplain(argv: ExplainArgs, options: RunExplainOptions = {}): Promise<ExplainSummary> {
  const t0 = performance.now();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (argv['list-layers'] ?? argv.listLayers) return listLayers(argv, options.print ?? ((line) => process.stdout.write(`${line}\n`)));
  const parsed = parseExplainArgs(argv);
  const model = parsed.arch ? parsed.model : modelJsonPath(parsed.model);
  const info = readModelInfo(model);
  const cfg = withModelDefaults(parsed, info);
  log(
    `explain: preprocessing ${cfg.preprocess} (${origin(parsed.preprocess !== undefined, info?.preprocess !== undefined, info, '--preprocess')}), ` +
      `geometry ${cfg.geometry} (${origin(parsed.geometry !== undefined, info?.geometry !== undefined, info, '--geometry')})`,
  );

  // The bounds only enter the relevance rules, which run after loading; RGB bounds are what
  // caffe/torch give, and tf/unit give the same bounds for 1 and 3 channels, so 3 is safe here
  // and re-checked against the model's real channel count below.
  const explainer = await ExplainEngine.load(cfg.arch ? { arch: cfg.arch, weights: model } : model, {
    backend: cfg.backend,
    inputBounds: boundsFor(cfg, 3),
  });
  try {
    const [h, w, c] = explainer.inputShape;
    const bounds = boundsFor(cfg, c);
    const n = explainer.numClasses;
    const classes = classNamesFor(cfg, info, n);
    if (cfg.label !== undefined && cfg.label >= n)
      throw new ExplainUsageError(`--label ${cfg.label}: the model has ${n} classes (0…${n - 1})`);
    const fixed = cfg.targets.map((spec) => fixedTargetIndex(spec, n, classes));
    const fileNames = cfg.targets.map(targetFileName);
    const clash = fileNames.find((f, i) => fileNames.indexOf(f) !== i);
    if (clash) throw new ExplainUsageError(`--target: two targets become the same file name '${clash}'; give each class once`);
    if (cfg.methods.includes('gradcam') || cfg.methods.includes('ggcam')) {
      try {
        explainer.gradcamNode(cfg.variant, cfg.gradcamLayer);
      } catch (e) {
        throw new ExplainUsageError(`${cfg.gradcamLayer ? `--gradcam-layer ${cfg.gradcamLayer}` : 'Grad-CAM'}: ${(e as Error).message}`);
      }
    }
    try {
      await mkdir(cfg.out, { recursive: true });
    } catch (e) {
      throw new ExplainUsageError(`--out ${cfg.out}: cannot create the output folder (${(e as Error).message})`);
    }

    // Ranked by logits: float32 probabilities of a confident model underflow and tie.
    const resolve = (_i: number, _probs: Float32Array, logits: Float32Array): Target[] =>
      cfg.targets.map((spec, t) =>
        fixed[t] !== undefined ? { kind: 'index', classIndex: fixed[t]! } : resolveTarget(spec, logits, cfg.label ?? -1, classes),
      );
    const ctx: RunContext = { cfg, explainer, classes, resolve, bounds, model, h, w, c, chunkBytes: options.chunkBytes ?? 512e6 };

    const stems = uniqueStems(cfg.inputs);
    const results: InputResult[] = [];
    for (let k = 0; k < cfg.inputs.length; k++) {
      const file = cfg.inputs[k]!;
      const stem = stems[k]!;
      try {
        const { result: r, targetLines } = await explainOne(ctx, file, stem);
        results.push(r);
        log(`explain: ${file} → ${r.files.length} files (${r.images} image${r.images === 1 ? '' : 's'})`);
        // A big .npy batch would flood the terminal: its summary JSON has every image.
        for (const line of targetLines.slice(0, TARGET_LINES_SHOWN)) log(`explain:   ${line}`);
        if (targetLines.length > TARGET_LINES_SHOWN)
          log(`explain:   … and ${targetLines.length - TARGET_LINES_SHOWN} more images (see ${basename(r.summaryFile!)})`);
      } catch (e) {
        const message = e instanceof InputError ? e.message : `${file}: ${(e as Error).message}`;
        results.push({ file, stem, ok: false, images: 0, files: [], error: message });
        log(`explain: error: ${message}`);
      }
    }
    const errors = results.filter((r) => !r.ok).map((r) => ({ file: r.file, message: r.error! }));
    return {
      outDir: cfg.out,
      model,
      backend: explainer.backend,
      ...(explainer.backendDetail ? { backendDetail: explainer.backendDetail } : {}),
      variant: cfg.variant,
      methods: cfg.methods,
      targets: cfg.targets,
      inputs: results,
      errors,
      failed: errors.length,
      exitCode: errors.length > 0 ? 1 : 0,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    explainer.dispose();
  }
}

interface RunContext {
  cfg: ResolvedConfig;
  explainer: ExplainEngine;
  classes?: ClassNames;
  resolve: (i: number, probs: Float32Array, logits: Float32Array) => Target[];
  bounds: { low: number; high: number };
  model: string;
  h: number;
  w: number;
  c: number;
  chunkBytes: number;
}

/** Explains one input file (all its images, in memory-bounded chunks) and writes its outputs. */
async function explainOne(ctx: RunContext, file: string, stem: string): Promise<{ result: InputResult; targetLines: string[] }> {
  const { cfg, explainer, h, w, c } = ctx;
  const timings: Record<string, number> = {};
  const add = (k: string, ms: number) => (timings[k] = (timings[k] ?? 0) + ms);
  let t = performance.now();
  const input: LoadedInput = await loadInput(file, stem, { height: h, width: w, channels: c }, cfg);
  add('decode', performance.now() - t);

  const images = input.images;
  const perImageBytes = cfg.methods.length * cfg.targets.length * h * w * (c + 1) * 4 + h * w * c * 4;
  const chunk = Math.max(1, Math.floor(ctx.chunkBytes / perImageBytes));
  const maps = await MapFiles.open(cfg.out, stem, cfg.methods, cfg.targets, input.batched ? images.length : undefined, { h, w, c });
  const pictures: string[] = [];
  const entries: InputSummaryJson['images'] = [];
  try {
    for (let start = 0; start < images.length; start += chunk) {
      const part = images.slice(start, start + chunk);
      // Async: the webgpu backend cannot read tensors synchronously under Node (engine/reads.ts).
      const res = await runAsync(
        explainer.explainSteps(
          part.map((im) => im.data),
          ctx.resolve,
          {
            methods: cfg.methods,
            variant: cfg.variant,
            seed: cfg.seed,
            imageIds: part.map((im) => im.prefix),
            targetsPerImage: cfg.targets.length,
            ...(cfg.gradcamLayer ? { gradcamLayer: cfg.gradcamLayer } : {}),
          },
        ),
      );
      for (const [k, ms] of Object.entries(res.timings)) add(k, ms);
      t = performance.now();
      for (let i = 0; i < part.length; i++) {
        const im = part[i]!;
        const byImage = groupExplanations(res.explanations, i, cfg.targets.length, cfg.methods);
        for (let ti = 0; ti < cfg.targets.length; ti++) {
          for (const m of cfg.methods) {
            const e = byImage.maps[ti]!.get(m)!;
            await maps.add(cfg.out, stem, m, cfg.targets[ti]!, e.map, e.raw);
            const png = pngFile(cfg.out, im.prefix, m, cfg.targets[ti]!);
            await writeOverlayPng(png, e.map, im.display, h, w);
            pictures.push(png);
          }
        }
        const grid = join(cfg.out, `${im.prefix}_grid.png`);
        await writeGridPng(grid, im.prefix, cfg.targets, cfg.methods, byImage, im.display, res.forward.probs[i]!, h, w, ctx.classes);
        pictures.push(grid);
        entries.push(imageEntry(ctx, im, byImage.targets, res.forward.probs[i]!, res.forward.logits[i]!));
      }
      add('write', performance.now() - t);
    }
    await maps.close();
  } catch (e) {
    await maps.abort();
    throw e;
  }
  const summaryFile = join(cfg.out, `${stem}_summary.json`);
  const files = [...maps.files, ...pictures];
  const summary: InputSummaryJson = {
    input: file,
    kind: input.kind,
    model: ctx.model,
    backend: explainer.backend,
    ...(explainer.backendDetail ? { backendDetail: explainer.backendDetail } : {}),
    variant: cfg.variant,
    preprocess: cfg.preprocess,
    geometry: cfg.geometry,
    interpolation: cfg.interpolation,
    antialias: cfg.antialias,
    inputBounds: [ctx.bounds.low, ctx.bounds.high],
    inputShape: [h, w, c],
    methods: cfg.methods,
    seed: cfg.seed,
    ...(cfg.label !== undefined ? { label: cfg.label } : {}),
    images: entries,
    files: files.map((f) => basename(f)),
    timingsMs: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v * 10) / 10])),
  };
  await writeFile(summaryFile, `${JSON.stringify(summary, null, 2)}\n`);
  return {
    result: { file, stem, ok: true, images: images.length, files: [...files, summaryFile], summaryFile },
    targetLines: entries.map(targetLine),
  };
}

/** Images whose resolved targets are printed per input. */
const TARGET_LINES_SHOWN = 10;

/** "photo: top1 = 7 (class 7, p=0.481); top2 = 3 (class 3, p=0.412)": which class each target became. */
function targetLine(entry: InputSummaryJson['images'][number]): string {
  const parts = entry.targets.map(
    (t) =>
      `${t.spec} = ${t.name !== undefined ? `${t.name} (class ${t.classIndex}, ` : `class ${t.classIndex} (`}p=${t.probability.toPrecision(3)})`,
  );
  return `${entry.prefix}: ${parts.join('; ')}`;
}

/**
 * Image i's explanations by target position and method. The engine emits them per image, then
 * per target, then per method; targets are matched by position because two specs (top1 and gt)
 * may name the same class.
 */
function groupExplanations(
  all: { imageIndex: number; method: MethodName; target: Target; map: Float32Array; raw?: Float32Array }[],
  i: number,
  nTargets: number,
  methods: readonly MethodName[],
): ImageMaps {
  const mine = all.filter((e) => e.imageIndex === i);
  if (mine.length !== nTargets * methods.length)
    throw new Error(`internal: image ${i} has ${mine.length} explanations, expected ${nTargets * methods.length}`);
  const targets: Target[] = [];
  const maps: ImageMaps['maps'] = [];
  for (let t = 0; t < nTargets; t++) {
    const row = new Map<MethodName, { map: Float32Array; raw?: Float32Array }>();
    for (let k = 0; k < methods.length; k++) {
      const e = mine[t * methods.length + k]!;
      if (e.method !== methods[k]) throw new Error(`internal: explanation order changed (got ${e.method}, expected ${methods[k]})`);
      row.set(e.method, e.raw ? { map: e.map, raw: e.raw } : { map: e.map });
    }
    targets.push(mine[t * methods.length]!.target);
    maps.push(row);
  }
  return { targets, maps };
}

function imageEntry(
  ctx: RunContext,
  im: InputImage,
  targets: Target[],
  probs: Float32Array,
  logits: Float32Array,
): InputSummaryJson['images'][number] {
  return {
    prefix: im.prefix,
    ...(im.originalSize ? { originalSize: im.originalSize } : {}),
    logits: Array.from(logits),
    top5: topClasses(probs, logits, 5, ctx.classes),
    targets: targets.map((tg, t) => ({
      spec: ctx.cfg.targets[t]!,
      kind: tg.kind,
      file: targetFileName(ctx.cfg.targets[t]!),
      ...classScore(tg.classIndex, probs, logits, ctx.classes),
    })),
  };
}
