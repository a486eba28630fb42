/**
 * A synthetic ImageNet-validation layout for the VGG16 pipeline bench (BENCHMARKS.md measurement (c)–(e) through
 * `sglrp run configs/imagenet-vgg16.yaml`): what configs/imagenet-vgg16.yaml expects, in a folder
 * of its own:
 *
 *   DIR/val/ILSVRC2012_val_00000001.JPEG …   random-noise JPEGs (default 400×300, so the resize runs)
 *   DIR/LOC_val_solution.csv                 `ImageId,PredictionString`, one box per image
 *   DIR/LOC_synset_mapping.txt               the shipped class list (data/imagenet-classes.tsv)
 *
 * Labels are wnids of the shipped class list, spread over it; boxes lie inside the image. All of
 * it comes from one seeded generator, so the same arguments write the same files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

import { loadImageNetClasses } from '../data/imagenet-classes.js';
import { Rng } from '../engine/seeded-random.js';

export interface FixtureImage {
  /** `ILSVRC2012_val_%08d` (1-based, as in the real release). */
  id: string;
  file: string;
  wnid: string;
  /** Class index of `wnid` in the shipped (Keras) order. */
  label: number;
  width: number;
  height: number;
  /** Original pixels, 0-based and inclusive (the LOC CSV convention). */
  box: { xMin: number; yMin: number; xMax: number; yMax: number };
}

export interface ImageNetFixture {
  dir: string;
  imagesDir: string;
  annotationsPath: string;
  synsetsPath: string;
  images: FixtureImage[];
}

export interface FixtureOptions {
  width?: number;
  height?: number;
  seed?: number;
  /** JPEG quality (default 90). */
  quality?: number;
}

/** `ILSVRC2012_val_00000001` for n = 1. */
export const imageNetValId = (n: number): string => `ILSVRC2012_val_${String(n).padStart(8, '0')}`;

/** The LOC CSV text for the images (pure). */
export function locCsv(images: readonly Pick<FixtureImage, 'id' | 'wnid' | 'box'>[]): string {
  const lines = ['ImageId,PredictionString'];
  for (const im of images) lines.push(`${im.id},${im.wnid} ${im.box.xMin} ${im.box.yMin} ${im.box.xMax} ${im.box.yMax}`);
  return `${lines.join('\n')}\n`;
}

/** Writes `count` images and their annotations under `dir` (created if needed). */
export async function writeImageNetFixture(dir: string, count: number, opts: FixtureOptions = {}): Promise<ImageNetFixture> {
  const { width = 400, height = 300, seed = 1, quality = 90 } = opts;
  if (!Number.isInteger(count) || count < 1) throw new Error(`imagenet fixture: count must be a positive integer, got ${count}`);
  if (width < 8 || height < 8) throw new Error(`imagenet fixture: images must be at least 8×8, got ${width}×${height}`);
  const classes = loadImageNetClasses();
  const imagesDir = join(dir, 'val');
  mkdirSync(imagesDir, { recursive: true });
  const rng = new Rng(seed);
  const images: FixtureImage[] = [];
  for (let n = 1; n <= count; n++) {
    const id = imageNetValId(n);
    const file = join(imagesDir, `${id}.JPEG`);
    const px = Buffer.alloc(width * height * 3);
    for (let i = 0; i < px.length; i++) px[i] = (rng.next() * 256) | 0;
    await sharp(px, { raw: { width, height, channels: 3 } })
      .jpeg({ quality })
      .toFile(file);
    // Classes spread over the list (397 is prime to 1000: distinct for up to 1000 images).
    const label = ((n - 1) * 397 + seed) % classes.wnids.length;
    // A box of a quarter to three quarters of each side, inside the image.
    const bw = rng.int(width >> 2, (3 * width) >> 2);
    const bh = rng.int(height >> 2, (3 * height) >> 2);
    const xMin = rng.int(0, width - bw);
    const yMin = rng.int(0, height - bh);
    images.push({
      id,
      file,
      wnid: classes.wnids[label]!,
      label,
      width,
      height,
      box: { xMin, yMin, xMax: xMin + bw - 1, yMax: yMin + bh - 1 },
    });
  }
  const annotationsPath = join(dir, 'LOC_val_solution.csv');
  writeFileSync(annotationsPath, locCsv(images));
  const synsetsPath = join(dir, 'LOC_synset_mapping.txt');
  writeFileSync(synsetsPath, `${classes.wnids.map((w, i) => `${w} ${classes.names[i]}`).join('\n')}\n`);
  return { dir, imagesDir, annotationsPath, synsetsPath, images };
}

/**
 * `--set` overrides pointing configs/imagenet-vgg16.yaml at the fixture and a model (values as
 * JSON strings, which YAML reads back unchanged whatever the path holds).
 */
export function fixtureOverrides(f: Pick<ImageNetFixture, 'imagesDir' | 'annotationsPath' | 'synsetsPath'>, modelPath: string): string[] {
  const set = (k: string, v: string) => ['--set', `${k}=${JSON.stringify(v)}`];
  return [
    ...set('dataset.images', f.imagesDir),
    ...set('dataset.annotations.path', f.annotationsPath),
    ...set('dataset.synsets', f.synsetsPath),
    ...set('model.path', modelPath),
  ];
}
