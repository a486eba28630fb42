import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';

import { centerCropWindow, decodeImage, ImageReadError, mapBox } from '../../io/image.js';

type RGB = [number, number, number];

/** Raw 8-bit RGB for a width × height image from a per-pixel function. */
function rawRgb(width: number, height: number, f: (x: number, y: number) => RGB): Buffer {
  const buf = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) buf.set(f(x, y), (y * width + x) * 3);
  }
  return buf;
}

/** A sharp pipeline over a width × height RGB image from a per-pixel function. */
function rgbImage(width: number, height: number, f: (x: number, y: number) => RGB) {
  return sharp(rawRgb(width, height, f), { raw: { width, height, channels: 3 } });
}

function solid(width: number, height: number, c: RGB) {
  return rgbImage(width, height, () => c);
}

/** Assert every pixel (channels 1 or 3) is within `tol` of the colour. */
function assertAll(pixels: Uint8Array, channels: number, colour: number[], tol: number): void {
  for (let i = 0; i < pixels.length; i++) {
    const want = colour[i % channels]!;
    if (Math.abs(pixels[i]! - want) > tol) assert.fail(`value ${i} is ${pixels[i]}, want ${want} ± ${tol}`);
  }
}

/** RGB at column x, row y of a size × size × 3 image. */
function at(pixels: Uint8Array, size: number, x: number, y: number): number[] {
  const i = (y * size + x) * 3;
  return [pixels[i]!, pixels[i + 1]!, pixels[i + 2]!];
}

describe('decodeImage', () => {
  let dir: string;
  const file = (name: string) => join(dir, name);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'image-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('RGB JPEG: a solid colour decodes to that colour, at the requested size', async () => {
    await solid(300, 200, [200, 60, 30]).jpeg({ quality: 95 }).toFile(file('solid.JPEG'));
    const got = await decodeImage(file('solid.JPEG'), { size: 64, geometry: 'resize', channels: 3 });
    assert.equal(got.originalWidth, 300);
    assert.equal(got.originalHeight, 200);
    assert.equal(got.pixels.length, 64 * 64 * 3);
    assertAll(got.pixels, 3, [200, 60, 30], 2);
  });

  test('a PNG named .JPEG is decoded by content, losslessly', async () => {
    await solid(40, 30, [12, 34, 56]).png().toFile(file('png-in-disguise.JPEG'));
    const got = await decodeImage(file('png-in-disguise.JPEG'), { size: 20, geometry: 'resize', channels: 3 });
    assertAll(got.pixels, 3, [12, 34, 56], 0);
  });

  test('resize squeezes the whole image; center-crop keeps the middle square', async () => {
    // 300×100: red | green | blue stripes, 100 px each.
    const stripes: RGB[] = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
    ];
    await rgbImage(300, 100, (x) => stripes[Math.floor(x / 100)]!)
      .png()
      .toFile(file('stripes.png'));
    const crop = await decodeImage(file('stripes.png'), { size: 50, geometry: 'center-crop', channels: 3 });
    assert.equal(crop.originalWidth, 300);
    assertAll(crop.pixels, 3, [0, 255, 0], 0); // the crop window is exactly the green stripe
    const squeezed = await decodeImage(file('stripes.png'), { size: 30, geometry: 'resize', channels: 3 });
    // 300 → 30 is ×0.1: output column 5 is centred on source x = 55, 15 on 155, 25 on 255, each
    // far enough (≥ 35 px) from a stripe edge that the antialiasing kernel sees one colour.
    for (const y of [0, 14, 29]) {
      assert.deepEqual(at(squeezed.pixels, 30, 5, y), [255, 0, 0]);
      assert.deepEqual(at(squeezed.pixels, 30, 15, y), [0, 255, 0]);
      assert.deepEqual(at(squeezed.pixels, 30, 25, y), [0, 0, 255]);
    }
  });

  test('center-crop with an odd leftover puts the extra column on the right', async () => {
    // 6×3, column x has colour (x·40, 0, 0): leftover 3, so the 3×3 crop starts at floor(1.5) = 1.
    await rgbImage(6, 3, (x) => [x * 40, 0, 0])
      .png()
      .toFile(file('odd.png'));
    const got = await decodeImage(file('odd.png'), { size: 3, geometry: 'center-crop', channels: 3 });
    for (let y = 0; y < 3; y++) {
      assert.deepEqual(
        [0, 1, 2].map((x) => at(got.pixels, 3, x, y)[0]),
        [40, 80, 120],
      );
    }
  });

  test('nearest interpolation copies pixels without blending', async () => {
    // 2×2 → 4×4: each source pixel becomes a 2×2 block with its exact colour.
    const colours: RGB[] = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [9, 99, 199],
    ];
    await rgbImage(2, 2, (x, y) => colours[y * 2 + x]!)
      .png()
      .toFile(file('tiny.png'));
    const got = await decodeImage(file('tiny.png'), { size: 4, geometry: 'resize', channels: 3, interpolation: 'nearest' });
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) assert.deepEqual(at(got.pixels, 4, x, y), colours[Math.floor(y / 2) * 2 + Math.floor(x / 2)]);
    }
  });

  test('each interpolation resizes a decoded file as worked out by hand (io/resample.ts)', async () => {
    // 4×4, value 20·row + 4·col in every channel (the grid of test/io/resample.test.ts).
    await rgbImage(4, 4, (x, y) => {
      const v = 20 * y + 4 * x;
      return [v, v, v];
    })
      .png()
      .toFile(file('grid.png'));
    const red = async (interpolation: 'nearest' | 'bilinear' | 'bicubic' | 'area', antialias: boolean) =>
      [...(await decodeImage(file('grid.png'), { size: 2, geometry: 'resize', channels: 3, interpolation, antialias })).pixels].filter(
        (_, i) => i % 3 === 0,
      );
    assert.deepEqual(await red('nearest', false), [24, 32, 64, 72]); // rows/cols ⌊(x + ½)·2⌋ = 1, 3
    assert.deepEqual(await red('bilinear', false), [12, 20, 52, 60]); // ½ + ½ of the two nearest
    assert.deepEqual(await red('bilinear', true), [17, 23, 49, 55]); // 3/7, 3/7, 1/7 per axis
    assert.deepEqual(await red('area', true), [12, 20, 52, 60]); // 2×2 block means
    // 5 → 2 nearest (Keras load_img / PIL): source ⌊(x + ½)·2.5⌋ = 1 and 3, no blending.
    await rgbImage(5, 5, (x, y) => [10 * y + x, 0, 0])
      .png()
      .toFile(file('five.png'));
    const five = await decodeImage(file('five.png'), {
      size: 2,
      geometry: 'resize',
      channels: 3,
      interpolation: 'nearest',
      antialias: false,
    });
    assert.deepEqual(
      [0, 1, 2, 3].map((p) => five.pixels[3 * p]),
      [11, 13, 31, 33],
    );
  });

  test('grayscale JPEG: repeated into RGB, or kept as 1 channel', async () => {
    await solid(50, 40, [90, 90, 90]).toColourspace('b-w').jpeg().toFile(file('gray.jpg'));
    assert.equal((await sharp(file('gray.jpg')).metadata()).channels, 1); // the fixture really is gray
    const rgb = await decodeImage(file('gray.jpg'), { size: 32, geometry: 'center-crop', channels: 3 });
    assertAll(rgb.pixels, 3, [90, 90, 90], 2);
    const gray = await decodeImage(file('gray.jpg'), { size: 32, geometry: 'resize', channels: 1 });
    assert.equal(gray.pixels.length, 32 * 32);
    assertAll(gray.pixels, 1, [90], 2);
  });

  test('channels 1 from colour is ITU-R 601 luma', async () => {
    await solid(8, 8, [200, 60, 30]).png().toFile(file('luma.png'));
    const got = await decodeImage(file('luma.png'), { size: 8, geometry: 'resize', channels: 1 });
    // (200·299 + 60·587 + 30·114) / 1000 = 98.44
    assertAll(got.pixels, 1, [98], 0);
  });

  test('CMYK JPEG is converted to RGB', async () => {
    await solid(40, 40, [60, 120, 180]).toColourspace('cmyk').jpeg({ quality: 100 }).toFile(file('cmyk.jpg'));
    assert.equal((await sharp(file('cmyk.jpg')).metadata()).space, 'cmyk');
    const got = await decodeImage(file('cmyk.jpg'), { size: 16, geometry: 'resize', channels: 3 });
    assert.equal(got.pixels.length, 16 * 16 * 3);
    // RGB → CMYK → RGB through ICC profiles is not exact; it must stay near the colour.
    assertAll(got.pixels, 3, [60, 120, 180], 16);
    const [r, g, b] = at(got.pixels, 16, 8, 8) as [number, number, number];
    assert.ok(b > g && g > r, `hue kept: ${[r, g, b]}`);
  });

  test('16-bit PNG is reduced to 8 bits', async () => {
    const w = 6;
    const h = 4;
    const px = new Uint16Array(w * h * 3);
    for (let i = 0; i < px.length; i += 3) px.set([40000, 1000, 65535], i);
    await sharp(px, { raw: { width: w, height: h, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toFile(file('deep.png'));
    assert.equal((await sharp(file('deep.png')).metadata()).depth, 'ushort');
    const got = await decodeImage(file('deep.png'), { size: 6, geometry: 'resize', channels: 3 });
    // 40000·255/65535 = 155.6, 1000·255/65535 = 3.9, 65535 → 255
    assertAll(got.pixels, 3, [156, 4, 255], 1);
  });

  test('alpha is dropped, not composited, even when resizing', async () => {
    const rgba = Buffer.alloc(8 * 8 * 4);
    for (let i = 0; i < rgba.length; i += 4) rgba.set([10, 200, 30, i % 8 === 0 ? 0 : 128], i);
    await sharp(rgba, { raw: { width: 8, height: 8, channels: 4 } })
      .png()
      .toFile(file('alpha.png'));
    // Flattening on black would give about (5, 100, 15); premultiplied resizing would drift.
    const got = await decodeImage(file('alpha.png'), { size: 4, geometry: 'resize', channels: 3 });
    assertAll(got.pixels, 3, [10, 200, 30], 0);
  });

  test('EXIF orientation is not applied', async () => {
    // 40×20, left half red, right half blue, tagged "rotate 90° CW" (orientation 6).
    await rgbImage(40, 20, (x) => (x < 20 ? [255, 0, 0] : [0, 0, 255]))
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 95 })
      .toFile(file('rotated.jpg'));
    assert.equal((await sharp(file('rotated.jpg')).metadata()).orientation, 6);
    const got = await decodeImage(file('rotated.jpg'), { size: 20, geometry: 'resize', channels: 3 });
    assert.equal(got.originalWidth, 40);
    assert.equal(got.originalHeight, 20);
    const left = at(got.pixels, 20, 2, 10);
    const right = at(got.pixels, 20, 17, 10);
    assert.ok(left[0]! > 200 && left[2]! < 50, `left is red: ${left}`);
    assert.ok(right[2]! > 200 && right[0]! < 50, `right is blue: ${right}`);
  });

  test('a Buffer source works and errors use the given name', async () => {
    const bytes = await solid(10, 10, [1, 2, 3]).png().toBuffer();
    const got = await decodeImage(bytes, { size: 5, geometry: 'resize', channels: 3 });
    assertAll(got.pixels, 3, [1, 2, 3], 0);
    await assert.rejects(
      decodeImage(Buffer.from('not an image'), { size: 5, geometry: 'resize', channels: 3, name: 'shard7/img42' }),
      (e: unknown) => e instanceof ImageReadError && /shard7\/img42/.test(e.message) && /not an image/.test(e.message),
    );
  });

  describe('errors', () => {
    const opts = { size: 32, geometry: 'resize', channels: 3 } as const;
    async function expectError(path: string, reason: RegExp): Promise<void> {
      await assert.rejects(decodeImage(path, opts), (e: unknown) => {
        assert.ok(e instanceof ImageReadError, `not an ImageReadError: ${String(e)}`);
        assert.equal(e.file, path);
        assert.ok(e.message.includes(path), e.message);
        assert.match(e.message, reason);
        return true;
      });
    }

    test('a truncated JPEG is an error, not a partial image', async () => {
      // Noise so the cut lands in entropy-coded data.
      const full = await rgbImage(256, 256, (x, y) => [(x * 37 + y * 11) % 256, (x * y) % 256, (x ^ y) & 255])
        .jpeg({ quality: 90 })
        .toBuffer();
      await writeFile(file('cut.JPEG'), full.subarray(0, Math.floor(full.length * 0.6)));
      assert.ok((await readFile(file('cut.JPEG'))).length > 1000);
      await expectError(file('cut.JPEG'), /truncated|corrupt/);
    });

    test('zero-byte, text, missing', async () => {
      await writeFile(file('empty.JPEG'), Buffer.alloc(0));
      await expectError(file('empty.JPEG'), /empty/);
      await writeFile(file('notes.JPEG'), 'this is a text file, not a picture\n');
      await expectError(file('notes.JPEG'), /not an image/);
      await expectError(file('missing.JPEG'), /not found/);
    });

    test('images over the pixel limit are refused', async () => {
      await solid(100, 60, [0, 0, 0]).png().toFile(file('big.png'));
      await assert.rejects(
        decodeImage(file('big.png'), { ...opts, maxPixels: 5000 }),
        (e: unknown) =>
          e instanceof ImageReadError && /100×60 = 6000 pixels is over the limit of 5000/.test(e.message) && !/raise/.test(e.message),
      );
      // The advice names the setting the caller says raises the limit.
      await assert.rejects(
        decodeImage(file('big.png'), { ...opts, maxPixels: 5000, maxPixelsSetting: 'dataset.maxPixels' }),
        (e: unknown) =>
          e instanceof ImageReadError && /over the limit of 5000 \(raise dataset\.maxPixels if this image is wanted\)/.test(e.message),
      );
      // The same image is fine under the default limit.
      assert.equal((await decodeImage(file('big.png'), opts)).originalWidth, 100);
    });
  });

  test('mapBox agrees with decodeImage on where a rectangle lands', async () => {
    // 120×80 black with a white rectangle at x 50..69, y 20..59 (inclusive). center-crop to 40:
    // window left 20, side 80, scale ½ → [15, 25) × [10, 30).
    await rgbImage(120, 80, (x, y) => (x >= 50 && x <= 69 && y >= 20 && y <= 59 ? [255, 255, 255] : [0, 0, 0]))
      .png()
      .toFile(file('rect.png'));
    const got = await decodeImage(file('rect.png'), { size: 40, geometry: 'center-crop', channels: 1 });
    const box = mapBox({ xMin: 50, yMin: 20, xMax: 69, yMax: 59 }, 120, 80, 40, 'center-crop');
    assert.deepEqual(box, { x0: 15, y0: 10, x1: 25, y1: 30 });
    const { x0, y0, x1, y1 } = box;
    for (let y = 0; y < 40; y++) {
      for (let x = 0; x < 40; x++) {
        const inside = x >= x0 && x < x1 && y >= y0 && y < y1;
        assert.equal(got.pixels[y * 40 + x]! > 127, inside, `pixel (${x}, ${y})`);
      }
    }
  });
});

describe('centerCropWindow', () => {
  test('largest centred square', () => {
    assert.deepEqual(centerCropWindow(500, 375), { left: 62, top: 0, side: 375 });
    assert.deepEqual(centerCropWindow(333, 500), { left: 0, top: 83, side: 333 });
    assert.deepEqual(centerCropWindow(64, 64), { left: 0, top: 0, side: 64 });
  });
});

describe('mapBox', () => {
  test('resize scales each axis by size / original', () => {
    // 500×400 → 224: x scale 0.448, y scale 0.56. Box covers [100, 200) × [50, 150).
    // x: 44.8 → 45, 89.6 → 90; y: 28 → 28, 84 → 84.
    assert.deepEqual(mapBox({ xMin: 100, yMin: 50, xMax: 199, yMax: 149 }, 500, 400, 224, 'resize'), {
      x0: 45,
      y0: 28,
      x1: 90,
      y1: 84,
    });
    // The whole image maps to the whole input.
    assert.deepEqual(mapBox({ xMin: 0, yMin: 0, xMax: 499, yMax: 399 }, 500, 400, 224, 'resize'), {
      x0: 0,
      y0: 0,
      x1: 224,
      y1: 224,
    });
  });

  test('center-crop shifts by the crop offset, then scales', () => {
    // 500×400: window left 50, side 400, scale 0.56. x [100, 200) → [50, 150) → [28, 84).
    assert.deepEqual(mapBox({ xMin: 100, yMin: 50, xMax: 199, yMax: 149 }, 500, 400, 224, 'center-crop'), {
      x0: 28,
      y0: 28,
      x1: 84,
      y1: 84,
    });
    // Partly cropped: x [0, 100) → [−50, 50) → clipped [0, 28).
    assert.deepEqual(mapBox({ xMin: 0, yMin: 0, xMax: 99, yMax: 399 }, 500, 400, 224, 'center-crop'), {
      x0: 0,
      y0: 0,
      x1: 28,
      y1: 224,
    });
  });

  test('a box entirely in the cropped-away margin is null', () => {
    assert.equal(mapBox({ xMin: 0, yMin: 10, xMax: 49, yMax: 300 }, 500, 400, 224, 'center-crop'), null);
    assert.equal(mapBox({ xMin: 450, yMin: 10, xMax: 499, yMax: 300 }, 500, 400, 224, 'center-crop'), null);
    // …but the same box survives plain resizing.
    assert.notEqual(mapBox({ xMin: 0, yMin: 10, xMax: 49, yMax: 300 }, 500, 400, 224, 'resize'), null);
  });

  test('inverted or non-finite boxes are null; boxes past the border are clipped', () => {
    assert.equal(mapBox({ xMin: 200, yMin: 50, xMax: 100, yMax: 149 }, 500, 400, 224, 'resize'), null);
    assert.equal(mapBox({ xMin: 100, yMin: 150, xMax: 199, yMax: 149 }, 500, 400, 224, 'resize'), null);
    assert.equal(mapBox({ xMin: NaN, yMin: 0, xMax: 10, yMax: 10 }, 500, 400, 224, 'resize'), null);
    assert.equal(mapBox({ xMin: 600, yMin: 0, xMax: 700, yMax: 10 }, 500, 400, 224, 'resize'), null);
    // xMax 599 past a 500-wide image: clipped at 224.
    assert.deepEqual(mapBox({ xMin: 250, yMin: 0, xMax: 599, yMax: 399 }, 500, 400, 224, 'resize'), {
      x0: 112,
      y0: 0,
      x1: 224,
      y1: 224,
    });
  });

  test('a single-pixel box in a large image keeps one input pixel', () => {
    // 1000 px wide → 224: x [500, 501) → [112, 112.224), no pixel centre inside → pixel 112.
    assert.deepEqual(mapBox({ xMin: 500, yMin: 0, xMax: 500, yMax: 999 }, 1000, 1000, 224, 'resize'), {
      x0: 112,
      y0: 0,
      x1: 113,
      y1: 224,
    });
  });
});
