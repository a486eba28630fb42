/**
 * A max pooling padded for a −∞-padding source (ONNX MaxPool after a ReLU, docs/PROTOCOL.md §7):
 * in a border window whose real inputs are all 0, the window's signal goes to the first real
 * zero, never to a padded cell; an ordinary ZeroPadding2D (Keras) keeps the first maximum of the
 * padded input, padded cells included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../engine/backend.js';
import type { ForwardCache } from '../../engine/forward.js';
import type { Graph, GraphNode } from '../../engine/graph.js';
import { routeMaxPool } from '../../engine/walk.js';

/** input 3×3×1 → pad (top 1, left 1) → 2×2 max pool, stride 2 (valid): a 2×2 output. */
function routed(maxPoolPad: boolean): number[] {
  const input: GraphNode = { id: 0, name: 'input', className: 'InputLayer', op: { kind: 'input' }, inputs: [], outputShape: [3, 3, 1] };
  const pad: GraphNode = {
    id: 1,
    name: 'pad',
    className: 'ZeroPadding2D',
    op: {
      kind: 'pad',
      pads: [
        [1, 0],
        [1, 0],
      ],
      ...(maxPoolPad ? { maxPoolPad: true } : {}),
    },
    inputs: [0],
    outputShape: [4, 4, 1],
  };
  const pool: GraphNode = {
    id: 2,
    name: 'pool',
    className: 'MaxPooling2D',
    op: { kind: 'maxpool', poolSize: [2, 2], strides: [2, 2], padding: 'valid' },
    inputs: [1],
    outputShape: [2, 2, 1],
  };
  const graph: Graph = { nodes: [input, pad, pool], outputId: 2, inputShape: [3, 3, 1], numClasses: 4, softmaxSplit: false };
  // Real input (after a ReLU): [[0, 0, 5], [0, 0, 0], [1, 0, 0]]; padded with a zero row on top and a zero column on the left.
  const x = tf.tensor4d([0, 0, 5, 0, 0, 0, 1, 0, 0], [1, 3, 3, 1]);
  const padded = tf.pad(x, [
    [0, 0],
    [1, 0],
    [1, 0],
    [0, 0],
  ]) as tf.Tensor4D;
  const cache: ForwardCache = { graph, batch: 1, outputs: [x, padded, tf.maxPool(padded, 2, 2, 'valid')], logits: tf.zeros([1, 4]) };
  const signal = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
  const out = routeMaxPool(pool, signal, cache);
  const values = Array.from(out.dataSync());
  tf.dispose([x, padded, signal, out, ...cache.outputs, cache.logits]);
  return values;
}

test('max-pool padding of a −∞-padded source: ties at zero go to the first real cell, never to padding', async () => {
  await initBackend('cpu');
  // Padded 4×4 input (p = padding):    windows (2×2, stride 2):
  //   p p p p                          top-left: p p / p 0 → all 0: the real 0 at (1,1) wins (signal 1)
  //   p 0 0 5                          top-right: p p / 0 5 → 5 at (1,3) (signal 2)
  //   p 0 0 0                          bottom-left: p 0 / p 1 → 1 at (3,1) (signal 3)
  //   p 1 0 0                          bottom-right: 0 0 / 0 0 → first cell (2,2) (signal 4)
  const expected = new Array<number>(16).fill(0);
  expected[1 * 4 + 1] = 1;
  expected[1 * 4 + 3] = 2;
  expected[3 * 4 + 1] = 3;
  expected[2 * 4 + 2] = 4;
  assert.deepEqual(routed(true), expected);
  // A plain ZeroPadding2D (TF semantics): the top-left tie goes to the first cell, a padded one.
  const keras = [...expected];
  keras[1 * 4 + 1] = 0;
  keras[0] = 1;
  assert.deepEqual(routed(false), keras);
});
