import * as tf from '@tensorflow/tfjs';
import type { Padding } from './graph.js';

/**
 * Transposed convolution built from a forward convolution.
 *
 * Why: on the wasm backend `Conv2DBackpropInput` is ~12–18× slower than a forward conv of the
 * same size. The transpose of a convolution is itself a correlation of the (zero-dilated,
 * padded) output with the kernel rotated by 180° and its in/out channels swapped, so it can run
 * on the fast forward kernel. Exactness against tf.conv2dTranspose is tested.
 */

/** Kernel [kh, kw, in, out] → rotated 180° with channels swapped: [kh, kw, out, in]. */
export function rotateKernel(kernel: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2]));
}

/** TF's padding amounts (before, after) along one axis for a forward conv. */
export function forwardPads(inSize: number, k: number, stride: number, padding: Padding): [number, number] {
  if (padding === 'valid') return [0, 0];
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + k - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** Inserts stride−1 zeros between rows and columns: [B,H,W,C] → [B,(H−1)s+1,(W−1)s+1,C]. */
export function dilate(x: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return x;
  const [b, h, w, c] = x.shape;
  // Rows, then columns, each a rank-4 pad. Not one rank-6 pad ([b, h, 1, w, 1, c]): the webgpu
  // backend's PadProgram does not compile for rank 6 (its WGSL indexes a 'vec6' struct: "cannot
  // index type 'vec6'"), and strided conv transposes and overlapping-pool routing then read
  // garbage. Same values; on wasm no slower than the rank-6 pad.
  const rows = tf.pad(tf.reshape(x, [b, h, 1, w * c]), [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
  ]);
  const cols = tf.pad(tf.reshape(rows, [b * h * sh, w, 1, c]), [
    [0, 0],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  const flat = tf.reshape(cols, [b, h * sh, w * sw, c]);
  return tf.slice(flat, [0, 0, 0, 0], [b, (h - 1) * sh + 1, (w - 1) * sw + 1, c]) as tf.Tensor4D;
}

/**
 * dL/dx of y = conv2d(x, kernel, strides, padding), given dy, computed with a forward conv.
 * `rotated` is rotateKernel(kernel) (precompute it once per model); `inShape` = x's [H, W].
 */
export function conv2dTransposeByConv(
  dy: tf.Tensor4D,
  rotated: tf.Tensor4D,
  inShape: [number, number],
  strides: [number, number],
  padding: Padding,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = rotated.shape;
    const [h, w] = inShape;
    const [ph0, ph1] = forwardPads(h, kh, strides[0], padding);
    const [pw0, pw1] = forwardPads(w, kw, strides[1], padding);
    const d = dilate(dy, strides[0], strides[1]);
    // Full correlation of the dilated dy covers (Ho−1)s + k rows of the padded input; rows the
    // forward windows never reached get zero gradient; then the forward padding is cropped.
    const hp = h + ph0 + ph1;
    const wp = w + pw0 + pw1;
    const top = kh - 1 - ph0;
    const bottom = kh - 1 + (hp - (d.shape[1] + kh - 1)) - ph1;
    const left = kw - 1 - pw0;
    const right = kw - 1 + (wp - (d.shape[2] + kw - 1)) - pw1;
    if (top >= 0 && bottom >= 0 && left >= 0 && right >= 0) {
      if (top === bottom && left === right && top === (kh - 1) / 2 && left === (kw - 1) / 2) {
        return tf.conv2d(d, rotated, 1, 'same'); // the common 3×3 'same' case: no explicit pad copy
      }
      return tf.conv2d(d, rotated, 1, [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ]);
    }
    // Negative amounts (unusual geometry): pad what is positive, then crop.
    const padded = tf.pad(d, [
      [0, 0],
      [Math.max(top, 0), Math.max(bottom, 0)],
      [Math.max(left, 0), Math.max(right, 0)],
      [0, 0],
    ]);
    const full = tf.conv2d(padded, rotated, 1, 'valid');
    return tf.slice(full, [0, Math.max(-top, 0), Math.max(-left, 0), 0], [-1, h, w, -1]);
  });
}
