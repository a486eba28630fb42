import * as tf from '@tensorflow/tfjs';
import type { ForwardCache } from './forward.js';
import type { GraphNode } from './graph.js';
import { canRouteByMask, offsetWinners, routeByMask, routeByOffsets, winnerMask } from './pool-routing.js';
import { splitChannels, uncrop, unpad } from './transposes.js';

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

/**
 * The backward step of the ops that only move values (max-pool winner routing, padding, cropping,
 * concatenation, reshapes, identity), shared by the relevance and gradient passes: each output
 * value is one input value, so relevance and gradient route alike. Throws for any other op.
 */
export function routeValues(node: GraphNode, signal: tf.Tensor, cache: ForwardCache): tf.Tensor[] {
  switch (node.op.kind) {
    case 'maxpool':
      return [routeMaxPool(node, signal, cache)];
    case 'concat':
      return splitChannels(node, signal, cache);
    case 'pad':
      return [unpad(node as GraphNode & { op: { kind: 'pad' } }, signal)];
    case 'crop':
      return [uncrop(node as GraphNode & { op: { kind: 'crop' } }, signal)];
    case 'reshape':
      return [reshapeToInput(node, signal, cache)];
    case 'identity':
      return [tf.clone(signal)];
    case 'input':
      return [];
    default:
      throw new Error(`internal: no value routing for a '${node.op.kind}' node`);
  }
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
  const g = node.op;
  const source = cache.graph.nodes[node.inputs[0]!]!;
  const a = cache.outputs[source.id] as tf.Tensor4D;
  const pads = source.op.kind === 'pad' && source.op.maxPoolPad ? source.op.pads : null;
  // The winners are found once per forward cache; only then is the scanned input needed.
  const scanned = <T>(find: (x: tf.Tensor4D) => T): T => {
    if (!pads) return find(a);
    const x = withoutPaddedWinners(a, pads);
    try {
      return find(x);
    } finally {
      x.dispose();
    }
  };
  if (!canRouteByMask(g, a.shape[1], a.shape[2])) {
    const wins = poolState(cache, node.id, () => scanned((x) => offsetWinners(x, g)));
    return routeByOffsets(signal as tf.Tensor4D, wins, g, a.shape[1], a.shape[2]);
  }
  return routeByMask(
    signal as tf.Tensor4D,
    poolState(cache, node.id, () => scanned((x) => winnerMask(x, g))),
    g,
  );
}

/**
 * The padded input of a max pooling whose source pads with −∞ (docs/PROTOCOL.md §7), with its
 * padded cells pushed far below any value, so that no window's maximum is a padded cell when a
 * real cell ties it (a window of zeros after a ReLU): the first real maximum wins, as in PyTorch.
 * The forward output is unchanged (such a pad feeds a pooling whose input is ≥ 0).
 */
function withoutPaddedWinners(a: tf.Tensor4D, pads: [[number, number], [number, number]]): tf.Tensor4D {
  const [, h, w] = a.shape;
  const [[top, bottom], [left, right]] = pads;
  return tf.tidy(() => {
    const padded = tf.pad(
      tf.zeros([1, h - top - bottom, w - left - right, 1]),
      [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      1,
    );
    return tf.sub(a, tf.mul(padded, 3e38)) as tf.Tensor4D;
  });
}

/** Per forward cache and pool node: its winner mask, or its per-offset masks (one kind per node). */
const POOL_STATE = new WeakMap<ForwardCache, Map<number, tf.Tensor4D | tf.Tensor4D[]>>();
function poolState<T extends tf.Tensor4D | tf.Tensor4D[]>(cache: ForwardCache, id: number, make: () => T): T {
  let m = POOL_STATE.get(cache);
  if (!m) POOL_STATE.set(cache, (m = new Map()));
  let state = m.get(id) as T | undefined;
  if (!state) m.set(id, (state = make()));
  return state;
}

/** Frees the pool masks kept for a forward cache (called by disposeCache's owner). */
export function disposeWalkState(cache: ForwardCache): void {
  const m = POOL_STATE.get(cache);
  if (m) for (const state of m.values()) tf.dispose(state);
  POOL_STATE.delete(cache);
}
