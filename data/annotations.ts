/**
 * Bounding-box annotations of one image, as parsed from either ImageNet form (LOC CSV or
 * PASCAL-VOC XML), and their resolution into a Sample's label and input-grid boxes.
 *
 * Coordinates here are ORIGINAL image pixels, 0-based and inclusive (`xMax` is the last column
 * inside the box), which is what io/image `mapBox` takes. Both parsers keep the file's numbers
 * as they are: both forms use this convention (docs/PROTOCOL.md §6).
 */
import type { Box } from './types.js';
import { mapBox, type Geometry, type PixelBox } from '../io/image.js';
import { wnidIndex, type ImageNetClasses } from './imagenet-classes.js';

/** One annotated object: its class and its box (original pixels, 0-based inclusive). */
export interface AnnotatedObject extends PixelBox {
  wnid: string;
}

export interface ImageAnnotation {
  objects: AnnotatedObject[];
  /** Problems found while parsing this image's annotation (objects skipped, odd fields...). */
  issues: string[];
  /** The image size the annotation states (VOC `<size>`), when it states one. */
  width?: number;
  height?: number;
}

/** What happened to one box that did not make it unchanged into the sample. */
export interface BoxIssue {
  wnid: string;
  box: PixelBox;
  action: 'dropped' | 'clipped';
  reason: string;
}

export interface ResolvedAnnotation {
  /** Class index of the ground truth in the model's order, or -1. */
  label: number;
  /** The ground-truth wnid (null when the image has no usable annotation). */
  wnid: string | null;
  /** Boxes of the ground-truth class in the input grid (half-open, clipped). */
  boxes: Box[];
  boxIssues: BoxIssue[];
  /** Some ground-truth box reached outside the image and was clipped to it (docs/PROTOCOL.md §6). */
  boxClipped: boolean;
  /** Image-level problems (no annotation, unknown wnid, size mismatch, parse issues). */
  issues: string[];
}

const fmt = (b: PixelBox): string => `(${b.xMin}, ${b.yMin}, ${b.xMax}, ${b.yMax})`;

/**
 * Label and boxes of one image. The ground truth is the class of the first object (ImageNet
 * validation images have one class per image; objects of another class are dropped with a
 * reason). Boxes are checked against the decoded image's real size: entirely outside → dropped;
 * partly outside → clipped to the image (and `boxClipped` set); then mapped through the geometry
 * (a box the center crop cuts away entirely → dropped). An inverted ground-truth box
 * (`x_min > x_max` or `y_min > y_max`) is unusable and, since the object region is then unknown,
 * takes the whole image out of the pointing game: no boxes at all (docs/PROTOCOL.md §6).
 * Reasons quote the box with the numbers as they are in the annotation file.
 */
export function resolveAnnotation(
  annotation: ImageAnnotation | undefined,
  classes: ImageNetClasses,
  image: { originalWidth: number; originalHeight: number; size: number; geometry: Geometry },
): ResolvedAnnotation {
  const none = (issue: string, extra: string[] = []): ResolvedAnnotation => ({
    label: -1,
    wnid: null,
    boxes: [],
    boxIssues: [],
    boxClipped: false,
    issues: [...extra, issue],
  });
  if (!annotation) return none('no annotation for this image');
  const issues = [...annotation.issues];
  if (annotation.objects.length === 0) return none('the annotation lists no usable object', issues);

  const { originalWidth: W, originalHeight: H, size, geometry } = image;
  if ((annotation.width !== undefined && annotation.width !== W) || (annotation.height !== undefined && annotation.height !== H)) {
    issues.push(
      `the annotation says the image is ${annotation.width}×${annotation.height} but it is ${W}×${H}; boxes are checked against ${W}×${H}`,
    );
  }
  const wnid = annotation.objects[0]!.wnid;
  const label = wnidIndex(wnid, classes);
  if (label < 0) {
    issues.push(`the annotated class ${wnid} is not among the model's ${classes.wnids.length} classes; label −1`);
    return { label: -1, wnid, boxes: [], boxIssues: [], boxClipped: false, issues };
  }

  const boxes: Box[] = [];
  const boxIssues: BoxIssue[] = [];
  let boxClipped = false;
  let inverted = false;
  for (const o of annotation.objects) {
    const box: PixelBox = { xMin: o.xMin, yMin: o.yMin, xMax: o.xMax, yMax: o.yMax };
    const drop = (reason: string): void => void boxIssues.push({ wnid: o.wnid, box, action: 'dropped', reason });
    if (o.wnid !== wnid) {
      drop(`its class ${o.wnid} differs from the image's ground truth ${wnid} (the first object's class)`);
      continue;
    }
    const flipped =
      box.xMin > box.xMax ? `x_min ${box.xMin} > x_max ${box.xMax}` : box.yMin > box.yMax ? `y_min ${box.yMin} > y_max ${box.yMax}` : null;
    if (flipped) {
      drop(`box ${fmt(box)} (x_min, y_min, x_max, y_max as in the annotation file) is inverted: ${flipped}`);
      inverted = true;
      continue;
    }
    if (box.xMax < 0 || box.yMax < 0 || box.xMin > W - 1 || box.yMin > H - 1) {
      drop(`box ${fmt(box)} lies outside the ${W}×${H} image`);
      continue;
    }
    const clipped: PixelBox = {
      xMin: Math.max(0, box.xMin),
      yMin: Math.max(0, box.yMin),
      xMax: Math.min(W - 1, box.xMax),
      yMax: Math.min(H - 1, box.yMax),
    };
    if (clipped.xMin !== box.xMin || clipped.yMin !== box.yMin || clipped.xMax !== box.xMax || clipped.yMax !== box.yMax) {
      boxIssues.push({
        wnid: o.wnid,
        box,
        action: 'clipped',
        reason: `box ${fmt(box)} reaches outside the ${W}×${H} image; clipped to ${fmt(clipped)}`,
      });
      boxClipped = true;
    }
    const mapped = mapBox(clipped, W, H, size, geometry);
    if (!mapped) {
      drop(`box ${fmt(clipped)} falls outside the ${geometry} ${size}×${size} input`);
      continue;
    }
    boxes.push(mapped);
  }
  if (inverted) {
    issues.push(`a ground-truth box of ${wnid} is inverted, so the object region is unknown; the image is left out of the pointing game`);
    return { label, wnid, boxes: [], boxIssues, boxClipped, issues };
  }
  if (boxes.length === 0) issues.push(`no box of the ground-truth class ${wnid} survived (see boxIssues)`);
  return { label, wnid, boxes, boxIssues, boxClipped, issues };
}
