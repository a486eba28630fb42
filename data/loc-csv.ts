/**
 * `LOC_val_solution.csv` (Kaggle's ImageNet Object Localization release):
 *
 *   ImageId,PredictionString
 *   ILSVRC2012_val_00008726,n02119789 255 142 454 329 n02119789 44 21 322 295
 *
 * i.e. repeated `wnid x_min y_min x_max y_max` groups. The numbers are used as given, as 0-based
 * pixel indices with `x_max`/`y_max` inclusive (what `mapBox` takes; docs/PROTOCOL.md §6). The
 * per-image VOC XML release holds the same numbers and voc-xml.ts reads them the same way, so
 * both forms of one dataset give identical boxes.
 *
 * A malformed line never fails the whole file: its problems are kept per image (or, for a line
 * whose image id cannot be read, in the file-level `issues`).
 */
import { readFileSync } from 'node:fs';
import type { AnnotatedObject, ImageAnnotation } from './annotations.js';
import { isWnid } from './imagenet-classes.js';

export interface LocCsv {
  byId: Map<string, ImageAnnotation>;
  /** Problems not tied to a readable image id (bad lines), with line numbers. */
  issues: string[];
}

export function loadLocCsv(path: string): LocCsv {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the annotation file ${path}: ${(e as Error).message}; check annotations.path`);
  }
  return parseLocCsv(text, path);
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export function parseLocCsv(text: string, file = 'LOC_val_solution.csv'): LocCsv {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = lines[0]?.trim().replace(/\s+/g, '');
  if (header !== 'ImageId,PredictionString') {
    throw new Error(`${file}: the first line must be "ImageId,PredictionString" (got "${lines[0] ?? ''}"); is this LOC_val_solution.csv?`);
  }
  const byId = new Map<string, ImageAnnotation>();
  const issues: string[] = [];
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '') continue;
    const comma = line.indexOf(',');
    const id = (comma < 0 ? line : line.slice(0, comma)).trim();
    if (comma < 0 || id === '' || /\s/.test(id)) {
      issues.push(`${file} line ${n + 1}: expected "ImageId,wnid x_min y_min x_max y_max ...", got "${line.slice(0, 80)}"`);
      continue;
    }
    let ann = byId.get(id);
    if (ann) {
      ann.issues.push(`${file} line ${n + 1}: ${id} is listed again; its objects are added to the earlier line's`);
    } else {
      ann = { objects: [], issues: [] };
      byId.set(id, ann);
    }
    parsePredictionString(line.slice(comma + 1).replace(/^"|"$/g, ''), ann, `${file} line ${n + 1}`);
  }
  return { byId, issues };
}

function parsePredictionString(s: string, ann: ImageAnnotation, where: string): void {
  const tokens = s
    .trim()
    .split(/\s+/)
    .filter((t) => t !== '');
  if (tokens.length === 0) {
    ann.issues.push(`${where}: no objects listed`);
    return;
  }
  if (tokens.length % 5 !== 0) {
    ann.issues.push(
      `${where}: ${tokens.length} values is not a multiple of 5 (wnid x_min y_min x_max y_max); the incomplete last group is skipped`,
    );
  }
  for (let i = 0; i + 5 <= tokens.length; i += 5) {
    const [wnid, ...nums] = tokens.slice(i, i + 5) as [string, string, string, string, string];
    if (!isWnid(wnid)) {
      ann.issues.push(`${where}: object ${i / 5 + 1} has "${wnid}" where a wnid (nXXXXXXXX) belongs; skipped`);
      continue;
    }
    if (!nums.every((t) => NUMBER.test(t))) {
      ann.issues.push(`${where}: object ${i / 5 + 1} (${wnid}) has non-numeric coordinates "${nums.join(' ')}"; skipped`);
      continue;
    }
    const [xMin, yMin, xMax, yMax] = nums.map(Number) as [number, number, number, number];
    const obj: AnnotatedObject = { wnid, xMin, yMin, xMax, yMax };
    ann.objects.push(obj);
  }
}
