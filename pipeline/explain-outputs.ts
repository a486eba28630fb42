/**
 * What `explain` writes per input: the float maps (.npy, stacked on a first axis for an .npy
 * batch), the signed raw relevance, one heatmap PNG per map drawn over the image, one grid PNG
 * per image (paper Fig. 6: a row per target, the input then every method) and a summary JSON.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { methodLabel, RAW_METHOD_NAMES } from '../engine/methods/index.js';
import type { MethodName, Target } from '../engine/types.js';
import { encodePng, gridPng, heatmapRgb, overlayRgb, type GridRow } from '../io/heatmap.js';
import { writeNpy } from '../io/npy.js';
import type { ClassNames } from './explain-classes.js';
import { NpyStreamWriter } from './explain-npy-stream.js';

/** Methods whose explanation carries a signed H×W×C input signal (Grad-CAM and Random do not): from the method registry. */
export const RAW_METHODS: readonly MethodName[] = RAW_METHOD_NAMES;

/** How much of the heatmap shows in the overlay PNGs (the rest is the image). */
export const OVERLAY_ALPHA = 0.6;

/**
 * A target spec as it appears in file names: as given (top1, 340, n02391049), with anything
 * outside [A-Za-z0-9._-] (spaces and slashes in class names) replaced by '-'.
 */
export function targetFileName(spec: string): string {
  return spec.replace(/[^A-Za-z0-9._-]+/g, '-');
}

export function mapFile(dir: string, stem: string, method: MethodName, spec: string, suffix: '' | '_raw'): string {
  return join(dir, `${stem}_${method}_${targetFileName(spec)}${suffix}.npy`);
}

export function pngFile(dir: string, prefix: string, method: MethodName, spec: string): string {
  return join(dir, `${prefix}_${method}_${targetFileName(spec)}.png`);
}

/** "tabby (281)" when names are known, else "class 281". */
export function classLabel(index: number, classes?: ClassNames): string {
  const name = classes?.names[index];
  return name ? `${name} (${index})` : `class ${index}`;
}

export interface ClassScore {
  classIndex: number;
  probability: number;
  logit: number;
  name?: string;
  wnid?: string;
}

export function classScore(index: number, probs: Float32Array, logits: Float32Array, classes?: ClassNames): ClassScore {
  const name = classes?.names[index];
  const wnid = classes?.wnids[index];
  return { classIndex: index, probability: probs[index]!, logit: logits[index]!, ...(name ? { name } : {}), ...(wnid ? { wnid } : {}) };
}

/**
 * The k most probable classes. Ties in probability (float32 softmax underflows to 0 for logits
 * far below the maximum) are broken by the logit, which still orders them.
 */
export function topClasses(probs: Float32Array, logits: Float32Array, k: number, classes?: ClassNames): ClassScore[] {
  return Array.from({ length: probs.length }, (_, i) => i)
    .sort((a, b) => probs[b]! - probs[a]! || logits[b]! - logits[a]! || a - b)
    .slice(0, k)
    .map((i) => classScore(i, probs, logits, classes));
}

/** One image's explanations, indexed [target position][method]. */
export interface ImageMaps {
  targets: Target[];
  maps: Map<MethodName, { map: Float32Array; raw?: Float32Array }>[];
}

/**
 * The .npy side of one input: per (method, target) a map file and, for RAW_METHODS, a raw file.
 * A single image writes each file at once; an N-image batch streams into stacked files.
 */
export class MapFiles {
  private readonly writers = new Map<string, NpyStreamWriter>();
  readonly files: string[] = [];

  private constructor(
    private readonly batch: number | undefined,
    private readonly shape: { h: number; w: number; c: number },
  ) {}

  /** `batch` = N for a stacked batch input, undefined for a single image. */
  static async open(
    dir: string,
    stem: string,
    methods: readonly MethodName[],
    specs: readonly string[],
    batch: number | undefined,
    shape: { h: number; w: number; c: number },
  ): Promise<MapFiles> {
    const files = new MapFiles(batch, shape);
    if (batch === undefined) return files;
    const lead = [batch];
    try {
      for (const spec of specs) {
        for (const m of methods) {
          files.writers.set(`${m}|${spec}`, await NpyStreamWriter.create(mapFile(dir, stem, m, spec, ''), [...lead, shape.h, shape.w]));
          if (RAW_METHODS.includes(m))
            files.writers.set(
              `${m}|${spec}|raw`,
              await NpyStreamWriter.create(mapFile(dir, stem, m, spec, '_raw'), [...lead, shape.h, shape.w, shape.c]),
            );
        }
      }
    } catch (e) {
      await files.abort();
      throw e;
    }
    return files;
  }

  /** Writes (or appends, for a batch) one image's map and raw relevance. Images come in order. */
  async add(dir: string, stem: string, method: MethodName, spec: string, map: Float32Array, raw: Float32Array | undefined): Promise<void> {
    const { h, w, c } = this.shape;
    if (RAW_METHODS.includes(method) && !raw)
      throw new Error(`internal: the ${method} explanation for target ${spec} has no raw relevance`);
    if (this.batch === undefined) {
      const mf = mapFile(dir, stem, method, spec, '');
      await writeNpy(mf, map, [h, w]);
      this.files.push(mf);
      if (raw && RAW_METHODS.includes(method)) {
        const rf = mapFile(dir, stem, method, spec, '_raw');
        await writeNpy(rf, raw, [h, w, c]);
        this.files.push(rf);
      }
      return;
    }
    await this.writers.get(`${method}|${spec}`)!.append(map);
    if (raw && RAW_METHODS.includes(method)) await this.writers.get(`${method}|${spec}|raw`)!.append(raw);
  }

  async close(): Promise<void> {
    for (const wr of this.writers.values()) {
      await wr.close();
      this.files.push(wr.path);
    }
    this.writers.clear();
  }

  async abort(): Promise<void> {
    for (const wr of this.writers.values()) await wr.abort();
    this.writers.clear();
  }
}

/** The heatmap of `map` blended over the image, at the model's input resolution. */
export async function writeOverlayPng(path: string, map: Float32Array, display: Uint8Array, h: number, w: number): Promise<void> {
  const rgb = overlayRgb(heatmapRgb(map, h, w), display, h, w, OVERLAY_ALPHA);
  await writeFile(path, await encodePng(rgb, h, w, 3));
}

/** Paper Fig. 6 layout: one row per target, the input then each method's heatmap. */
export async function writeGridPng(
  path: string,
  prefix: string,
  specs: readonly string[],
  methods: readonly MethodName[],
  image: ImageMaps,
  display: Uint8Array,
  probs: Float32Array,
  h: number,
  w: number,
  classes?: ClassNames,
): Promise<void> {
  const rows: GridRow[] = specs.map((spec, t) => {
    const target = image.targets[t]!;
    const p = probs[target.classIndex]!;
    return {
      label: `${prefix} · ${spec}: ${classLabel(target.classIndex, classes)}, p = ${formatProb(p)}`,
      tiles: [
        { title: 'input', rgb: display, h, w },
        ...methods.map((m) => ({ title: methodLabel(m), rgb: heatmapRgb(image.maps[t]!.get(m)!.map, h, w), h, w })),
      ],
    };
  });
  await writeFile(path, await gridPng(rows));
}

function formatProb(p: number): string {
  return p >= 0.001 ? p.toFixed(3) : p.toExponential(2);
}
