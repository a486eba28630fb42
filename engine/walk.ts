import * as tf from '@tensorflow/tfjs';
import type { ForwardCache } from './forward.js';
import type { GraphNode } from './graph.js';
import { canRouteByMask, offsetWinners, routeByMask, routeByOffsets, winnerMask } from './pool-routing.js';

/**
 * The backward walk shared by relevance and gradient passes: visit nodes from the output back to
 * the input in reverse topological order, let a per-node handler turn the signal at a node's
 * output into signals for its inputs, and sum the signals where a tensor feeds several layers.
 */
export type NodeHandler = (node: GraphNode, signal: tf.Tensor, cache: ForwardCache) => tf.Tensor[];

export interface WalkOptions {
  /** Stop when this node's output signal is complete and return it (Grad-CAM). */
  stopAt?: number;
}

/** Walks backward from `seed` placed at the graph's output; returns the signal at the input (or at stopAt). */
export function walkBackward(cache: ForwardCache, seed: tf.Tensor, handler: NodeHandler, opts: WalkOptions = {}): tf.Tensor {
  const graph = cache.graph;
  const pending = new Map<number, tf.Tensor>([[graph.outputId, tf.clone(seed)]]);
  const target = opts.stopAt ?? 0;
  for (let id = graph.outputId; id >= 0; id--) {
    const signal = pending.get(id);
    if (!signal) continue;
    if (id === target) {
      for (const [k, t] of pending) if (k !== id) t.dispose();
      return signal;
    }
    pending.delete(id);
    const node = graph.nodes[id]!;
    const outs = handler(node, signal, cache);
    signal.dispose();
    node.inputs.forEach((inputId, i) => {
      const contribution = outs[i]!;
      const prev = pending.get(inputId);
      if (prev) {
        pending.set(inputId, tf.add(prev, contribution));
        prev.dispose();
        contribution.dispose();
      } else pending.set(inputId, contribution);
    });
  }
  throw new Error(`internal: the backward walk never reached node ${target}`);
}

/** Reshape back to the input's per-sample shape (Flatten/Reshape), keeping the seed batch. */
export function reshapeToInput(node: GraphNode, signal: tf.Tensor, cache: ForwardCache): tf.Tensor {
  const inShape = cache.outputs[node.inputs[0]!]!.shape.slice(1);
  return tf.reshape(signal, [signal.shape[0]!, ...inShape]);
}

/**
 * Routes a signal through max pooling to the first maximum of each window. The per-image winner
 * mask (one per window offset when windows overlap or padding is added) is computed once per
 * forward cache and shared by every pass (LRP, GBP, Grad-CAM).
 */
export function routeMaxPool(node: GraphNode, signal: tf.Tensor, cache: ForwardCache): tf.Tensor {
  if (node.op.kind !== 'maxpool') throw new Error('internal: routeMaxPool on a non-pool node');
  const a = cache.outputs[node.inputs[0]!] as tf.Tensor4D;
  const g = node.op;
  if (!canRouteByMask(g, a.shape[1], a.shape[2])) {
    const offsets = offsetMasks(cache);
    let wins = offsets.get(node.id);
    if (!wins) {
      wins = offsetWinners(a, g);
      offsets.set(node.id, wins);
    }
    return routeByOffsets(signal as tf.Tensor4D, wins, g, a.shape[1], a.shape[2]);
  }
  const masks = poolMasks(cache);
  let mask = masks.get(node.id);
  if (!mask) {
    mask = winnerMask(a, g);
    masks.set(node.id, mask);
  }
  return routeByMask(signal as tf.Tensor4D, mask, g);
}

const MASKS = new WeakMap<ForwardCache, Map<number, tf.Tensor4D>>();
function poolMasks(cache: ForwardCache): Map<number, tf.Tensor4D> {
  let m = MASKS.get(cache);
  if (!m) {
    m = new Map();
    MASKS.set(cache, m);
  }
  return m;
}

const OFFSET_MASKS = new WeakMap<ForwardCache, Map<number, tf.Tensor4D[]>>();
function offsetMasks(cache: ForwardCache): Map<number, tf.Tensor4D[]> {
  let m = OFFSET_MASKS.get(cache);
  if (!m) {
    m = new Map();
    OFFSET_MASKS.set(cache, m);
  }
  return m;
}

/** Frees the pool masks kept for a forward cache (called by disposeCache's owner). */
export function disposeWalkState(cache: ForwardCache): void {
  const m = MASKS.get(cache);
  if (m) for (const t of m.values()) t.dispose();
  MASKS.delete(cache);
  const o = OFFSET_MASKS.get(cache);
  if (o) for (const ts of o.values()) tf.dispose(ts);
  OFFSET_MASKS.delete(cache);
}
