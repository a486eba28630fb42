import {
  basicRule,
  epsilonRule,
  signedEpsilon,
  zBRule,
  zeroTo,
  zPlusRule,
  type Bound,
  type Composite,
  type LinearRule,
  type Stabilizer,
} from './rules.js';
import { passThroughAffine } from './split-rules.js';
import type { InputBounds } from './types.js';

/**
 * Composites as data (as Zennit names them): which LRP rule each kind of layer gets, with an
 * override for the first linear layer (the one touching the input), and the stabiliser of the
 * parameter-free splits (Add, average pooling). Unfolded BatchNormalizations always pass relevance
 * through (docs/PROTOCOL.md §1). A composite is registered by name; a variant preset
 * (engine/variants.ts) names its default one, and users may choose another
 * (`ExplainerOptions.composite`, the run config's `composite`).
 */

/** One rule, as data. `epsilon` absent: the explainer's ε (ExplainerOptions.epsilon, default 1e-9). */
export type RuleSpec =
  /** z⁺ (Eq. 1), bias ignored, ε added to the (non-negative) denominator. */
  | { rule: 'z+'; epsilon?: number }
  /** z⁺ with the layer's bias in the denominator, a zero denominator replaced by 1e-7 (the authors' iNNvestigate). */
  | { rule: 'z+ with bias' }
  /** The ε-rule: all weights and the bias, ε with the sign of the denominator. */
  | { rule: 'epsilon'; epsilon: number }
  /** The z-rule without bias (ε → 0 with the given ε): the conservation reference. */
  | { rule: 'z'; epsilon?: number }
  /** zB (Eq. 2) with the input bounds: for the first layer. */
  | { rule: 'zB'; epsilon?: number };

/** The denominator stabiliser of the Add and average-pooling splits. */
export type SplitSpec = { stabilizer: 'signed-epsilon'; epsilon?: number } | { stabilizer: 'zero-to'; value: number };

export interface CompositeSpec {
  readonly name: string;
  /** One line for listings and error messages. */
  readonly description: string;
  /** Rule per linear layer kind. */
  readonly layers: { readonly conv2d: RuleSpec; readonly dense: RuleSpec };
  /** Rule of the first linear layer (overrides `layers`). */
  readonly first: RuleSpec;
  readonly split: SplitSpec;
}

/** docs/PROTOCOL.md §1, paper variant: z⁺ without bias everywhere, zB at the input, splits with signed ε. */
export const PAPER_COMPOSITE: CompositeSpec = {
  name: 'zplus-zb',
  description: 'z+ (bias ignored) on every Conv2D/Dense, zB at the input, signed-ε splits (the paper)',
  layers: { conv2d: { rule: 'z+' }, dense: { rule: 'z+' } },
  first: { rule: 'zB' },
  split: { stabilizer: 'signed-epsilon' },
};

/**
 * docs/PROTOCOL.md §1, reference variant (iNNvestigate as the authors ran it): z⁺ with the bias in
 * the denominator, zB at the input (ε 1e-9 whatever the explainer's ε), and a zero denominator
 * gets 1e-7 in the splits too, as in the linear layers.
 */
export const REFERENCE_COMPOSITE: CompositeSpec = {
  name: 'zplus-bias-zb',
  description: "z+ with the bias in the denominator, zB at the input (the authors' code)",
  layers: { conv2d: { rule: 'z+ with bias' }, dense: { rule: 'z+ with bias' } },
  first: { rule: 'zB', epsilon: 1e-9 },
  split: { stabilizer: 'zero-to', value: 1e-7 },
};

/** Zennit's EpsilonPlus with a zB input layer: z⁺ on convolutions, the ε-rule (1e-6) on dense layers. */
export const EPSILON_PLUS_COMPOSITE: CompositeSpec = {
  name: 'epsilon-plus-zb',
  description: 'z+ on Conv2D, ε-rule (1e-6) on Dense, zB at the input (Zennit EpsilonPlus)',
  layers: { conv2d: { rule: 'z+' }, dense: { rule: 'epsilon', epsilon: 1e-6 } },
  first: { rule: 'zB' },
  split: { stabilizer: 'signed-epsilon' },
};

const registry = new Map<string, CompositeSpec>([PAPER_COMPOSITE, REFERENCE_COMPOSITE, EPSILON_PLUS_COMPOSITE].map((c) => [c.name, c]));

/** Adds a composite; its name must be new. */
export function registerComposite(spec: CompositeSpec): void {
  if (registry.has(spec.name) && registry.get(spec.name) !== spec)
    throw new Error(`a composite named '${spec.name}' is already registered; choose another name`);
  registry.set(spec.name, spec);
}

/** Names of the registered composites (the built-in ones first). */
export function compositeNames(): string[] {
  return [...registry.keys()];
}

/** The composite registered under `name`; an unknown name is refused, listing the known ones. */
export function compositeSpec(name: string): CompositeSpec {
  const spec = registry.get(name);
  if (!spec) throw new Error(`unknown composite '${name}'; choose from ${compositeNames().join(', ')}`);
  return spec;
}

export interface CompositeParams {
  /** zB bounds; 'image': each image's own smallest/largest value. */
  bounds: InputBounds | { low: Bound; high: Bound };
  /** ε of rules that do not name their own (default 1e-9). */
  epsilon?: number;
}

function ruleOf(spec: RuleSpec, p: Required<CompositeParams>): LinearRule {
  switch (spec.rule) {
    case 'z+':
      return zPlusRule({ bias: false, epsilon: spec.epsilon ?? p.epsilon });
    case 'z+ with bias':
      return zPlusRule({ bias: true });
    case 'epsilon':
      return epsilonRule(spec.epsilon);
    case 'z':
      return basicRule({ name: 'z', weight: 'all', bias: 'none', stabilizer: signedEpsilon(spec.epsilon ?? p.epsilon) });
    case 'zB':
      return zBRule(p.bounds.low, p.bounds.high, spec.epsilon ?? p.epsilon);
  }
}

function splitOf(spec: SplitSpec, epsilon: number): Stabilizer {
  return spec.stabilizer === 'zero-to' ? zeroTo(spec.value) : signedEpsilon(spec.epsilon ?? epsilon);
}

/** The rules of a composite spec, ready for a relevance pass. */
export function buildComposite(spec: CompositeSpec, params: CompositeParams): Composite {
  const p = { bounds: params.bounds, epsilon: params.epsilon ?? 1e-9 };
  const conv = ruleOf(spec.layers.conv2d, p);
  const dense = ruleOf(spec.layers.dense, p);
  const first = ruleOf(spec.first, p);
  return {
    name: spec.name,
    ruleFor: (node, isFirst) => (isFirst ? first : node.op.kind === 'conv2d' ? conv : dense),
    split: splitOf(spec.split, p.epsilon),
    affine: passThroughAffine,
  };
}

/** The paper composite's rules (docs/PROTOCOL.md §1). */
export function paperComposite(low: number, high: number, epsilon = 1e-9): Composite {
  return buildComposite(PAPER_COMPOSITE, { bounds: { low, high }, epsilon });
}

/** The reference composite's rules (docs/PROTOCOL.md §1). */
export function referenceComposite(low: number, high: number): Composite {
  return buildComposite(REFERENCE_COMPOSITE, { bounds: { low, high } });
}
