import * as tf from '@tensorflow/tfjs';
import { graphFromLayersModel } from '../../engine/model-loader.js';
import type { Graph } from '../../engine/graph.js';

/** A dense-only network over a 1×n×1 "image" (so the map has one pixel per input node), with given weight matrices (rows = inputs). */
export function denseToyGraph(layers: { w: number[][]; relu: boolean }[], nIn: number, softmax = true): Graph {
  const m = tf.sequential();
  m.add(tf.layers.flatten({ inputShape: [1, nIn, 1], name: 'flat' }));
  layers.forEach((l, i) => {
    const last = i === layers.length - 1;
    m.add(
      tf.layers.dense({
        name: `d${i + 1}`,
        units: l.w[0]!.length,
        useBias: false,
        activation: last && softmax ? 'softmax' : l.relu ? 'relu' : 'linear',
      }),
    );
  });
  layers.forEach((l, i) => m.layers[i + 1]!.setWeights([tf.tensor2d(l.w)]));
  const g = graphFromLayersModel(m);
  m.dispose();
  return g;
}
