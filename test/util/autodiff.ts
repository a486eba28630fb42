import * as tf from '@tensorflow/tfjs';
import { applyNode } from '../../engine/forward.js';
import type { Graph, GraphNode } from '../../engine/graph.js';

/**
 * Stride-1 'same' average pooling as (window sum of the zero-padded input) / (real pixels in the
 * window): the value of tf.avgPool, with a gradient TF.js gets right (its AvgPoolGrad divides by
 * the full window size at the border too).
 */
function avgPoolSame(x: tf.Tensor4D, [kh, kw]: [number, number]): tf.Tensor {
  const [, h, w] = x.shape;
  const ph = (kh - 1) / 2;
  const pw = (kw - 1) / 2;
  const counts = new Float32Array(h * w);
  for (let y = 0; y < h; y++)
    for (let c = 0; c < w; c++)
      counts[y * w + c] = (Math.min(y + ph, h - 1) - Math.max(y - ph, 0) + 1) * (Math.min(c + pw, w - 1) - Math.max(c - pw, 0) + 1);
  const sums = tf.mul(
    tf.avgPool(
      tf.pad(x, [
        [0, 0],
        [ph, ph],
        [pw, pw],
        [0, 0],
      ]),
      [kh, kw],
      1,
      'valid',
    ),
    kh * kw,
  );
  return tf.div(sums, tf.tensor4d(counts, [1, h, w, 1]));
}

/** The graph's forward (nodes from+1 … upTo) as a differentiable function (guided: Guided Backprop's ReLU), independent of the engine's backward. */
export function differentiable(graph: Graph, guided: boolean, upTo = graph.outputId, from = 0) {
  const guidedRelu = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    return { value: tf.relu(x), gradFunc: (dy: tf.Tensor, [sx]: tf.Tensor[]) => tf.mul(tf.mul(dy, tf.step(sx!)), tf.step(dy)) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const relu = (t: tf.Tensor) => (guided ? (guidedRelu(t) as tf.Tensor) : tf.relu(t));
  return (x: tf.Tensor) => {
    const outs: tf.Tensor[] = [];
    outs[from] = x;
    for (const node of graph.nodes.slice(from + 1, upTo + 1)) {
      const op = node.op;
      const ins = node.inputs.map((i) => outs[i]!);
      if ((op.kind === 'conv2d' || op.kind === 'dense') && op.activation === 'relu')
        outs[node.id] = relu(applyNode({ ...node, op: { ...op, activation: 'linear' } } as GraphNode, ins));
      else if (op.kind === 'relu') outs[node.id] = relu(ins[0]!);
      else if (op.kind === 'avgpool' && op.padding === 'same') outs[node.id] = avgPoolSame(ins[0]! as tf.Tensor4D, op.poolSize);
      else outs[node.id] = applyNode(node, ins);
    }
    return outs[upTo]!;
  };
}

/** Grad-CAM by autodiff: ReLU(Σ_k mean(∂z_t/∂A_k)·A_k) at node `layerId`, resized bilinearly to the input size. */
export function autodiffGradCam(graph: Graph, layerId: number, x: tf.Tensor, t: number): Float32Array {
  const [h, w] = graph.inputShape;
  const a = differentiable(graph, false, layerId)(x);
  const rest = differentiable(graph, false, graph.outputId, layerId);
  const g = tf.grad((aa: tf.Tensor) => tf.slice(rest(aa), [0, t], [1, 1]).sum())(a);
  const cam = tf.relu(tf.sum(tf.mul(a, tf.mean(g, [1, 2], true)), -1, true));
  return tf.image.resizeBilinear(cam as tf.Tensor4D, [h, w], false, true).dataSync() as Float32Array;
}
