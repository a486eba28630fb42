import type * as tf from '@tensorflow/tfjs';
import type { Graph } from '../engine/graph.js';

/**
 * Extra names of a loaded model's layers, for formats whose own names are not valid Keras layer
 * names (ONNX: node names such as `/layer4/layer4.1/relu_1/Relu`, output names, PyTorch module
 * paths). A format records them against the LayersModel it returns; the engine graph lists them
 * as node aliases, so by-name lookups (Grad-CAM's layer) accept them.
 */
const aliasesByModel = new WeakMap<tf.LayersModel, Map<string, string[]>>();

export function setLayerAliases(model: tf.LayersModel, aliases: Map<string, string[]>): void {
  aliasesByModel.set(model, aliases);
}

/**
 * ZeroPadding2D layers that stand for the −∞ padding of a max pooling (ONNX MaxPool pads after a
 * ReLU): zeros give the same forward output there, but the backward routing must never send a
 * window's signal to a padded cell (docs/PROTOCOL.md §7).
 */
const maxPoolPadsByModel = new WeakMap<tf.LayersModel, ReadonlySet<string>>();

export function setMaxPoolPads(model: tf.LayersModel, layerNames: ReadonlySet<string>): void {
  maxPoolPadsByModel.set(model, layerNames);
}

/** `graph` with each node's recorded aliases added (a node folded by the canonizer also answers for the folded layer's names). */
export function withLayerAliases(graph: Graph, model: tf.LayersModel): Graph {
  const aliases = aliasesByModel.get(model) ?? new Map<string, string[]>();
  const maxPoolPads = maxPoolPadsByModel.get(model) ?? new Set<string>();
  if (aliases.size === 0 && maxPoolPads.size === 0) return graph;
  const nodes = graph.nodes.map((n) => {
    const extra = [n.name, ...(n.aliases ?? [])].flatMap((name) => aliases.get(name) ?? []);
    let node = extra.length === 0 ? n : { ...n, aliases: [...(n.aliases ?? []), ...extra] };
    if (node.op.kind === 'pad' && maxPoolPads.has(node.name)) node = { ...node, op: { ...node.op, maxPoolPad: true } };
    return node;
  });
  return { ...graph, nodes };
}
