/**
 * `explain` inputs: image files (decoded at the model's input size and channels, then
 * preprocessed with the preset) and `.npy` files that already hold preprocessed float32 input
 * (H×W×C, or an N×H×W×C batch). Each becomes model inputs plus 8-bit RGB pictures to draw the
 * heatmaps over.
 */
import { basename, extname } from 'node:path';

import { toDisplayRgb } from '../data/display.js';
import { decodeImage, type Geometry, type Interpolation } from '../io/image.js';
import { readNpy } from '../io/npy.js';
import { deprocessToRgb, preprocess, type PreprocessPreset } from '../io/preprocess.js';

/** One image to explain. */
export interface InputImage {
  /** Prefix of its per-image files (PNG, grid): the stem, or `stem_i` for element i of a batch. */
  prefix: string;
  /** Preprocessed model input, H×W×C. */
  data: Float32Array;
  /** What the heatmaps are drawn over: 8-bit RGB, H×W×3. */
  display: Uint8Array;
  /** Stored size of a decoded image file (width, height); absent for .npy input. */
  originalSize?: [number, number];
}

export interface LoadedInput {
  kind: 'image' | 'npy';
  /** True for an N×H×W×C .npy: its maps are stacked on a first axis of length N. */
  batched: boolean;
  images: InputImage[];
}

export interface ModelInput {
  height: number;
  width: number;
  channels: number;
}

export interface InputOptions {
  preprocess: PreprocessPreset;
  geometry: Geometry;
  /** Resampling of image inputs (io/resample.ts); absent = bilinear with antialias. */
  interpolation?: Interpolation;
  antialias?: boolean;
}

/** An input that cannot be used. The message names the file and says what is wrong. */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

export function isNpyPath(file: string): boolean {
  return extname(file).toLowerCase() === '.npy';
}

/**
 * File-name stems, one per input, made unique: `a/cat.jpg` and `b/cat.png` would otherwise
 * overwrite each other's outputs, so later ones get `-2`, `-3`, … .
 */
export function uniqueStems(files: readonly string[]): string[] {
  const used = new Set<string>();
  return files.map((f) => {
    const base = basename(f, extname(f)) || 'input';
    let stem = base;
    for (let k = 2; used.has(stem); k++) stem = `${base}-${k}`;
    used.add(stem);
    return stem;
  });
}

/** Reads one input file; throws `InputError` naming it when it cannot be used with this model. */
export async function loadInput(file: string, stem: string, model: ModelInput, opts: InputOptions): Promise<LoadedInput> {
  return isNpyPath(file) ? loadNpyInput(file, stem, model, opts) : loadImageInput(file, stem, model, opts);
}

async function loadImageInput(file: string, stem: string, model: ModelInput, opts: InputOptions): Promise<LoadedInput> {
  const { height: h, width: w, channels: c } = model;
  if (h !== w) {
    throw new InputError(
      file,
      `the model takes ${h}×${w} input and images are decoded to squares; give a preprocessed ${h}×${w}×${c} .npy instead`,
    );
  }
  if (c !== 1 && c !== 3) {
    throw new InputError(file, `the model takes ${c} channels and images decode to 1 (gray) or 3 (RGB); give a preprocessed .npy instead`);
  }
  let decoded;
  try {
    decoded = await decodeImage(file, {
      size: h,
      geometry: opts.geometry,
      channels: c,
      ...(opts.interpolation !== undefined && { interpolation: opts.interpolation }),
      ...(opts.antialias !== undefined && { antialias: opts.antialias }),
    });
  } catch (e) {
    // decodeImage's message already names the file ("cannot read image FILE: reason").
    throw new InputError(file, (e as Error).message.replace(`cannot read image ${file}: `, 'cannot read the image: '));
  }
  const data = preprocess(decoded.pixels, h, w, c, opts.preprocess);
  return {
    kind: 'image',
    batched: false,
    images: [
      { prefix: stem, data, display: toDisplayRgb(decoded.pixels, c), originalSize: [decoded.originalWidth, decoded.originalHeight] },
    ],
  };
}

async function loadNpyInput(file: string, stem: string, model: ModelInput, opts: InputOptions): Promise<LoadedInput> {
  const { height: h, width: w, channels: c } = model;
  let arr;
  try {
    arr = await readNpy(file);
  } catch (e) {
    throw new InputError(file, (e as Error).message);
  }
  const { data, shape } = arr;
  const want = `${h}×${w}×${c}`;
  const tail = shape.slice(-3);
  const fits = (shape.length === 3 || shape.length === 4) && tail[0] === h && tail[1] === w && tail[2] === c;
  if (!fits) {
    throw new InputError(
      file,
      `holds an array of shape (${shape.join(', ')}), but the model takes ${want}; give H×W×C (${want}) or N×H×W×C, preprocessed with the same preset (NHWC, channels last)`,
    );
  }
  const n = shape.length === 4 ? shape[0]! : 1;
  if (n === 0) throw new InputError(file, 'holds an empty batch (N = 0); nothing to explain');
  const bad = data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new InputError(file, `value ${bad} (in C order) is ${data[bad]}; the input must be finite`);
  const per = h * w * c;
  const batched = shape.length === 4;
  const images: InputImage[] = [];
  for (let i = 0; i < n; i++) {
    const x = data.slice(i * per, (i + 1) * per);
    images.push({ prefix: batched ? `${stem}_${i}` : stem, data: x, display: deprocessToRgb(x, h, w, c, opts.preprocess) });
  }
  return { kind: 'npy', batched, images };
}
