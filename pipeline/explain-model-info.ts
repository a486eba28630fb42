/**
 * `sglrp.json`: what a model was trained with, kept next to its model.json so that `explain` can
 * use the right preprocessing and class names without the user knowing them. Written by
 * scripts/train-digits.ts; any model folder may have one. Flags given on the command line always
 * win over it.
 *
 * ```json
 * { "preprocess": "unit", "geometry": "resize", "classes": ["0", "1", …], "trainedBy": "…" }
 * ```
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { GEOMETRIES, type Geometry } from '../io/image.js';
import { PRESETS, type PreprocessPreset } from '../io/preprocess.js';
import { ExplainUsageError } from './explain-options.js';

export const MODEL_INFO_FILE = 'sglrp.json';

export interface ModelInfo {
  /** The file it was read from. */
  path: string;
  preprocess?: PreprocessPreset;
  geometry?: Geometry;
  /** Class i of the model's output is `classes[i]`. */
  classes?: string[];
  /** Free text: what produced the model (shown nowhere, for people reading the folder). */
  trainedBy?: string;
}

/** The contents written for a model (the inverse of readModelInfo, without `path`). */
export type ModelInfoJson = Omit<ModelInfo, 'path'>;

/** Reads `sglrp.json` next to `modelJson`; undefined when there is none. A malformed one is an error naming it. */
export function readModelInfo(modelJson: string): ModelInfo | undefined {
  const path = join(dirname(modelJson), MODEL_INFO_FILE);
  if (!existsSync(path)) return undefined;
  const bad = (what: string) =>
    new ExplainUsageError(`${path}: ${what}; fix or delete the file (flags such as --preprocess and --classes override it)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw bad(`not readable JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('expected a JSON object');
  const v = raw as Record<string, unknown>;
  const info: ModelInfo = { path };
  if (v['preprocess'] !== undefined) {
    if (!(PRESETS as readonly unknown[]).includes(v['preprocess']))
      throw bad(`"preprocess" is ${JSON.stringify(v['preprocess'])}, expected one of ${PRESETS.join(', ')}`);
    info.preprocess = v['preprocess'] as PreprocessPreset;
  }
  if (v['geometry'] !== undefined) {
    if (!(GEOMETRIES as readonly unknown[]).includes(v['geometry']))
      throw bad(`"geometry" is ${JSON.stringify(v['geometry'])}, expected one of ${GEOMETRIES.join(', ')}`);
    info.geometry = v['geometry'] as Geometry;
  }
  if (v['classes'] !== undefined) {
    const c = v['classes'];
    if (!Array.isArray(c) || c.length === 0 || !c.every((x) => typeof x === 'string' && x.length > 0))
      throw bad('"classes" must be a non-empty list of class names (strings)');
    info.classes = c as string[];
  }
  if (typeof v['trainedBy'] === 'string') info.trainedBy = v['trainedBy'];
  return info;
}

/** The text of an `sglrp.json` (stable key order, trailing newline). */
export function modelInfoText(info: ModelInfoJson): string {
  const ordered: ModelInfoJson = {
    ...(info.trainedBy !== undefined ? { trainedBy: info.trainedBy } : {}),
    ...(info.preprocess !== undefined ? { preprocess: info.preprocess } : {}),
    ...(info.geometry !== undefined ? { geometry: info.geometry } : {}),
    ...(info.classes !== undefined ? { classes: info.classes } : {}),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}
