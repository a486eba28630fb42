import * as tf from '@tensorflow/tfjs';
import type { ForwardCache } from './forward.js';
import type { GraphNode } from './graph.js';
import { forwardPads } from './conv-transpose.js';
import type { WeightCache } from './weight-cache.js';

/**
 * Transposes of the parameter-free layers of modern CNNs (padding, cropping, channel
 * concatenation, average pooling). Gradients use them as they are; the proportional relevance
 * rules use the pooling transposes between a division and a multiplication (engine/split-rules.ts).
 * All of them are built from forward ops where that is cheap, because wasm's gradient kernels
 * are slow.
 */

type NodeOf<K extends GraphNode['op']['kind']> = GraphNode & { op: Extract<GraphNode['op'], { kind: K }> };

/** ZeroPadding2D's transpose: crop the padding off (the padded positions feed nothing). */
export function unpad(node: NodeOf<'pad'>, signal: tf.Tensor): tf.Tensor {
  const [[t, b], [l, r]] = node.op.pads;
  const [, h, w] = signal.shape as number[];
  return tf.slice(signal, [0, t, l, 0], [-1, h! - t - b, w! - l - r, -1]);
}

/** Cropping2D's transpose: pad back with zeros (the cropped positions reached nothing). */
export function uncrop(node: NodeOf<'crop'>, signal: tf.Tensor): tf.Tensor {
  const [[t, b], [l, r]] = node.op.crops;
  return tf.pad(signal, [
    [0, 0],
    [t, b],
    [l, r],
    [0, 0],
  ]);
}

/** Concatenate's transpose: split the channels back into the inputs' ranges. */
export function splitChannels(node: GraphNode, signal: tf.Tensor, cache: ForwardCache): tf.Tensor[] {
  const sizes = node.inputs.map((i) => cache.graph.nodes[i]!.outputShape.at(-1)!);
  return tf.split(signal, sizes, -1);
}

/** GlobalAveragePooling2D's transpose: s [N, C] → s/(H·W) at every pixel, [N, H, W, C]. */
export function gapTranspose(signal: tf.Tensor, inShape: number[]): tf.Tensor4D {
  return tf.tidy(() => {
    const [h, w, c] = inShape.slice(-3) as [number, number, number];
    const n = signal.shape[0]!;
    return tf.broadcastTo(tf.reshape(tf.div(signal, h * w), [n, 1, 1, c]), [n, h, w, c]) as tf.Tensor4D;
  });
}

/**
 * AveragePooling2D's transpose: input i receives Σ_j s_j / n_j over the windows j that contain
 * it, n_j being the window's count of real (unpadded) inputs, as TF's average excludes padding.
 *
 * Non-overlapping windows: nearest-neighbour upsampling of s/(kh·kw). Stride 1 with an odd
 * window and 'same' padding (Inception's pool branches): the windows containing i are exactly
 * the window centred on i, so the transpose is a window sum of s/n, i.e. avgPool(s/n)·n.
 * Anything else: s/n through the transpose of a zero-padded window *sum* (TF's AvgPoolGrad on
 * the explicitly padded input, 'valid', times the window size), then the padding cropped off.
 * Not AvgPoolGrad with 'same' directly: TF.js divides by the full window size there, also where
 * the window hangs over the border, which is not the transpose of its own forward pass.
 */
export function avgPoolTranspose(node: NodeOf<'avgpool'>, signal: tf.Tensor4D, inShape: number[], weights: WeightCache): tf.Tensor4D {
  const g = node.op;
  const [h, w] = inShape.slice(-3) as [number, number, number];
  const [kh, kw] = g.poolSize;
  const [sh, sw] = g.strides;
  return tf.tidy(() => {
    if (sh === kh && sw === kw && (g.padding === 'valid' || (h % kh === 0 && w % kw === 0))) {
      const [, ho, wo] = signal.shape;
      const up = tf.image.resizeNearestNeighbor(tf.div(signal, kh * kw) as tf.Tensor4D, [ho * kh, wo * kw]);
      return ho * kh === h && wo * kw === w
        ? up
        : (tf.pad(up, [
            [0, 0],
            [0, h - ho * kh],
            [0, w - wo * kw],
            [0, 0],
          ]) as tf.Tensor4D);
    }
    if (sh === 1 && sw === 1 && kh % 2 === 1 && kw % 2 === 1 && g.padding === 'same') {
      const counts = weights.get(`${node.id}:avgpool:counts`, () => windowCounts(h, w, kh, kw));
      return tf.mul(tf.avgPool(tf.div(signal, counts) as tf.Tensor4D, [kh, kw], 1, 'same'), counts) as tf.Tensor4D;
    }
    const [pt, pb] = forwardPads(h, kh, sh, g.padding);
    const [pl, pr] = forwardPads(w, kw, sw, g.padding);
    const counts = weights.get(`${node.id}:avgpool:outcounts`, () =>
      outputCounts(h, w, g.poolSize, g.strides, [pt, pl], signal.shape.slice(1, 3) as [number, number]),
    );
    const x = tf.zeros([signal.shape[0], h + pt + pb, w + pl + pr, signal.shape[3]]) as tf.Tensor4D; // the pool is linear: any point will do
    const windowSum = (xx: tf.Tensor) => tf.mul(tf.avgPool(xx as tf.Tensor4D, g.poolSize, g.strides, 'valid'), kh * kw);
    const full = tf.grad(windowSum)(x, tf.div(signal, counts)) as tf.Tensor4D;
    return tf.slice(full, [0, pt, pl, 0], [-1, h, w, -1]);
  });
}

/** [1, Ho, Wo, 1]: the real (unpadded) inputs in each output's window. */
function outputCounts(
  h: number,
  w: number,
  k: [number, number],
  s: [number, number],
  pad: [number, number],
  out: [number, number],
): tf.Tensor4D {
  const span = (o: number, size: number, kk: number, ss: number, p: number) => Math.min(o * ss - p + kk, size) - Math.max(o * ss - p, 0);
  const data = new Float32Array(out[0] * out[1]);
  for (let y = 0; y < out[0]; y++)
    for (let x = 0; x < out[1]; x++) data[y * out[1] + x] = span(y, h, k[0], s[0], pad[0]) * span(x, w, k[1], s[1], pad[1]);
  return tf.tensor4d(data, [1, out[0], out[1], 1]);
}

/** [1, H, W, 1]: how many real pixels the centred kh×kw window holds at each position. */
function windowCounts(h: number, w: number, kh: number, kw: number): tf.Tensor4D {
  const rh = (kh - 1) / 2;
  const rw = (kw - 1) / 2;
  const data = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    const ny = Math.min(y + rh, h - 1) - Math.max(y - rh, 0) + 1;
    for (let x = 0; x < w; x++) data[y * w + x] = ny * (Math.min(x + rw, w - 1) - Math.max(x - rw, 0) + 1);
  }
  return tf.tensor4d(data, [1, h, w, 1]);
}
