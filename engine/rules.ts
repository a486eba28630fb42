import * as tf from '@tensorflow/tfjs';
import { blockAt, matMulBlocked, matMulTransposedBlocked, type DenseKernel, type Kernel } from './blocked.js';
import { conv2dTransposeByConv, rotateKernel } from './conv-transpose.js';
import { divPerImage, mulPerImage } from './broadcast.js';
import type { GraphNode } from './graph.js';
import type { AffineRule } from './split-rules.js';
import type { WeightCache } from './weight-cache.js';

/**
 * LRP rules for linear layers (Conv2D, Dense), composed the way Zennit composes them: a rule is
 * a few declarative parts — which weights (all, positive, negative part), which bias, and how the
 * denominator is stabilised — and one generic computation:
 *
 *   Z = a·ρ(W) + ρ(b);   S = R / stab(Z);   R_in = a ⊙ (ρ(W)ᵀ S)
 *
 * zB (the input-layer rule, docs/PROTOCOL.md §1) combines three weight sets and is its own rule.
 * Named composites of these rules, as data: engine/composites.ts.
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
        const bias =
          parts.bias === 'none' || !node.op.bias
            ? null
            : weights.get(`${node.id}:b:${parts.bias}`, () => modify(node.op.bias!, parts.bias));
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
 * zB (Eq. 2) for the layer touching the input, with constant images l, h padded like x
 * (docs/PROTOCOL.md §1): Z = W·x − W⁺·l − W⁻·h + ε, R_in = x ⊙ WᵀS − l ⊙ W⁺ᵀS − h ⊙ W⁻ᵀS.
 *
 * Computed as Z = W⁺·(x − l) + W⁻·(x − h) + ε and R_in = (x − l) ⊙ W⁺ᵀS + (x − h) ⊙ W⁻ᵀS, the
 * same numbers regrouped. Why: x − l ≥ 0 and x − h ≤ 0, so every product in Z has one sign and
 * nothing cancels. The literal form subtracts W⁺·l + W⁻·h (~|W|·140·taps for caffe bounds) from
 * W·x of the same size; where the true Z is small (an image that reaches a bound across a
 * window) float32 then loses most of Z's digits, and S = R/Z amplifies it (VGG16 with caffe
 * bounds: 3.6e-3 of the map's maximum at the left border; regrouped: float64's answer to ~1e-6).
 *
 * Both steps run as one convolution each with [W⁺; W⁻] stacked on the input-channel axis and
 * [x − l, x − h] concatenated on the channel axis (2 kernels, not 3 for the literal form).
 * l and h are the scalars low and high times the real-pixel mask m (all ones without padding
 * layers; the conv's own zero padding pads x − l with 0, as it pads x and l). A bound given as
 * 'image' is each image's own smallest (low) or largest (high) real pixel value.
 */
export function zBRule(low: Bound, high: Bound, epsilon = 1e-9): LinearRule {
  return {
    name: `zB[${low},${high}]`,
    backward({ node, input, relevance, weights, boundMask }) {
      return tf.tidy(() => {
        const op = node.op;
        const id = node.id;
        const wPos = weights.derived(`${id}:w:positive`, op.kernel, (w) => tf.relu(w));
        const wNeg = weights.derived(`${id}:w:negative`, op.kernel, (w) => tf.neg(tf.relu(tf.neg(w))));
        const inC = op.kind === 'conv2d' ? op.kernel.shape[2] : op.kernel.shape[0];
        const axis = op.kind === 'conv2d' ? 2 : 0; // the kernel's input-channel axis
        // [W⁺; W⁻] per block j of a blocked Dense kernel (twice a block: see model-loader's block size).
        const stackKey = `${id}:zB:stack`;
        const stack = (_w: tf.Tensor, j: number) => tf.concat([blockAt(wPos, j), blockAt(wNeg, j)], axis); // [.., 2·in, out]
        const kernel = weights.derived(stackKey, op.kernel, stack);
        const bound = (v: Bound, extreme: 'min' | 'max') => {
          const b = v === 'image' ? imageExtreme(input, extreme, boundMask) : tf.scalar(v);
          return boundMask ? tf.mul(boundMask, b) : b;
        };
        const xLow = tf.sub(input, bound(low, 'min')); // ≥ 0
        const xHigh = tf.sub(input, bound(high, 'max')); // ≤ 0
        const z = tf.add(linearForward(node, tf.concat([xLow, xHigh], -1), kernel, null), epsilon);
        const s = divPerImage(relevance, z);
        const c = linearTranspose(node, s, stackKey, stack, weights, input.shape);
        const [cPos, cNeg] = tf.split(c, [inC, inC], c.rank - 1);
        return tf.add(mulPerImage(cPos!, xLow), mulPerImage(cNeg!, xHigh));
      });
    },
  };
}

/** A zB bound: a value, or 'image' (each image's own extreme value). */
export type Bound = number | 'image';

/** Per image [B, 1, …, 1]: the smallest or largest value over the real pixels (mask 1). */
function imageExtreme(input: tf.Tensor, which: 'min' | 'max', mask: tf.Tensor | undefined): tf.Tensor {
  const axes = input.shape.slice(1).map((_, i) => i + 1);
  // Padding (mask 0) must not win: push it beyond every real value before taking the extreme.
  const real = mask ? tf.add(input, tf.mul(tf.sub(1, mask), which === 'min' ? 3.4e38 : -3.4e38)) : input;
  return which === 'min' ? tf.min(real, axes, true) : tf.max(real, axes, true);
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
  /** Rule for an unfolded BatchNormalization (default and docs/PROTOCOL.md §1: pass-through, R_in = R). */
  readonly affine?: AffineRule;
}

export interface CompositeExtras {
  split?: Stabilizer;
  affine?: AffineRule;
}

/** One rule for every linear layer and another for the first, assembled by hand (tests, tools); named composites as data: engine/composites.ts. */
export function composite(name: string, layers: LinearRule, first: LinearRule, extras: CompositeExtras = {}): Composite {
  return { name, ruleFor: (_node, isFirst) => (isFirst ? first : layers), ...extras };
}

export const DEFAULT_SPLIT_EPSILON = 1e-9;
