import * as tf from '@tensorflow/tfjs';
import { divPerImage, mulPerImage } from './broadcast.js';
import type { GraphNode } from './graph.js';
import type { Stabilizer } from './rules.js';

/**
 * Relevance rules for the layers of modern CNNs that are not Conv2D/Dense. Add and average
 * pooling use the z-rule of the layer seen as a linear map with fixed, non-learned weights, so
 * they stay linear in the relevance (many seeds share one pass) and conserve relevance up to the
 * stabiliser:
 *
 * - Add:      z = Σ_k x_k;           R_k = x_k ⊙ R / stab(z)
 * - Avg pool: z_j = Σ_{i∈j} x_i/n_j;  R_i = x_i Σ_{j∋i} R_j / (n_j·stab(z_j))
 *             (GlobalAveragePooling2D is one window over the whole map)
 * - Affine (an unfolded BatchNormalization, y = a·x + c per channel): a pass-through, see
 *   passThroughAffine.
 *
 * `stab` keeps the sign of z (an Add of a residual branch can be negative); where z is exactly
 * zero every contribution is zero too, so the relevance there is lost — it is then also zero in
 * any pass that arrived through a z-type rule.
 */

export interface AffineContext {
  node: GraphNode & { op: { kind: 'affine' } };
  /** The layer's input and output activations, one row per image. */
  input: tf.Tensor;
  output: tf.Tensor;
  /** Relevance at the layer's output, K seeds per image. */
  relevance: tf.Tensor;
}

export interface AffineRule {
  readonly name: string;
  backward(ctx: AffineContext): tf.Tensor;
}

/** Add: each input gets the share of the sum it contributed. `output` = the Add's output (Σ x_k). */
export function addRelevance(inputs: tf.Tensor[], output: tf.Tensor, relevance: tf.Tensor, stab: Stabilizer): tf.Tensor[] {
  return tf.tidy(() => {
    const s = divPerImage(relevance, stab(output));
    return inputs.map((x) => mulPerImage(s, x));
  });
}

/**
 * Average pooling (either kind): `transpose` is the pool's transpose (engine/transposes.ts), which
 * already holds the 1/n_j weights; `output` = the pool's output.
 */
export function avgPoolRelevance(
  input: tf.Tensor,
  output: tf.Tensor,
  relevance: tf.Tensor,
  stab: Stabilizer,
  transpose: (s: tf.Tensor) => tf.Tensor,
): tf.Tensor {
  return tf.tidy(() => mulPerImage(transpose(divPerImage(relevance, stab(output))), input));
}

/**
 * An unfolded BatchNormalization (an affine per-channel layer y = a·x + c that could not be folded
 * into a preceding conv: after Add, Concatenate or pooling) passes relevance through unchanged,
 * R_in = R (docs/PROTOCOL.md §1; Zennit's `Pass` for BatchNorm). Each output depends on one input
 * only, so there is nothing to split; and a ratio a·x/(a·x ± ε) would drop all the relevance
 * arriving where the BN's input is exactly 0 (common after a ReLU) while its shift c still gives
 * a non-zero output. Relevance is conserved exactly.
 */
export const passThroughAffine: AffineRule = {
  name: 'pass',
  backward: ({ relevance }) => tf.clone(relevance),
};
