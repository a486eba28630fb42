import * as tf from '@tensorflow/tfjs';
import type { ForwardCache } from './forward.js';
import type { GraphNode } from './graph.js';
import { mulPerImage } from './broadcast.js';
import { linearTranspose, type LinearNode } from './rules.js';
import { avgPoolTranspose, gapTranspose } from './transposes.js';
import { routeValues, walkBackward } from './walk.js';
import type { WeightCache } from './weight-cache.js';

/**
 * Gradients of the logits, built from forward ops like the relevance pass (transposed convs as
 * rotated-kernel convs, pool routing by mask). `guided` applies Guided Backprop's ReLU rule:
 * keep the gradient only where the forward input was positive and the gradient is positive.
 */
export interface GradientOptions {
  guided: boolean;
  /** Return the gradient w.r.t. this node's output instead of the input (Grad-CAM). */
  stopAt?: number;
}

function throughRelu(g: tf.Tensor, out: tf.Tensor, guided: boolean): tf.Tensor {
  // d relu: 1[x > 0], read from the output (out > 0 ⇔ pre-activation > 0).
  const masked = mulPerImage(g, tf.cast(tf.greater(out, 0), 'float32'));
  return guided ? tf.relu(masked) : masked;
}

export function propagateGradient(cache: ForwardCache, seeds: tf.Tensor2D, weights: WeightCache, opts: GradientOptions): tf.Tensor {
  return walkBackward(
    cache,
    seeds,
    (node: GraphNode, g, c) => {
      const out = c.outputs[node.id]!;
      switch (node.op.kind) {
        case 'conv2d':
        case 'dense': {
          const lin = node as LinearNode;
          return [
            tf.tidy(() => {
              const pre =
                node.op.kind !== 'input' && 'activation' in node.op && node.op.activation === 'relu' ? throughRelu(g, out, opts.guided) : g;
              const input = c.outputs[node.inputs[0]!]!;
              return linearTranspose(lin, pre, `${node.id}:w:all`, (w) => w, weights, input.shape);
            }),
          ];
        }
        case 'relu': {
          const max = node.op.max;
          // ReLU6 (docs/PROTOCOL.md §7): the derivative is also 0 where the output is clipped at max.
          if (max === undefined) return [tf.tidy(() => throughRelu(g, out, opts.guided))];
          return [tf.tidy(() => tf.mul(throughRelu(g, out, opts.guided), tf.cast(tf.less(out, max), g.dtype)))];
        }
        case 'avgpool':
          return [
            avgPoolTranspose(node as GraphNode & { op: { kind: 'avgpool' } }, g as tf.Tensor4D, c.outputs[node.inputs[0]!]!.shape, weights),
          ];
        case 'gap':
          return [gapTranspose(g, c.outputs[node.inputs[0]!]!.shape)];
        case 'add':
          return node.inputs.map(() => tf.clone(g)); // ∂(Σx_k)/∂x_k = 1: every input gets the whole gradient
        case 'affine':
          return [tf.mul(g, node.op.scale)]; // y = a·x + c per channel
        case 'maxpool':
        case 'concat':
        case 'pad':
        case 'crop':
        case 'reshape':
        case 'identity':
        case 'input':
          return routeValues(node, g, c);
      }
    },
    { stopAt: opts.stopAt },
  );
}
