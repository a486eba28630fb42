/**
 * Per-image PASCAL-VOC XML of the ImageNet bounding-box release:
 *
 *   <annotation> … <size><width>500</width><height>375</height>…</size>
 *     <object><name>n01751748</name> … <bndbox><xmin>111</xmin><ymin>108</ymin>
 *       <xmax>441</xmax><ymax>343</ymax></bndbox></object> …
 *   </annotation>
 *
 * Why a small regex parser and not an XML library: the project has no XML dependency and these
 * files are machine-written with one flat, fixed schema; we read exactly the tags above and
 * nothing else. It is strict where it matters: an unbalanced `<object>` / `<annotation>`, an
 * object without a name or a complete numeric bndbox, or a non-numeric size is reported, never
 * guessed. Tags we do not need (`<pose>`, `<truncated>`, `<difficult>`, `<source>` …) are ignored.
 *
 * Coordinates are read as given, exactly like the LOC CSV's (docs/PROTOCOL.md §6): both forms
 * hold the same numbers (Kaggle's CSV was made from these XML files), and the protocol reads them
 * as 0-based pixel indices with `xmax`/`ymax` inclusive. Shifting one form by −1 would make the two
 * forms of one dataset give different boxes (and turn a box at x = 0 into x = −1).
 */
import { readFile } from 'node:fs/promises';
import type { ImageAnnotation } from './annotations.js';
import { isWnid } from './imagenet-classes.js';

/** Reads `<dir>/<imageId>.xml`; a missing file is `undefined` (the image has no annotation). */
export async function loadVocXml(path: string): Promise<ImageAnnotation | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { objects: [], issues: [`cannot read ${path}: ${(e as Error).message}`] };
  }
  return parseVocXml(text, path);
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** Content of every `<tag>…</tag>` directly found in `xml` (no attributes are expected). */
function elements(xml: string, tag: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}\\s*>`, 'g');
  for (let m = re.exec(xml); m; m = re.exec(xml)) out.push(m[1]!);
  return out;
}

function count(xml: string, re: RegExp): number {
  return (xml.match(re) ?? []).length;
}

/** The text of the single `<tag>` in `xml`, or an explanation of why there is none. */
function single(xml: string, tag: string): { value: string } | { problem: string } {
  const found = elements(xml, tag);
  if (found.length === 0) return { problem: `no <${tag}>` };
  if (found.length > 1) return { problem: `${found.length} <${tag}> elements` };
  const v = found[0]!.trim();
  if (v.includes('<')) return { problem: `<${tag}> holds markup, expected text` };
  return { value: v };
}

function number(xml: string, tag: string): { value: number } | { problem: string } {
  const s = single(xml, tag);
  if ('problem' in s) return s;
  if (!NUMBER.test(s.value)) return { problem: `<${tag}> is "${s.value}", not a number` };
  return { value: Number(s.value) };
}

export function parseVocXml(text: string, file = 'annotation.xml'): ImageAnnotation {
  const issues: string[] = [];
  const fail = (why: string): ImageAnnotation => ({ objects: [], issues: [`${file}: ${why}`] });
  const xml = text.replace(/<!--[\s\S]*?-->/g, '').replace(/<\?[\s\S]*?\?>/g, '');

  const opens = count(xml, /<annotation(\s[^>]*)?>/g);
  const closes = count(xml, /<\/annotation\s*>/g);
  if (opens !== 1 || closes !== 1)
    return fail(
      `expected one <annotation>…</annotation> element, found ${opens} opening and ${closes} closing tags (truncated or not a VOC file?)`,
    );
  const root = elements(xml, 'annotation')[0]!;

  const out: ImageAnnotation = { objects: [], issues };
  const sizes = elements(root, 'size');
  if (sizes.length === 1) {
    const w = number(sizes[0]!, 'width');
    const h = number(sizes[0]!, 'height');
    if ('value' in w && 'value' in h && Number.isInteger(w.value) && Number.isInteger(h.value) && w.value > 0 && h.value > 0) {
      out.width = w.value;
      out.height = h.value;
    } else {
      issues.push(
        `${file}: <size> is unusable (${'problem' in w ? w.problem : `width ${w.value}`}, ${'problem' in h ? h.problem : `height ${h.value}`}); the decoded image size is used`,
      );
    }
  } else if (sizes.length > 1) {
    issues.push(`${file}: ${sizes.length} <size> elements; ignored, the decoded image size is used`);
  }

  const objOpen = count(root, /<object(\s[^>]*)?>/g);
  const objClose = count(root, /<\/object\s*>/g);
  const objects = elements(root, 'object');
  if (objOpen !== objClose || objects.length !== objOpen) {
    return fail(`unbalanced <object> tags (${objOpen} opening, ${objClose} closing)`);
  }
  objects.forEach((obj, k) => {
    const where = `${file}: object ${k + 1}`;
    const name = single(obj, 'name');
    if ('problem' in name) return void issues.push(`${where}: ${name.problem}; skipped`);
    if (!isWnid(name.value)) return void issues.push(`${where}: <name> "${name.value}" is not a wnid (nXXXXXXXX); skipped`);
    const bbox = elements(obj, 'bndbox');
    if (bbox.length !== 1) return void issues.push(`${where} (${name.value}): expected one <bndbox>, found ${bbox.length}; skipped`);
    const coords = (['xmin', 'ymin', 'xmax', 'ymax'] as const).map((t) => number(bbox[0]!, t));
    const bad = coords.find((c): c is { problem: string } => 'problem' in c);
    if (bad) return void issues.push(`${where} (${name.value}): ${bad.problem}; skipped`);
    const [xmin, ymin, xmax, ymax] = coords.map((c) => (c as { value: number }).value) as [number, number, number, number];
    // As given: the same convention as the CSV form (see the file comment).
    out.objects.push({ wnid: name.value, xMin: xmin, yMin: ymin, xMax: xmax, yMax: ymax });
  });
  if (objects.length === 0) issues.push(`${file}: no <object> elements`);
  return out;
}
