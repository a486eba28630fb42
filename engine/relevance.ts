import * as tf from '@tensorflow/tfjs';
import type { ForwardCache } from './forward.js';
import { firstLinearId } from './graph.js';
import type { Composite, LinearNode } from './rules.js';
import { reshapeToInput, routeMaxPool, walkBackward } from './walk.js';
import type { WeightCache } from './weight-cache.js';

/**
 * One batched LRP pass: `seeds` holds K output-relevance vectors per image ([B·K, classes],
 * image-major); the result is the input relevance of every seed ([B·K, H, W, C]). All rules are
 * linear in the relevance and read the activations from the shared forward cache, so every
 * LRP-family map of an image (every method × target) costs one pass, not one each.
 */
export function propagateRelevance(cache: ForwardCache, seeds: tf.Tensor2D, rules: Composite, weights: WeightCache): tf.Tensor4D {
  const first = firstLinearId(cache.graph);
  return walkBackward(cache, seeds, (node, r, c) => {
    switch (node.op.kind) {
      case 'conv2d':
      case 'dense': {
        const rule = rules.ruleFor(node as LinearNode, node.id === first);
        return [rule.backward({ node: node as LinearNode, input: c.outputs[node.inputs[0]!]!, relevance: r, weights })];
      }
      case 'maxpool':
        return [routeMaxPool(node, r, c)];
      case 'reshape':
        return [reshapeToInput(node, r, c)];
      case 'relu':
      case 'identity':
        return [tf.clone(r)]; // relevance passes ReLU and Dropout unchanged
      case 'input':
        return [];
    }
  }) as tf.Tensor4D;
}
