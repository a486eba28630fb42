/**
 * The class list `explain` shows names from and resolves wnid / class-name targets against:
 * `imagenet` (the shipped 1000 classes), `digits` ('0'…'9'), or a file.
 */
import { digitClasses, readClassFile as readClassFileOf } from '../data/class-file.js';
import { classIndexOf, loadImageNetClasses, type ImageNetClasses } from '../data/imagenet-classes.js';
import { ExplainUsageError } from './explain-options.js';

/** Class i of the model's output is `names[i]`; `wnids[i]` is '' when the list has no wnids. */
export type ClassNames = ImageNetClasses;

/** data/class-file.ts's reader, its plain errors worded for the `--classes` flag. */
export function readClassFile(path: string): ClassNames {
  try {
    return readClassFileOf(path);
  } catch (e) {
    throw new ExplainUsageError(`--classes ${path}: ${(e as Error).message}`);
  }
}

/** Resolves `--classes` for a model with `numClasses` outputs. Undefined = no names known. */
export function loadClassNames(spec: string | undefined, numClasses: number): ClassNames | undefined {
  let classes: ClassNames;
  if (spec === undefined) {
    // Names are only a convenience, so a guess that cannot be right is simply not made.
    return numClasses === 1000 ? loadImageNetClasses() : undefined;
  } else if (spec === 'imagenet') {
    classes = loadImageNetClasses();
  } else if (spec === 'digits') {
    classes = digitClasses();
  } else {
    classes = readClassFile(spec);
  }
  if (classes.names.length !== numClasses) {
    throw new ExplainUsageError(
      `--classes ${spec}: the list has ${classes.names.length} classes but the model has ${numClasses} outputs; give the class list of this model (or leave --classes out)`,
    );
  }
  return classes;
}

/**
 * The class index of a fixed target spec (index, wnid or name), or undefined for the per-image
 * kinds (top1, top2, gt). Uses `classIndexOf`, which refuses ambiguous names (ImageNet has two
 * "crane"s) instead of silently taking the first.
 */
export function fixedTargetIndex(spec: string, numClasses: number, classes: ClassNames | undefined): number | undefined {
  if (spec === 'top1' || spec === 'top2' || spec === 'gt') return undefined;
  if (/^\d+$/.test(spec)) {
    const i = Number(spec);
    if (i >= numClasses) throw new ExplainUsageError(`--target ${spec}: the model has ${numClasses} classes (0…${numClasses - 1})`);
    return i;
  }
  if (!classes) {
    throw new ExplainUsageError(
      `--target ${spec}: a wnid or class name needs a class list, and none is known for this ${numClasses}-class model; add --classes PATH or use an index, top1, top2 or gt`,
    );
  }
  try {
    return classIndexOf(spec, classes);
  } catch (e) {
    throw new ExplainUsageError(`--target ${spec}: ${(e as Error).message}`);
  }
}
