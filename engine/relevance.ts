import * as tf from '@tensorflow/tfjs';
import type { ForwardCache } from './forward.js';
import { applyNode } from './forward.js';
import { firstLinearId, pixelPathFromInput, type Graph, type GraphNode } from './graph.js';
import { signedEpsilon, DEFAULT_SPLIT_EPSILON, type Composite, type LinearNode } from './rules.js';
import { addRelevance, avgPoolRelevance, passThroughAffine } from './split-rules.js';
import { avgPoolTranspose, gapTranspose } from './transposes.js';
import { routeValues, walkBackward } from './walk.js';
import type { WeightCache } from './weight-cache.js';

/**
 * One batched LRP pass: `seeds` holds K output-relevance vectors per image ([B·K, classes],
 * image-major); the result is the input relevance of every seed ([B·K, H, W, C]). All rules are
 * linear in the relevance and read the activations from the shared forward cache, so every
 * LRP-family map of an image (every method × target) costs one pass, not one each. Where a
 * tensor feeds several layers (residual shortcuts, dense blocks), the walk sums the relevance
 * its consumers send back.
 */
export function propagateRelevance(cache: ForwardCache, seeds: tf.Tensor2D, rules: Composite, weights: WeightCache): tf.Tensor4D {
  const graph = cache.graph;
  const first = firstLinearId(graph);
  const split = rules.split ?? signedEpsilon(DEFAULT_SPLIT_EPSILON);
  const affine = rules.affine ?? passThroughAffine;
  const boundMask = inputBoundMask(graph, first, weights);
  return walkBackward(cache, seeds, (node, r, c) => {
    const input = () => c.outputs[node.inputs[0]!]!;
    const output = c.outputs[node.id]!;
    switch (node.op.kind) {
      case 'conv2d':
      case 'dense': {
        const rule = rules.ruleFor(node as LinearNode, node.id === first);
        const mask = node.id === first ? boundMask : undefined;
        return [rule.backward({ node: node as LinearNode, input: input(), relevance: r, weights, ...(mask ? { boundMask: mask } : {}) })];
      }
      case 'avgpool': {
        const n = node as GraphNode & { op: { kind: 'avgpool' } };
        return [avgPoolRelevance(input(), output, r, split, (s) => avgPoolTranspose(n, s as tf.Tensor4D, input().shape, weights))];
      }
      case 'gap':
        return [avgPoolRelevance(input(), output, r, split, (s) => gapTranspose(s, input().shape))];
      case 'add':
        return addRelevance(
          node.inputs.map((i) => c.outputs[i]!),
          output,
          r,
          split,
        );
      case 'affine':
        return [affine.backward({ node: node as GraphNode & { op: { kind: 'affine' } }, input: input(), output, relevance: r })];
      case 'relu':
        return [tf.clone(r)]; // relevance passes ReLU unchanged
      case 'maxpool':
      case 'concat':
      case 'pad':
      case 'crop':
      case 'reshape':
      case 'identity':
      case 'input':
        return routeValues(node, r, c); // as gradients: these ops only move values (identity: Dropout)
    }
  }) as tf.Tensor4D;
}

/**
 * The zB layer's real-pixel mask when ZeroPadding2D layers sit between it and the model input
 * (ResNet50, DenseNet121): the padding, run on an all-ones image. Undefined when nothing pads.
 */
function inputBoundMask(graph: Graph, first: number, weights: WeightCache): tf.Tensor | undefined {
  const firstNode = graph.nodes[first]!;
  const path = pixelPathFromInput(graph, firstNode.inputs[0]!);
  if (!path || !path.some((n) => n.op.kind === 'pad')) return undefined;
  return weights.get(`${first}:zB:boundMask`, () => {
    let t: tf.Tensor = tf.ones([1, ...graph.inputShape]);
    for (const n of path) t = applyNode(n, [t]);
    return t;
  });
}
