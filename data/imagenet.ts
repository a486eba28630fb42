/**
 * ImageNet (ILSVRC-2012) validation reader: `ILSVRC2012_val_%08d.JPEG` files in one folder, in
 * the order of their number, with labels and boxes from either `LOC_val_solution.csv` or a
 * folder of per-image PASCAL-VOC XML files (docs/PROTOCOL.md §6), or with no annotations at all.
 *
 * The label is the annotated wnid mapped to the model's class index through the class list
 * (default: the shipped Keras order, data/imagenet-classes.tsv). The boxes are those of the
 * ground-truth class, mapped through the same geometry as the pixels. Problems are data, not
 * crashes: an unreadable image is `{ok: false}` with the reason; an image without a usable
 * annotation is still a sample (label −1, no boxes, `annotationIssues` says why); a bad box is
 * dropped or clipped and listed in `boxIssues`.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkIndex, type DatasetReader, type Sample, type SampleOrError } from './types.js';
import { resolveAnnotation, type BoxIssue, type ImageAnnotation } from './annotations.js';
import { checkImageInputOptions, decodeSample, type ImageInputOptions } from './decode-sample.js';
import { loadImageNetClasses, loadSynsetMapping, type ImageNetClasses } from './imagenet-classes.js';
import { loadLocCsv } from './loc-csv.js';
import { loadVocXml } from './voc-xml.js';

export type ImageNetAnnotations = { kind: 'loc-csv'; path: string } | { kind: 'voc-xml'; dir: string } | { kind: 'none' };

export interface ImageNetOptions extends ImageInputOptions {
  /** Folder holding the `ILSVRC2012_val_XXXXXXXX.JPEG` files. */
  imagesDir: string;
  /** Where labels and boxes come from (default: none, label −1 and no boxes). */
  annotations?: ImageNetAnnotations;
  /** The model's classes in output order (default: the shipped Keras-order list). */
  classes?: ImageNetClasses;
}

export interface ImageNetSample extends Sample {
  /** The annotated ground-truth wnid, or null. */
  wnid: string | null;
  /** Stored size of the source image, before geometry. */
  originalWidth: number;
  originalHeight: number;
  /** Boxes that were dropped or clipped, with the reason. */
  boxIssues: BoxIssue[];
  /** Why the label is −1 or the annotation looked odd (empty when all is well). */
  annotationIssues: string[];
}

export interface ImageNetReader extends DatasetReader {
  /** Dataset-level problems found while opening it (bad CSV lines, class-list mismatch). */
  readonly issues: readonly string[];
}

const FILE = /^ILSVRC2012_val_(\d{8})\.(JPEG|jpeg|JPG|jpg)$/;

/** The image files of `dir`, sorted by image number. */
export function listImageNetVal(dir: string): { ids: string[]; files: string[] } {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a folder');
    names = readdirSync(dir);
  } catch (e) {
    throw new Error(`ImageNet reader: cannot list imagesDir ${dir}: ${(e as Error).message}`);
  }
  const found = names
    .map((name) => ({ name, m: FILE.exec(name) }))
    .filter((f): f is { name: string; m: RegExpExecArray } => f.m !== null)
    .map(({ name, m }) => ({ name, id: name.slice(0, name.lastIndexOf('.')), n: Number(m[1]) }))
    .sort((a, b) => a.n - b.n);
  if (found.length === 0) {
    throw new Error(`ImageNet reader: no ILSVRC2012_val_XXXXXXXX.JPEG files in ${dir}; point imagesDir at the validation image folder`);
  }
  for (let i = 1; i < found.length; i++) {
    if (found[i]!.n === found[i - 1]!.n) {
      throw new Error(`ImageNet reader: ${found[i - 1]!.name} and ${found[i]!.name} in ${dir} are the same image id; remove one`);
    }
  }
  return { ids: found.map((f) => f.id), files: found.map((f) => join(dir, f.name)) };
}

export function imagenetDataset(options: ImageNetOptions): ImageNetReader {
  checkImageInputOptions(options, 'ImageNet reader');
  const { ids, files } = listImageNetVal(options.imagesDir);
  const classes = options.classes ?? loadImageNetClasses();
  const ann = options.annotations ?? { kind: 'none' };
  const issues: string[] = [];

  let annotationOf: (id: string) => Promise<ImageAnnotation | undefined>;
  switch (ann.kind) {
    case 'none':
      annotationOf = async () => undefined;
      break;
    case 'loc-csv': {
      const csv = loadLocCsv(ann.path);
      issues.push(...csv.issues);
      annotationOf = async (id) => csv.byId.get(id);
      const mapping = join(dirname(ann.path), 'LOC_synset_mapping.txt');
      if (existsSync(mapping)) issues.push(...compareClassLists(mapping, classes));
      break;
    }
    case 'voc-xml': {
      try {
        if (!statSync(ann.dir).isDirectory()) throw new Error('not a folder');
      } catch (e) {
        throw new Error(
          `ImageNet reader: annotations.dir ${ann.dir} is unusable (${(e as Error).message}); point it at the folder of per-image .xml files`,
        );
      }
      annotationOf = (id) => loadVocXml(join(ann.dir, `${id}.xml`));
      break;
    }
    default:
      throw new Error(
        `ImageNet reader: annotations.kind must be loc-csv, voc-xml or none, got "${String((ann as { kind: unknown }).kind)}"`,
      );
  }

  const check = (index: number): void => checkIndex('ImageNet reader', index, ids.length);

  return {
    name: `ImageNet validation (${options.imagesDir}, ${ids.length} images, annotations: ${ann.kind})`,
    hasBoxes: ann.kind !== 'none',
    issues,
    size: () => ids.length,
    idAt(index) {
      check(index);
      return ids[index]!;
    },
    async read(index): Promise<SampleOrError> {
      check(index);
      const id = ids[index]!;
      try {
        const img = await decodeSample(files[index]!, options);
        if (!img.ok) return { ok: false, error: { id, index, reason: img.reason } };
        const resolved = resolveAnnotation(await annotationOf(id), classes, { ...img, size: options.size, geometry: options.geometry });
        const sample: ImageNetSample = {
          id,
          index,
          height: options.size,
          width: options.size,
          channels: options.channels,
          input: img.input,
          display: img.display,
          label: resolved.label,
          boxes: resolved.boxes,
          wnid: resolved.wnid,
          originalWidth: img.originalWidth,
          originalHeight: img.originalHeight,
          boxIssues: resolved.boxIssues,
          annotationIssues: ann.kind === 'none' ? [] : resolved.issues,
          annotation: {
            issues: ann.kind === 'none' ? [] : resolved.issues,
            droppedBoxes: resolved.boxIssues.filter((b) => b.action === 'dropped').map((b) => b.reason),
            boxClipped: resolved.boxClipped,
          },
        };
        return { ok: true, sample };
      } catch (e) {
        // Nothing above should throw for data reasons; if it does, it is still one image's problem.
        return {
          ok: false,
          error: { id, index, reason: `unexpected failure reading ${files[index]}: ${e instanceof Error ? e.message : String(e)}` },
        };
      }
    },
  };
}

/** A dataset's own LOC_synset_mapping.txt is read to catch a class list that does not match it. */
function compareClassLists(mappingFile: string, classes: ImageNetClasses): string[] {
  try {
    const own = loadSynsetMapping(mappingFile);
    const same = own.wnids.length === classes.wnids.length && own.wnids.every((w, i) => w === classes.wnids[i]);
    return same
      ? []
      : [
          `${mappingFile} lists ${own.wnids.length} classes in an order that differs from the model's class list ` +
            `(${classes.wnids.length} classes); labels are mapped by wnid through the model's list`,
        ];
  } catch (e) {
    return [`${mappingFile} is unreadable (${(e as Error).message}); ignored`];
  }
}
