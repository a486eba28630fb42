import type * as tf from '@tensorflow/tfjs';
import { blocksOf, type DenseKernel } from './blocked.js';

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
  | {
      kind: 'dense';
      /**
       * [in, out]; column blocks (engine/blocked.ts) where one tensor would exceed the device's
       * storage-binding limit (webgpu only; host backends always have one tensor).
       */
      kernel: DenseKernel;
      bias: tf.Tensor1D | null;
      activation: Activation;
    }
  | { kind: 'maxpool'; poolSize: [number, number]; strides: [number, number]; padding: Padding }
  | { kind: 'avgpool'; poolSize: [number, number]; strides: [number, number]; padding: Padding }
  | { kind: 'gap' } // GlobalAveragePooling2D: [H, W, C] → [C]
  | { kind: 'reshape'; targetShape: number[] } // Flatten and Reshape (per-sample shape)
  /** ReLU; with `max`, clipped there too (ReLU6 of imported MobileNets: docs/PROTOCOL.md §7). */
  | { kind: 'relu'; max?: number }
  | { kind: 'identity' } // Dropout, Activation('linear') at inference
  | { kind: 'add' } // Add: element-wise sum of all inputs
  | { kind: 'concat' } // Concatenate along the channel (last) axis, inputs in order
  /**
   * ZeroPadding2D: [[top, bottom], [left, right]]. `maxPoolPad`: it pads a max pooling whose
   * source pads with −∞ (PyTorch), so its cells never win a window in the backward routing.
   */
  | { kind: 'pad'; pads: [[number, number], [number, number]]; maxPoolPad?: boolean }
  | { kind: 'crop'; crops: [[number, number], [number, number]] } // Cropping2D: [[top, bottom], [left, right]]
  /**
   * y = scale·x + shift per channel (last axis): a BatchNormalization at inference that the
   * canonizer could not fold into a preceding Conv2D/Dense (engine/canonize.ts).
   */
  | { kind: 'affine'; scale: tf.Tensor1D; shift: tf.Tensor1D };

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
  /**
   * Names of layers folded into this node by canonization (a BatchNormalization merged into its
   * Conv2D): the node's output is theirs, so asking for them by name finds this node.
   */
  aliases?: string[];
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
  const n = graph.nodes.find((x) => x.name === name) ?? graph.nodes.find((x) => x.aliases?.includes(name));
  if (!n) {
    throw new Error(`layer '${name}' not found in the model; its layers are: ${graph.nodes.map((x) => x.name).join(', ')}`);
  }
  return n;
}

/** The weight tensors a node owns. */
export function nodeTensors(node: GraphNode): tf.Tensor[] {
  const op = node.op;
  if (op.kind === 'conv2d' || op.kind === 'dense') return op.bias ? [...blocksOf(op.kernel), op.bias] : blocksOf(op.kernel);
  if (op.kind === 'affine') return [op.scale, op.shift];
  return [];
}

/** Frees every weight tensor of the graph. */
export function disposeGraph(graph: Graph): void {
  for (const n of graph.nodes) for (const t of nodeTensors(n)) t.dispose();
}

/**
 * The nodes between the model input and `id` when that path only moves pixels around
 * (ZeroPadding2D, Cropping2D, identity), input first; null when anything else is on the way.
 * The zB rule needs it: its bound images must be padded exactly like the input it sees.
 */
export function pixelPathFromInput(graph: Graph, id: number): GraphNode[] | null {
  const path: GraphNode[] = [];
  let cur = graph.nodes[id]!;
  while (cur.op.kind !== 'input') {
    if (cur.inputs.length !== 1 || !(cur.op.kind === 'pad' || cur.op.kind === 'crop' || cur.op.kind === 'identity')) return null;
    path.unshift(cur);
    cur = graph.nodes[cur.inputs[0]!]!;
  }
  return path;
}
