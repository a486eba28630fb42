/**
 * A plain folder of images (jpg/jpeg/png/webp, by extension, any case): for masking only, since
 * it has no boxes. Order: relative paths sorted by code point (not locale, so every machine
 * agrees). Labels are −1, except in the ImageFolder layout where a top-level sub-folder is named
 * by a wnid (`dir/n01440764/x.jpg`): then the label is that wnid's class index.
 *
 * Which files are read: those directly in `dir` and directly in its wnid-named sub-folders; with
 * `recursive: true`, every matching file below `dir`. Symbolic links to folders are not followed
 * (a link cycle would never end).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkIndex, type DatasetReader, type Sample, type SampleOrError } from './types.js';
import { checkImageInputOptions, decodeSample, type ImageInputOptions } from './decode-sample.js';
import { isWnid, loadImageNetClasses, wnidIndex, type ImageNetClasses } from './imagenet-classes.js';

export interface FolderOptions extends ImageInputOptions {
  dir: string;
  /** Also read images in nested sub-folders (default false). */
  recursive?: boolean;
  /** Classes for wnid-named sub-folders (default: the shipped ImageNet list). */
  classes?: ImageNetClasses;
}

export interface FolderSample extends Sample {
  /** Path of the image relative to the folder, with `/` separators. */
  file: string;
  /** The wnid of its top-level sub-folder, or null. */
  wnid: string | null;
}

const IMAGE = /\.(jpe?g|png|webp)$/i;

/** Relative paths (with `/`) of the images `folderDataset` reads, in its order. */
export function listImageFolder(dir: string, recursive = false): string[] {
  const out: string[] = [];
  const walk = (abs: string, rel: string, depth: number): void => {
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        try {
          isFile = statSync(join(abs, e.name)).isFile();
        } catch {
          isFile = false; // a dangling link is not an image
        }
      }
      if (isFile) {
        if (IMAGE.test(e.name)) out.push(r);
      } else if (e.isDirectory() && (recursive || (depth === 0 && isWnid(e.name)))) {
        walk(join(abs, e.name), r, depth + 1);
      }
    }
  };
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a folder');
    walk(dir, '', 0);
  } catch (e) {
    throw new Error(`folder reader: cannot list ${dir}: ${(e as Error).message}`);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Ids are relative paths without the extension, unless two files would share one (a.jpg, a.png). */
function idsFor(files: string[]): string[] {
  const stem = (f: string): string => f.slice(0, f.lastIndexOf('.'));
  const seen = new Map<string, number>();
  for (const f of files) seen.set(stem(f), (seen.get(stem(f)) ?? 0) + 1);
  return files.map((f) => (seen.get(stem(f))! > 1 ? f : stem(f)));
}

export function folderDataset(options: FolderOptions): DatasetReader {
  checkImageInputOptions(options, 'folder reader');
  const files = listImageFolder(options.dir, options.recursive ?? false);
  if (files.length === 0) {
    throw new Error(
      `folder reader: no .jpg/.jpeg/.png/.webp images in ${options.dir}${options.recursive ? ' or below' : ' (set recursive: true to look in sub-folders)'}`,
    );
  }
  const ids = idsFor(files);
  const classes = options.classes ?? loadImageNetClasses();
  const wnids = files.map((f) => {
    const top = f.includes('/') ? f.slice(0, f.indexOf('/')) : null;
    return top !== null && isWnid(top) ? top : null;
  });
  const labelled = wnids.some((w) => w !== null);
  // A wnid folder the model does not know leaves its images unlabelled: say so once, per folder.
  const unknown = [...new Set(wnids.filter((w): w is string => w !== null && wnidIndex(w, classes) < 0))];
  const issues = unknown.map((w) => {
    const n = wnids.filter((x) => x === w).length;
    return `${join(options.dir, w)}: the sub-folder's wnid is not among the model's ${classes.wnids.length} classes, so its ${n} image${n === 1 ? ' is' : 's are'} unlabelled (label −1)`;
  });

  const check = (index: number): void => checkIndex('folder reader', index, files.length);
  return {
    name: `image folder ${options.dir} (${files.length} images${labelled ? ', labels from wnid sub-folders' : ''})`,
    hasBoxes: false,
    issues,
    size: () => files.length,
    idAt(index) {
      check(index);
      return ids[index]!;
    },
    async read(index): Promise<SampleOrError> {
      check(index);
      const id = ids[index]!;
      const img = await decodeSample(join(options.dir, files[index]!), options);
      if (!img.ok) return { ok: false, error: { id, index, reason: img.reason } };
      const wnid = wnids[index]!;
      const sample: FolderSample = {
        id,
        index,
        height: options.size,
        width: options.size,
        channels: options.channels,
        input: img.input,
        display: img.display,
        // A wnid folder the model does not know gives −1, like an unlabelled image.
        label: wnid ? wnidIndex(wnid, classes) : -1,
        boxes: [],
        file: files[index]!,
        wnid,
      };
      return { ok: true, sample };
    },
  };
}
