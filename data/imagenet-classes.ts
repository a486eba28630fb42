/**
 * The 1000 ImageNet (ILSVRC-2012) classes in the output order of Keras-trained models: the
 * wnids sorted ascending (`n01440764` = 0, tench; `n15075141` = 999, toilet tissue).
 *
 * The shipped list `data/imagenet-classes.tsv` (`index<TAB>wnid<TAB>name`, one header line) was
 * made from Debian's `darknet` package: the first 1000 lines of
 * `/usr/share/darknet/data/imagenet.labels.list` (wnids) and `imagenet.shortnames.list` (short
 * names), paired line by line and sorted by wnid. Two short names occur twice in ImageNet
 * ("crane": bird and machine; "maillot": two garments), so a name is not always a key; the wnid is.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../io/project-root.js';

/** Class i of the model's output is `wnids[i]`, shown as `names[i]`. */
export interface ImageNetClasses {
  wnids: string[];
  names: string[];
}

const WNID = /^n\d{8}$/;

export function isWnid(s: string): boolean {
  return WNID.test(s);
}

let shipped: ImageNetClasses | undefined;

/** The shipped 1000-class list (read once per thread, then cached; callers must not mutate it). */
export function loadImageNetClasses(): ImageNetClasses {
  if (shipped) return shipped;
  const file = join(projectRoot(), 'data', 'imagenet-classes.tsv');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(
      `cannot read the ImageNet class list ${file}: ${(e as Error).message}; ` +
        `it ships with the project (data/imagenet-classes.tsv), restore it from git`,
    );
  }
  shipped = parseClassesTsv(text, file);
  return shipped;
}

/** Parses the shipped TSV; exported for tests. Every row is checked, so a damaged file fails loudly. */
export function parseClassesTsv(text: string, file = 'imagenet-classes.tsv'): ImageNetClasses {
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines[0] !== 'index\twnid\tname') {
    throw new Error(`${file}: the first line must be the header "index<TAB>wnid<TAB>name"`);
  }
  const wnids: string[] = [];
  const names: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const cols = lines[i]!.split('\t');
    const [index, wnid, name] = cols;
    if (cols.length !== 3 || Number(index) !== i - 1 || !isWnid(wnid!) || !name) {
      throw new Error(`${file} line ${i + 1}: expected "${i - 1}<TAB>nXXXXXXXX<TAB>name", got "${lines[i]}"`);
    }
    wnids.push(wnid!);
    names.push(name);
  }
  checkClasses({ wnids, names }, file);
  return { wnids, names };
}

/**
 * Reads a dataset's own `LOC_synset_mapping.txt` (`n01440764 tench, Tinca tinca` per line).
 * The class order is the file's line order (in the Kaggle release it is the sorted-wnid order,
 * i.e. the Keras order; a file in another order describes a model with that order). The name is
 * the first comma-separated synonym.
 */
export function loadSynsetMapping(path: string): ImageNetClasses {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the synset mapping ${path}: ${(e as Error).message}`);
  }
  return parseSynsetMapping(text, path);
}

export function parseSynsetMapping(text: string, file = 'LOC_synset_mapping.txt'): ImageNetClasses {
  const wnids: string[] = [];
  const names: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const m = /^(n\d{8})\s+(.+)$/.exec(line);
    if (!m) {
      throw new Error(`${file} line ${i + 1}: expected "nXXXXXXXX name, synonym, ...", got "${raw}"`);
    }
    const name = m[2]!.split(',')[0]!.trim();
    if (!name) throw new Error(`${file} line ${i + 1}: the class ${m[1]} has an empty name`);
    wnids.push(m[1]!);
    names.push(name);
  });
  if (wnids.length === 0) throw new Error(`${file}: no classes found (is it the right file?)`);
  checkClasses({ wnids, names }, file);
  return { wnids, names };
}

function checkClasses(c: ImageNetClasses, file: string): void {
  const seen = new Map<string, number>();
  c.wnids.forEach((w, i) => {
    const before = seen.get(w);
    if (before !== undefined) throw new Error(`${file}: the wnid ${w} occurs twice (classes ${before} and ${i})`);
    seen.set(w, i);
  });
}

/** Index lookups built once per class list (a reader resolves 50,000 labels through them). */
const wnidIndexCache = new WeakMap<ImageNetClasses, Map<string, number>>();

/** The class index of a wnid, or -1 when the list does not have it. */
export function wnidIndex(wnid: string, classes: ImageNetClasses): number {
  let map = wnidIndexCache.get(classes);
  if (!map) {
    map = new Map(classes.wnids.map((w, i) => [w, i]));
    wnidIndexCache.set(classes, map);
  }
  return map.get(wnid) ?? -1;
}

/**
 * The class index named by `spec`: a wnid (`n02123045`) or an exact class name (`tabby`,
 * case-insensitive). Throws when it matches nothing, or when a name belongs to several classes
 * (say which wnids to use instead).
 */
export function classIndexOf(spec: string, classes: ImageNetClasses): number {
  const s = spec.trim();
  if (isWnid(s)) {
    const i = wnidIndex(s, classes);
    if (i < 0) throw new Error(`unknown class "${spec}": this wnid is not among the ${classes.wnids.length} classes of the list`);
    return i;
  }
  const wanted = s.toLowerCase();
  const hits: number[] = [];
  classes.names.forEach((n, i) => {
    if (n.toLowerCase() === wanted) hits.push(i);
  });
  if (hits.length === 1) return hits[0]!;
  if (hits.length > 1) {
    const which = hits.map((i) => `${classes.wnids[i]} (index ${i})`).join(', ');
    throw new Error(`class name "${spec}" is ambiguous: ${which}; give the wnid instead`);
  }
  const near = classes.names.filter((n) => n.toLowerCase().includes(wanted)).slice(0, 5);
  const hint = near.length > 0 ? `; similar names: ${near.map((n) => `"${n}"`).join(', ')}` : '';
  throw new Error(`unknown class "${spec}": give a wnid (e.g. n01440764) or an exact class name${hint}`);
}
