import * as tf from '@tensorflow/tfjs';
import { dilate, forwardPads } from './conv-transpose.js';
import { mulPerImage } from './broadcast.js';
import type { Padding } from './graph.js';

/**
 * Winner-take-all routing through max pooling: each window's relevance (or gradient) goes to the
 * first maximal input of that window in row-major order, like TF's MaxPoolGrad.
 *
 * Why not MaxPoolGrad: on wasm it is slow and drops windows whose maximum is ≤ 0. For the
 * common non-overlapping case (pool = stride, no padding needed) the routing is built from
 * forward ops: a one-hot "winner" mask per image (computed once, shared by every seed) times
 * the nearest-neighbour upsampled relevance.
 */

export interface PoolGeometry {
  poolSize: [number, number];
  strides: [number, number];
  padding: Padding;
}

/** Whether the forward-op routing applies (non-overlapping windows tiling the kept input). */
export function canRouteByMask(g: PoolGeometry, inH: number, inW: number): boolean {
  const [kh, kw] = g.poolSize;
  if (g.strides[0] !== kh || g.strides[1] !== kw) return false;
  if (g.padding === 'valid') return true;
  return inH % kh === 0 && inW % kw === 0; // 'same' with no padding actually added
}

/**
 * The one-hot winner mask of each pooling window, [B, H, W, C] (1 at the first maximum of each
 * window, 0 elsewhere; rows/columns outside every window are 0). Where tensors live in host
 * memory (cpu, wasm, tfjs-node) it is one scan of the activations in JS (~15× faster than the
 * strided slices on wasm: VGG16 ~0.8 s → ~0.05 s per image); on GPU backends reading the
 * activations back would stall the device, so the mask is built there from tensor ops.
 */
export function winnerMask(a: tf.Tensor4D, g: PoolGeometry): tf.Tensor4D {
  return hostResidentBackend() ? winnerMaskOnHost(a, g) : winnerMaskByOps(a, g);
}

/** Backends whose tensors are host memory, so dataSync is a copy rather than a device sync. */
export function hostResidentBackend(): boolean {
  const b = tf.getBackend();
  return b === 'cpu' || b === 'wasm' || b === 'tensorflow';
}

/** winnerMask by one scan in JS; same result as winnerMaskByOps (a window of all −∞: its first cell). */
export function winnerMaskOnHost(a: tf.Tensor4D, g: PoolGeometry): tf.Tensor4D {
  const [b, h, w, c] = a.shape;
  const [kh, kw] = g.poolSize;
  const ho = Math.floor(h / kh);
  const wo = Math.floor(w / kw);
  const x = a.dataSync() as Float32Array;
  const mask = new Float32Array(x.length);
  const best = new Float32Array(c);
  const at = new Int32Array(c);
  for (let n = 0; n < b; n++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        at.fill(-1);
        // Row-major over the window, channels innermost (contiguous): strict > keeps the first maximum.
        for (let dy = 0; dy < kh; dy++) {
          for (let dx = 0; dx < kw; dx++) {
            const base = ((n * h + oy * kh + dy) * w + ox * kw + dx) * c;
            for (let ch = 0; ch < c; ch++) {
              const v = x[base + ch]!;
              if (at[ch]! < 0 ? v === v : v > best[ch]!) {
                best[ch] = v;
                at[ch] = base + ch;
              }
            }
          }
        }
        for (let ch = 0; ch < c; ch++) if (at[ch]! >= 0) mask[at[ch]!] = 1;
      }
    }
  }
  return tf.tensor4d(mask, a.shape);
}

/**
 * winnerMask from tensor ops (strided slices per window offset), for GPU backends. Equal to the
 * host scan (ties included; test/engine/webgpu.test.ts) for finite activations. One difference
 * on webgpu: TF.js's webgpu max pool starts from −1e20, so a window whose values are all below
 * that (all −∞) pools to −1e20 and gets no winner, where the host scan picks its first cell.
 */
export function winnerMaskByOps(a: tf.Tensor4D, g: PoolGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = a.shape;
    const [kh, kw] = g.poolSize;
    const ho = Math.floor(h / kh);
    const wo = Math.floor(w / kw);
    const kept = ho * kh === h && wo * kw === w ? a : tf.slice(a, [0, 0, 0, 0], [b, ho * kh, wo * kw, c]);
    const max = tf.maxPool(kept, [kh, kw], [kh, kw], 'valid');
    let taken: tf.Tensor4D = tf.zerosLike(max);
    let mask: tf.Tensor4D | null = null;
    for (let dy = 0; dy < kh; dy++) {
      for (let dx = 0; dx < kw; dx++) {
        // Inputs at offset (dy, dx) of every window, one sub-grid at a time, in row-major order.
        const sub = tf.stridedSlice(kept, [0, dy, dx, 0], [b, ho * kh, wo * kw, c], [1, kh, kw, 1]) as tf.Tensor4D;
        const isMax = tf.cast(tf.equal(sub, max), 'float32');
        const win = tf.mul(isMax, tf.sub(1, taken)) as tf.Tensor4D;
        taken = tf.add(taken, win);
        // Put this sub-grid's winners back at their positions: upsample and keep offset (dy,dx).
        const up = tf.image.resizeNearestNeighbor(win, [ho * kh, wo * kw]);
        const placed = tf.mul(up, offsetPattern(ho * kh, wo * kw, kh, kw, dy, dx));
        mask = mask ? (tf.add(mask, placed) as tf.Tensor4D) : (placed as tf.Tensor4D);
      }
    }
    const full = mask!;
    return ho * kh === h && wo * kw === w
      ? full
      : tf.pad(full, [
          [0, 0],
          [0, h - ho * kh],
          [0, w - wo * kw],
          [0, 0],
        ]);
  });
}

/** [1, H, W, 1] with 1 where row % kh == dy and col % kw == dx. */
function offsetPattern(h: number, w: number, kh: number, kw: number, dy: number, dx: number): tf.Tensor4D {
  const data = new Float32Array(h * w);
  for (let r = dy; r < h; r += kh) for (let col = dx; col < w; col += kw) data[r * w + col] = 1;
  return tf.tensor4d(data, [1, h, w, 1]);
}

/**
 * Routes R [B·K, Ho, Wo, C] (K seeds per image, image-major) to the pool's input using the
 * per-image mask [B, H, W, C] from winnerMask.
 */
export function routeByMask(r: tf.Tensor4D, mask: tf.Tensor4D, g: PoolGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = mask.shape;
    const k = r.shape[0] / b;
    const [kh, kw] = g.poolSize;
    const [, ho, wo] = r.shape;
    let up = tf.image.resizeNearestNeighbor(r, [ho * kh, wo * kw]) as tf.Tensor4D;
    if (ho * kh !== h || wo * kw !== w)
      up = tf.pad(up, [
        [0, 0],
        [0, h - ho * kh],
        [0, w - wo * kw],
        [0, 0],
      ]);
    const routed = tf.mul(tf.reshape(up, [b, k, h * w * c]), tf.reshape(mask, [b, 1, h * w * c]));
    return tf.reshape(routed, [b * k, h, w, c]);
  });
}

/**
 * Overlapping windows or real padding (ResNet's and DenseNet's 3×3 stride-2 stem pools,
 * InceptionV3's): one winner mask per window offset (dy, dx), [B, Ho, Wo, C] each, 1 where the
 * window's first maximum in row-major order sits at that offset. Computed once per image and
 * shared by every seed and pass. 'same' padding pads with −∞, so padding never wins.
 */
export function offsetWinners(a: tf.Tensor4D, g: PoolGeometry): tf.Tensor4D[] {
  return tf.tidy(() => {
    const [b, h, w, c] = a.shape;
    const [kh, kw] = g.poolSize;
    const [sh, sw] = g.strides;
    const [pt, pb] = forwardPads(h, kh, sh, g.padding);
    const [pl, pr] = forwardPads(w, kw, sw, g.padding);
    const padded =
      pt + pb + pl + pr === 0
        ? a
        : tf.pad(
            a,
            [
              [0, 0],
              [pt, pb],
              [pl, pr],
              [0, 0],
            ],
            -Infinity,
          );
    const max = tf.maxPool(a, g.poolSize, g.strides, g.padding);
    const [, ho, wo] = max.shape;
    let taken: tf.Tensor = tf.zerosLike(max);
    const wins: tf.Tensor4D[] = [];
    for (let dy = 0; dy < kh; dy++) {
      for (let dx = 0; dx < kw; dx++) {
        const sub = tf.stridedSlice(padded, [0, dy, dx, 0], [b, dy + (ho - 1) * sh + 1, dx + (wo - 1) * sw + 1, c], [1, sh, sw, 1]);
        const win = tf.mul(tf.cast(tf.equal(sub, max), 'float32'), tf.sub(1, taken)) as tf.Tensor4D;
        taken = tf.add(taken, win);
        wins.push(win);
      }
    }
    return wins;
  });
}

/**
 * Routes R [B·K, Ho, Wo, C] through the pool with the masks of offsetWinners: per offset, the
 * masked R is spread to the stride grid (zeros between) and shifted to its offset, all summed;
 * the padding is cropped off. Forward ops only: ~3–4× faster than wasm's MaxPoolGrad, which
 * also drops windows whose maximum is ≤ 0 instead of routing them to their first maximum.
 */
export function routeByOffsets(r: tf.Tensor4D, wins: tf.Tensor4D[], g: PoolGeometry, inH: number, inW: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = g.poolSize;
    const [sh, sw] = g.strides;
    const [pt, pb] = forwardPads(inH, kh, sh, g.padding);
    const [pl, pr] = forwardPads(inW, kw, sw, g.padding);
    const hp = inH + pt + pb;
    const wp = inW + pl + pr;
    let out: tf.Tensor4D | null = null;
    let i = 0;
    for (let dy = 0; dy < kh; dy++) {
      for (let dx = 0; dx < kw; dx++) {
        const spread = dilate(mulPerImage(r, wins[i++]!) as tf.Tensor4D, sh, sw);
        const placed = tf.pad(spread, [
          [0, 0],
          [dy, hp - dy - spread.shape[1]],
          [dx, wp - dx - spread.shape[2]],
          [0, 0],
        ]) as tf.Tensor4D;
        out = out ? (tf.add(out, placed) as tf.Tensor4D) : placed;
      }
    }
    return pt + pb + pl + pr === 0 ? out! : (tf.slice(out!, [0, pt, pl, 0], [-1, inH, inW, -1]) as tf.Tensor4D);
  });
}
