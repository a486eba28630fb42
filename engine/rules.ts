import * as tf from '@tensorflow/tfjs';
import { blockAt, matMulBlocked, matMulTransposedBlocked, type DenseKernel, type Kernel } from './blocked.js';
import { conv2dTransposeByConv, rotateKernel } from './conv-transpose.js';
import { divPerImage, mulPerImage } from './broadcast.js';
import type { GraphNode } from './graph.js';
import { affineRule, type AffineRule } from './split-rules.js';
import type { WeightCache } from './weight-cache.js';

/**
 * LRP rules for linear layers (Conv2D, Dense), composed the way Zennit composes them: a rule is
 * a few declarative parts — which weights (all, positive, negative part), which bias, and how the
 * denominator is stabilised — and one generic computation:
 *
 *   Z = a·ρ(W) + ρ(b);   S = R / stab(Z);   R_in = a ⊙ (ρ(W)ᵀ S)
 *
 * zB (the input-layer rule, SPEC §1) combines three weight sets and is its own rule.
 * Every rule is linear in R, which is what lets many seeds share one pass.
 */

export type LinearNode = GraphNode & { op: { kind: 'conv2d' | 'dense' } };

export interface RuleContext {
  node: LinearNode;
  /** The layer's input activation, one row per image [B, …]. */
  input: tf.Tensor;
  /** Relevance at the layer's output, K seeds per image [B·K, …]. */
  relevance: tf.Tensor;
  weights: WeightCache;
  /**
   * zB only: [1, …input shape] with 1 at real pixels and 0 at padding added by ZeroPadding2D
   * layers between the model input and this layer, so the bound images l, h are padded exactly
   * like x (0 there) and no relevance lands on padding. Absent: every position is a real pixel.
   */
  boundMask?: tf.Tensor;
}

export interface LinearRule {
  /** Short name, for logs and docs (e.g. 'z+', 'zB[-123.68,151.061]'). */
  readonly name: string;
  backward(ctx: RuleContext): tf.Tensor;
}

export type WeightPart = 'all' | 'positive' | 'negative';
export type BiasPart = 'none' | 'all' | 'positive';
export type Stabilizer = (z: tf.Tensor) => tf.Tensor;

/** Adds ε (denominators known to be ≥ 0, e.g. z⁺ without bias). */
export const addEpsilon =
  (eps: number): Stabilizer =>
  (z) =>
    tf.add(z, eps);
/** ε with the sign of z (the ε-rule; zero counts as positive). */
export const signedEpsilon =
  (eps: number): Stabilizer =>
  (z) =>
    tf.add(z, tf.mul(tf.where(tf.greaterEqual(z, 0), tf.onesLike(z), tf.fill(z.shape, -1)), eps));
/** Replaces exact zeros by `value` (the authors' code: a zero denominator gets 1e-7). */
export const zeroTo =
  (value: number): Stabilizer =>
  (z) =>
    tf.where(tf.equal(z, 0), tf.fill(z.shape, value), z);

const modify = (t: tf.Tensor, part: WeightPart | BiasPart): tf.Tensor =>
  part === 'positive' ? tf.relu(t) : part === 'negative' ? tf.neg(tf.relu(tf.neg(t))) : t;

/** Layer forward with given weights: conv or dense (per block where the kernel is blocked), no activation. */
function linearForward(node: LinearNode, x: tf.Tensor, kernel: Kernel, bias: tf.Tensor | null): tf.Tensor {
  const op = node.op;
  const y =
    op.kind === 'conv2d'
      ? tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, op.strides, op.padding)
      : matMulBlocked(x as tf.Tensor2D, kernel as DenseKernel);
  return bias ? tf.add(y, bias) : y;
}

/**
 * The transpose of the layer's linear map with kernel ρ(W) = `derive(W)` applied to s. ρ(W) is
 * cached under `kernelKey` (per block, `${kernelKey}#j`, where the Dense kernel is blocked:
 * `derive` gets each block of W and its index), a conv's rotated ρ(W) under `${kernelKey}:rot`.
 * Dense: s·ρ(W)ᵀ as (ρ(W)·sᵀ)ᵀ, summed over blocks (engine/blocked.ts matMulTransposedBlocked).
 */
export function linearTranspose(
  node: LinearNode,
  s: tf.Tensor,
  kernelKey: string,
  derive: (w: tf.Tensor, block: number) => tf.Tensor,
  weights: WeightCache,
  inShape: number[],
): tf.Tensor {
  const op = node.op;
  if (op.kind === 'dense') return matMulTransposedBlocked(s as tf.Tensor2D, weights.derived(kernelKey, op.kernel, derive) as DenseKernel);
  const rotated = weights.get(`${kernelKey}:rot`, () => rotateKernel(derive(op.kernel, 0) as tf.Tensor4D));
  return conv2dTransposeByConv(s as tf.Tensor4D, rotated, [inShape[1]!, inShape[2]!], op.strides, op.padding);
}

export interface BasicRuleParts {
  name: string;
  weight: WeightPart;
  bias: BiasPart;
  stabilizer: Stabilizer;
}

/** The generic rule: Z = a·ρ(W) + ρ(b), S = R/stab(Z), R_in = a ⊙ ρ(W)ᵀS. */
export function basicRule(parts: BasicRuleParts): LinearRule {
  return {
    name: parts.name,
    backward({ node, input, relevance, weights }) {
      return tf.tidy(() => {
        const wKey = `${node.id}:w:${parts.weight}`;
        const derive = (w: tf.Tensor) => modify(w, parts.weight);
        const kernel = weights.derived(wKey, node.op.kernel, derive);
        const bias = parts.bias === 'none' || !node.op.bias ? null : weights.get(`${node.id}:b:${parts.bias}`, () => modify(node.op.bias!, parts.bias));
        const z = parts.stabilizer(linearForward(node, input, kernel, bias));
        const s = divPerImage(relevance, z);
        const c = linearTranspose(node, s, wKey, derive, weights, input.shape);
        return mulPerImage(c, input);
      });
    },
  };
}

/** z⁺ (Eq. 1). Paper: bias ignored, ε added; reference: the layer's bias in the denominator, zero → 1e-7. */
export function zPlusRule(opts: { bias: boolean; epsilon?: number }): LinearRule {
  return opts.bias
    ? basicRule({ name: 'z+ (bias)', weight: 'positive', bias: 'all', stabilizer: zeroTo(1e-7) })
    : basicRule({ name: 'z+', weight: 'positive', bias: 'none', stabilizer: addEpsilon(opts.epsilon ?? 1e-9) });
}

/** The ε-rule: all weights, bias, ε with the sign of z. */
export function epsilonRule(eps = 1e-6): LinearRule {
  return basicRule({ name: `epsilon(${eps})`, weight: 'all', bias: 'all', stabilizer: signedEpsilon(eps) });
}

/**
 * zB (Eq. 2) for the layer touching the input: Z = W·x − W⁺·l − W⁻·h + ε with constant images
 * l, h padded like x; R_in = x ⊙ WᵀS − l ⊙ W⁺ᵀS − h ⊙ W⁻ᵀS. Because l and h are the scalars
 * low and high times the real-pixel mask m (all ones without padding layers), the last two terms
 * are one transpose: m ⊙ (low·W⁺ + high·W⁻)ᵀS. So R_in = x ⊙ WᵀS − m ⊙ BᵀS with B = low·W⁺ +
 * high·W⁻, and both transposes run as one convolution with [W, B] stacked (2 kernels, not 3:
 * a third less work in the largest-image layer).
 */
export function zBRule(low: number, high: number, epsilon = 1e-9): LinearRule {
  return {
    name: `zB[${low},${high}]`,
    backward({ node, input, relevance, weights, boundMask }) {
      return tf.tidy(() => {
        const op = node.op;
        const id = node.id;
        const masked = boundMask ? ':masked' : '';
        const bound = (v: number, shape: number[]) => (boundMask ? tf.mul(boundMask, v) : tf.fill([1, ...shape], v));
        const wAll = op.kernel;
        const wPos = weights.derived(`${id}:w:positive`, wAll, (w) => tf.relu(w));
        const wNeg = weights.derived(`${id}:w:negative`, wAll, (w) => tf.neg(tf.relu(tf.neg(w))));
        const shape = input.shape.slice(1);
        // W⁺·l + W⁻·h does not depend on the image: compute once per model.
        const bounds = weights.get(`${id}:zB:${low}:${high}${masked}`, () =>
          tf.add(linearForward(node, bound(low, shape), wPos, null), linearForward(node, bound(high, shape), wNeg, null)),
        );
        const z = tf.add(tf.sub(linearForward(node, input, wAll, null), bounds), epsilon);
        const s = divPerImage(relevance, z);
        const inC = op.kind === 'conv2d' ? op.kernel.shape[2] : op.kernel.shape[0];
        const axis = op.kind === 'conv2d' ? 2 : 0; // the kernel's input-channel axis
        // [W; B] per block j of a blocked Dense kernel (twice a block: see model-loader's block size).
        const stacked = (w: tf.Tensor, j: number) => tf.concat([w, tf.add(tf.mul(blockAt(wPos, j), low), tf.mul(blockAt(wNeg, j), high))], axis); // [.., 2·in, out]
        const c = linearTranspose(node, s, `${id}:zB:${low}:${high}:stack`, stacked, weights, input.shape);
        const [cAll, cBound] = tf.split(c, [inC, inC], c.rank - 1);
        const boundTerm = boundMask ? tf.mul(cBound!, boundMask) : cBound!;
        return tf.sub(mulPerImage(cAll!, input), boundTerm);
      });
    },
  };
}

/**
 * Maps each linear layer to its rule, with an override for the first (input) layer, and names
 * the rules of the parameter-free merges (engine/split-rules.ts): the stabiliser of the
 * proportional splits (Add, average pooling) and the rule of unfolded BatchNormalizations.
 */
export interface Composite {
  readonly name: string;
  ruleFor(node: LinearNode, isFirst: boolean): LinearRule;
  /** Denominator stabiliser of Add and average-pooling splits (default: signed ε = 1e-9). */
  readonly split?: Stabilizer;
  /** Rule for an unfolded BatchNormalization (default: the z-rule without bias, a pass-through). */
  readonly affine?: AffineRule;
}

export interface CompositeExtras {
  split?: Stabilizer;
  affine?: AffineRule;
}

export function composite(name: string, layers: LinearRule, first: LinearRule, extras: CompositeExtras = {}): Composite {
  return { name, ruleFor: (_node, isFirst) => (isFirst ? first : layers), ...extras };
}

export const DEFAULT_SPLIT_EPSILON = 1e-9;

/**
 * SPEC §1, paper variant: z⁺ without bias everywhere, zB at the input; biases are ignored in
 * the merges too (unfolded BN = pass-through), and splits keep the sign with the same ε.
 */
export function paperComposite(low: number, high: number, epsilon = 1e-9): Composite {
  return composite('paper: z+ / zB', zPlusRule({ bias: false, epsilon }), zBRule(low, high, epsilon), {
    split: signedEpsilon(epsilon),
    affine: affineRule({ bias: false, stabilizer: signedEpsilon(epsilon) }),
  });
}

/**
 * SPEC §1, reference variant (iNNvestigate as the authors ran it): z⁺ with bias, zB at the
 * input; an unfolded BN keeps its shift in the denominator like the other biases, and a zero
 * denominator gets 1e-7 everywhere, as in the linear layers.
 */
export function referenceComposite(low: number, high: number): Composite {
  return composite('reference: z+ (bias) / zB', zPlusRule({ bias: true }), zBRule(low, high, 1e-9), {
    split: zeroTo(1e-7),
    affine: affineRule({ bias: true, stabilizer: zeroTo(1e-7) }),
  });
}
