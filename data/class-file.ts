/**
 * A model's class list from a spec: `imagenet` (the shipped 1000 classes), `digits` ('0'…'9') or
 * the path of a class-name file. Errors are plain sentences naming the file; the callers add
 * where the spec came from (`model.classes` in a run config, `--classes` on the command line).
 */
import { readFileSync } from 'node:fs';
import { isWnid, loadImageNetClasses, parseClassesTsv, parseSynsetMapping, type ImageNetClasses } from './imagenet-classes.js';

/** The built-in class lists a spec can name instead of a file. */
export const BUILT_IN_CLASS_LISTS = ['imagenet', 'digits'] as const;

/** The ten digit classes of the digits-pair model: names '0'…'9', no wnids. */
export function digitClasses(): ImageNetClasses {
  const names = Array.from({ length: 10 }, (_, i) => String(i));
  return { wnids: names.map(() => ''), names };
}

/**
 * Reads a class-name file. Accepted forms, detected from the content:
 * - the shipped TSV (`index<TAB>wnid<TAB>name` header);
 * - `LOC_synset_mapping.txt` (`n01440764 tench, Tinca tinca` per line);
 * - one class name per line (no wnids: `wnids[i]` is '').
 */
export function readClassFile(path: string): ImageNetClasses {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the class-name file ${path} (${(e as Error).message}); give imagenet, digits or a readable file`);
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  if (lines.length === 0) throw new Error(`the class-name file ${path} has no class names (one per line expected)`);
  if (lines[0] === 'index\twnid\tname') return parseClassesTsv(text, path);
  if (lines.every((l) => isWnid(l.trim().split(/\s+/)[0] ?? ''))) return parseSynsetMapping(text, path);
  const names = lines.map((l) => l.trim());
  return { wnids: names.map(() => ''), names };
}

/** The class list a spec names: a built-in list by name, anything else as a file path. */
export function classListFromSpec(spec: string): ImageNetClasses {
  if (spec === 'imagenet') return loadImageNetClasses();
  if (spec === 'digits') return digitClasses();
  return readClassFile(spec);
}
