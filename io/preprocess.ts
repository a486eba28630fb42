/**
 * Preprocessing presets (docs/PROTOCOL.md §6): 8-bit pixels → the float input a model was trained on, the
 * value range that input can take (the zB rule's `low`/`high` bounds), and the inverse for display.
 *
 * Pixels are row-major H×W×C. Colour input is always RGB order here; `caffe` emits BGR because
 * that is what Caffe-converted models (Keras VGG16/VGG19/ResNet50) expect.
 */

export type PreprocessPreset = 'caffe' | 'torch' | 'tf' | 'unit';

export const PRESETS: readonly PreprocessPreset[] = ['caffe', 'torch', 'tf', 'unit'];

/** Keras `imagenet_utils` "caffe" means, in BGR order. */
export const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68] as const;
/** torchvision ImageNet statistics, in RGB order, on the [0, 1] scale. */
export const TORCH_MEAN_RGB = [0.485, 0.456, 0.406] as const;
export const TORCH_STD_RGB = [0.229, 0.224, 0.225] as const;

/**
 * An affine map per *output* channel: out[c] = in[src[c]] * scale[c] + offset[c].
 * Every preset is one of these, which makes the bounds and the inverse exact and shared.
 */
interface Affine {
  src: number[];
  scale: number[];
  offset: number[];
}

function affine(preset: PreprocessPreset, channels: number): Affine {
  if (channels !== 1 && channels !== 3) {
    throw new Error(`preprocess: ${channels} channels given; presets take 1 (grayscale) or 3 (RGB)`);
  }
  switch (preset) {
    case 'caffe':
    case 'torch':
      if (channels !== 3) {
        throw new Error(
          `preprocess: preset '${preset}' has per-channel ImageNet statistics and needs 3-channel RGB input; use 'unit' or 'tf' for grayscale`,
        );
      }
      if (preset === 'caffe') {
        // BGR out: channel 0 is blue (RGB index 2), channel 2 is red (RGB index 0).
        return { src: [2, 1, 0], scale: [1, 1, 1], offset: CAFFE_MEAN_BGR.map((m) => -m) };
      }
      return {
        src: [0, 1, 2],
        scale: TORCH_STD_RGB.map((s) => 1 / (255 * s)),
        offset: TORCH_MEAN_RGB.map((m, c) => -m / TORCH_STD_RGB[c]!),
      };
    case 'tf': {
      const src = channels === 3 ? [0, 1, 2] : [0];
      return { src, scale: src.map(() => 1 / 127.5), offset: src.map(() => -1) };
    }
    case 'unit': {
      const src = channels === 3 ? [0, 1, 2] : [0];
      return { src, scale: src.map(() => 1 / 255), offset: src.map(() => 0) };
    }
    default:
      throw new Error(`preprocess: unknown preset '${String(preset)}'; use one of ${PRESETS.join(', ')}`);
  }
}

function checkLength(what: string, length: number, h: number, w: number, channels: number): void {
  if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) {
    throw new Error(`${what}: image size ${h}×${w} is not a positive integer size`);
  }
  if (length !== h * w * channels) {
    throw new Error(`${what}: ${length} values given but ${h}×${w}×${channels} needs ${h * w * channels}`);
  }
}

/** 8-bit pixels (RGB or gray, H×W×C) → the model's float input (H×W×C, BGR for `caffe`). */
export function preprocess(rgbOrGray: Uint8Array, h: number, w: number, channels: number, preset: PreprocessPreset): Float32Array {
  const a = affine(preset, channels);
  checkLength('preprocess', rgbOrGray.length, h, w, channels);
  const out = new Float32Array(rgbOrGray.length);
  for (let p = 0; p < h * w; p++) {
    const base = p * channels;
    for (let c = 0; c < channels; c++) {
      // Computed in float64, rounded once on store.
      out[base + c] = rgbOrGray[base + a.src[c]!]! * a.scale[c]! + a.offset[c]!;
    }
  }
  return out;
}

/**
 * The smallest and largest value any preprocessed pixel channel can take (from pixel values 0
 * and 255 over all channels). These are the zB rule's `low` and `high`.
 */
export function presetBounds(preset: PreprocessPreset, channels: number): { low: number; high: number } {
  const a = affine(preset, channels);
  let low = Infinity;
  let high = -Infinity;
  for (let c = 0; c < channels; c++) {
    // Every scale is positive, so 0 gives the channel's minimum and 255 its maximum.
    low = Math.min(low, a.offset[c]!);
    high = Math.max(high, 255 * a.scale[c]! + a.offset[c]!);
  }
  return { low, high };
}

/**
 * Inverse of `preprocess` for display: always returns 8-bit RGB H×W×3 (grayscale is repeated
 * into the three channels, `caffe` BGR is turned back into RGB), rounded and clamped to 0..255
 * (inputs that were masked or perturbed can leave the valid range).
 */
export function deprocessToRgb(input: Float32Array, h: number, w: number, channels: number, preset: PreprocessPreset): Uint8Array {
  const a = affine(preset, channels);
  checkLength('deprocessToRgb', input.length, h, w, channels);
  const out = new Uint8Array(h * w * 3);
  const v = new Float64Array(3);
  for (let p = 0; p < h * w; p++) {
    for (let c = 0; c < channels; c++) {
      v[a.src[c]!] = (input[p * channels + c]! - a.offset[c]!) / a.scale[c]!;
    }
    if (channels === 1) v[1] = v[2] = v[0]!;
    for (let k = 0; k < 3; k++) {
      const x = Math.round(v[k]!);
      // NaN (a broken input) shows as black rather than poisoning the image.
      out[p * 3 + k] = x >= 255 ? 255 : x > 0 ? x : 0;
    }
  }
  return out;
}
