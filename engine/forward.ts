import * as tf from '@tensorflow/tfjs';
import { matMulBlocked } from './blocked.js';
import type { Graph, GraphNode } from './graph.js';

/**
 * Every node's output for one batch. The relevance and gradient passes read the activations
 * from here, so the forward pass runs once per image however many maps are computed.
 */
export interface ForwardCache {
  graph: Graph;
  batch: number;
  /** outputs[id] = the node's output (post-activation), batch first. */
  outputs: tf.Tensor[];
  logits: tf.Tensor2D;
}

/** One node's forward computation from its inputs' outputs. */
export function applyNode(node: GraphNode, inputs: tf.Tensor[]): tf.Tensor {
  const x = inputs[0]!;
  const op = node.op;
  switch (op.kind) {
    case 'input':
      return x;
    case 'conv2d': {
      const y = tf.conv2d(x as tf.Tensor4D, op.kernel, op.strides, op.padding);
      const yb = op.bias ? tf.add(y, op.bias) : y;
      return op.activation === 'relu' ? tf.relu(yb) : yb;
    }
    case 'dense': {
      const y = matMulBlocked(x as tf.Tensor2D, op.kernel); // tf.matMul, per block where the kernel is blocked
      const yb = op.bias ? tf.add(y, op.bias) : y;
      return op.activation === 'relu' ? tf.relu(yb) : yb;
    }
    case 'maxpool':
      return tf.maxPool(x as tf.Tensor4D, op.poolSize, op.strides, op.padding);
    case 'avgpool':
      return tf.avgPool(x as tf.Tensor4D, op.poolSize, op.strides, op.padding);
    case 'gap':
      return tf.mean(x, [1, 2]);
    case 'add':
      return inputs.length === 1 ? x : tf.addN(inputs);
    case 'concat':
      return inputs.length === 1 ? x : tf.concat(inputs, -1);
    case 'pad':
      return tf.pad(x, [[0, 0], op.pads[0], op.pads[1], [0, 0]]);
    case 'crop': {
      const [, h, w] = x.shape as number[];
      const [[t, b], [l, r]] = op.crops;
      return tf.slice(x, [0, t, l, 0], [-1, h! - t - b, w! - l - r, -1]);
    }
    case 'affine':
      return tf.add(tf.mul(x, op.scale), op.shift);
    case 'reshape':
      return tf.reshape(x, [x.shape[0]!, ...op.targetShape]);
    case 'relu':
      return op.max === undefined ? tf.relu(x) : tf.clipByValue(x, 0, op.max);
    case 'identity':
      return x;
  }
}

/** Runs the whole graph, keeping every node's output. The caller disposes with `disposeCache`. */
export function forwardWithCache(graph: Graph, x: tf.Tensor4D): ForwardCache {
  const outputs: tf.Tensor[] = [];
  for (const node of graph.nodes) {
    const out =
      node.op.kind === 'input'
        ? tf.clone(x)
        : tf.tidy(() =>
            applyNode(
              node,
              node.inputs.map((i) => outputs[i]!),
            ),
          );
    outputs.push(out);
  }
  return { graph, batch: x.shape[0], outputs, logits: outputs[graph.outputId] as tf.Tensor2D };
}

/**
 * Logits only, freeing each activation as soon as no later node needs it (masking
 * re-classification). Uses are counted per tensor, not per node: an identity node hands on its
 * input tensor itself, which must live until the last consumer of either node is done.
 */
export function forwardLogits(graph: Graph, x: tf.Tensor4D): tf.Tensor2D {
  const outputs: (tf.Tensor | null)[] = [];
  const uses = new Map<number, number>(); // tensor id → consumers still to run
  const consumerCount = graph.nodes.map(() => 0);
  for (const n of graph.nodes) for (const i of n.inputs) consumerCount[i]!++;
  for (const node of graph.nodes) {
    const out =
      node.op.kind === 'input'
        ? x
        : tf.tidy(() =>
            applyNode(
              node,
              node.inputs.map((i) => outputs[i]!),
            ),
          );
    outputs.push(out);
    uses.set(out.id, (uses.get(out.id) ?? 0) + consumerCount[node.id]! + (node.id === graph.outputId ? 1 : 0));
    for (const i of node.inputs) {
      const t = outputs[i]!;
      const left = uses.get(t.id)! - 1;
      uses.set(t.id, left);
      if (left === 0 && t !== x) t.dispose();
    }
  }
  return outputs[graph.outputId] as tf.Tensor2D;
}

export function disposeCache(cache: ForwardCache): void {
  const seen = new Set<number>();
  for (const t of cache.outputs) {
    if (!seen.has(t.id)) {
      seen.add(t.id);
      t.dispose();
    }
  }
}
