/**
 * Small raw-pixel utilities shared by the picture code: size checks, integer nearest-neighbour
 * upscaling, PNG encoding. Pixel buffers are row-major 8-bit H×W×C.
 */
import sharp from 'sharp';

/** Throw a clear error unless `length` is exactly h × w × channels with a positive integer size. */
export function checkSize(what: string, length: number, h: number, w: number, channels: number): void {
  if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) {
    throw new Error(`${what}: size ${h}×${w} is not a positive integer size`);
  }
  if (length !== h * w * channels) {
    throw new Error(`${what}: ${length} values given but ${h}×${w}×${channels} needs ${h * w * channels}`);
  }
}

/** 8-bit pixels (H×W×channels, 1 = gray, 3 = RGB, 4 = RGBA) → PNG bytes. */
export async function encodePng(pixels: Uint8Array, h: number, w: number, channels: 1 | 3 | 4 = 3): Promise<Buffer> {
  checkSize('encodePng', pixels.length, h, w, channels);
  const raw = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  const img = sharp(raw, { raw: { width: w, height: h, channels } });
  // Without this sharp widens 1-channel raw input to an RGB PNG.
  return (channels === 1 ? img.toColourspace('b-w') : img).png().toBuffer();
}

/**
 * Enlarge by an integer factor, each pixel becoming a factor × factor block (no smoothing, so
 * single-pixel relevance in small inputs such as 64×64 digits stays visible). Returns
 * (h·factor)×(w·factor)×channels.
 */
export function upscaleNearest(pixels: Uint8Array, h: number, w: number, factor: number, channels = 3): Uint8Array {
  checkSize('upscaleNearest', pixels.length, h, w, channels);
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`upscaleNearest: factor ${factor} must be an integer ≥ 1`);
  if (factor === 1) return pixels.slice();
  const W = w * factor;
  const out = new Uint8Array(h * factor * W * channels);
  for (let y = 0; y < h; y++) {
    // Build one enlarged row, then copy it `factor` times.
    const rowStart = y * factor * W * channels;
    for (let x = 0; x < w; x++) {
      const src = (y * w + x) * channels;
      for (let k = 0; k < factor; k++) {
        const dst = rowStart + (x * factor + k) * channels;
        for (let c = 0; c < channels; c++) out[dst + c] = pixels[src + c]!;
      }
    }
    const rowLen = W * channels;
    for (let k = 1; k < factor; k++) out.copyWithin(rowStart + k * rowLen, rowStart, rowStart + rowLen);
  }
  return out;
}
