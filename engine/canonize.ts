import * as tf from '@tensorflow/tfjs';
import { BlockedMatrix, mapBlocks } from './blocked.js';
import { consumers, nodeTensors, type Graph, type GraphNode, type LayerOp } from './graph.js';

/**
 * Canonization (as Zennit does it): rewrite the graph into an equivalent one whose layers the
 * LRP rules handle well. Here: fold each BatchNormalization (an 'affine' node y = a·x + c per
 * channel, a = γ/σ, c = β − μ·γ/σ, σ = √(var + ε)) into the Conv2D/Dense that feeds it, so the
 * pair becomes one linear layer with W' = W·a (per output channel) and b' = b·a + c, and the
 * linear rules see the weights that actually act on their input.
 *
 * A BN folds only when its one input is a Conv2D/Dense without a ReLU whose output feeds nothing
 * but that BN (otherwise the pre-BN output is still needed, or a ReLU sits in between). A BN
 * after Add/Concatenate, or before a conv (DenseNet's BN-ReLU-Conv), stays an affine node with
 * its own rule (engine/split-rules.ts passThroughAffine: relevance passes through unchanged).
 *
 * The graph's output is unchanged up to float rounding (tested against the LayersModel). The
 * folded node keeps the conv's name and lists the BN's name in `aliases`, so Grad-CAM and other
 * by-name lookups of the BN still find the tensor it produced.
 *
 * Consumes `graph`: the tensors of folded nodes are freed, the others move to the result.
 */
export function canonize(graph: Graph): Graph {
  const users = consumers(graph);
  const folded = new Map<number, GraphNode>(); // linear node id → its folded replacement
  const removed = new Map<number, number>(); // BN node id → the node that now produces its output
  for (const node of graph.nodes) {
    if (node.op.kind !== 'affine' || node.inputs.length !== 1) continue;
    const prevId = node.inputs[0]!;
    const prev = folded.get(prevId) ?? graph.nodes[prevId]!;
    if (removed.has(prevId)) continue; // (a BN after a folded BN: its producer is gone)
    const op = prev.op;
    if ((op.kind !== 'conv2d' && op.kind !== 'dense') || op.activation !== 'linear') continue;
    if (users[prevId]!.length !== 1 || prevId === graph.outputId) continue;
    folded.set(prevId, { ...prev, op: foldInto(op, node.op), aliases: [...(prev.aliases ?? []), node.name, ...(node.aliases ?? [])] });
    removed.set(node.id, prevId);
  }
  if (removed.size === 0) return graph;

  // Renumber: drop the folded BNs, point their consumers at the merged node.
  const newId = new Map<number, number>();
  const nodes: GraphNode[] = [];
  for (const node of graph.nodes) {
    if (removed.has(node.id)) continue;
    newId.set(node.id, nodes.length);
    nodes.push(folded.get(node.id) ?? node);
  }
  const resolve = (id: number): number => newId.get(removed.get(id) ?? id)!;
  for (const [oldId, node] of graph.nodes.entries()) {
    // A folded BN and the conv it went into: their weights now live in the merged node's copies.
    if (removed.has(oldId) || folded.has(oldId)) for (const t of nodeTensors(node)) t.dispose();
    if (removed.has(oldId)) continue;
    const i = newId.get(oldId)!;
    nodes[i] = { ...nodes[i]!, id: i, inputs: node.inputs.map(resolve) };
  }
  return { ...graph, nodes, outputId: resolve(graph.outputId) };
}

/**
 * W' = W·a on the output channels (the last kernel axis), b' = b·a + c. A blocked Dense kernel
 * (engine/blocked.ts) is scaled block by block with block j's slice of a, so no tensor grows
 * past a block.
 */
function foldInto(op: Extract<LayerOp, { kind: 'conv2d' | 'dense' }>, bn: Extract<LayerOp, { kind: 'affine' }>): LayerOp {
  const bias = tf.tidy(() => (op.bias ? tf.add(tf.mul(op.bias, bn.scale), bn.shift) : tf.clone(bn.shift))) as tf.Tensor1D;
  if (op.kind === 'conv2d') return { ...op, kernel: tf.tidy(() => tf.mul(op.kernel, bn.scale)) as tf.Tensor4D, bias };
  const k = op.kernel;
  const kernel = mapBlocks(k, (w, j) => tf.mul(w, k instanceof BlockedMatrix ? tf.slice(bn.scale, k.offsets[j]!, w.shape[1]!) : bn.scale));
  return { ...op, kernel, bias };
}
