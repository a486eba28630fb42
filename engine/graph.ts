import type * as tf from '@tensorflow/tfjs';

/**
 * The engine's own view of a model: a list of nodes in topological order, each one operation
 * with its weights as tensors. Forward, relevance and gradient passes walk this graph instead of
 * the LayersModel, because TF.js cannot override the gradients of a loaded model's ops and
 * because every pass needs the cached activations of every node.
 */

export type Activation = 'relu' | 'linear';
export type Padding = 'same' | 'valid';

export type LayerOp =
  | { kind: 'input' }
  | {
      kind: 'conv2d';
      kernel: tf.Tensor4D; // [kh, kw, in, out]
      bias: tf.Tensor1D | null;
      strides: [number, number];
      padding: Padding;
      activation: Activation;
    }
  | { kind: 'dense'; kernel: tf.Tensor2D; bias: tf.Tensor1D | null; activation: Activation }
  | { kind: 'maxpool'; poolSize: [number, number]; strides: [number, number]; padding: Padding }
  | { kind: 'reshape'; targetShape: number[] } // Flatten and Reshape (per-sample shape)
  | { kind: 'relu' }
  | { kind: 'identity' }; // Dropout, Activation('linear') at inference

export interface GraphNode {
  id: number;
  /** Keras layer name (what users pass as --gradcam-layer). */
  name: string;
  /** Keras class name, for messages. */
  className: string;
  op: LayerOp;
  /** Ids of the nodes whose outputs feed this one. */
  inputs: number[];
  /** Per-sample output shape (no batch axis). */
  outputShape: number[];
}

export interface Graph {
  nodes: GraphNode[];
  /** Node whose output is the logits (the model's output with the final softmax split off). */
  outputId: number;
  /** Per-sample input shape [H, W, C]. */
  inputShape: [number, number, number];
  numClasses: number;
  /** True when a final softmax was split off; false when the model already ended in logits. */
  softmaxSplit: boolean;
}

/** Ids of the nodes that consume each node's output (the reverse edges). */
export function consumers(graph: Graph): number[][] {
  const out: number[][] = graph.nodes.map(() => []);
  for (const n of graph.nodes) for (const i of n.inputs) out[i]!.push(n.id);
  return out;
}

/** The first linear layer met from the input (it gets the zB rule). */
export function firstLinearId(graph: Graph): number {
  const n = graph.nodes.find((n) => n.op.kind === 'conv2d' || n.op.kind === 'dense');
  if (!n) throw new Error('the model has no Conv2D or Dense layer');
  return n.id;
}

export function nodeByName(graph: Graph, name: string): GraphNode {
  const n = graph.nodes.find((x) => x.name === name);
  if (!n) {
    throw new Error(`layer '${name}' not found in the model; its layers are: ${graph.nodes.map((x) => x.name).join(', ')}`);
  }
  return n;
}

/** Frees every weight tensor of the graph. */
export function disposeGraph(graph: Graph): void {
  for (const n of graph.nodes) {
    if (n.op.kind === 'conv2d' || n.op.kind === 'dense') {
      n.op.kernel.dispose();
      n.op.bias?.dispose();
    }
  }
}
