import type { SeedSet } from '../seeds.js';

/**
 * What one attribution method is, as data the rest of the project reads: its name (config,
 * CLI, file names), label and colour (report, grids), how many backward-pass rows it adds per
 * image and target (batch sizing), whether it has a signed H×W×C input signal, and how it is
 * computed. The explainer runs every method of a family together (all relevance seeds of an
 * image in one pass), so `compute` is family-specific; see engine/explain-engine.ts.
 */

/** Which seed formulas the LRP family uses (docs/PROTOCOL.md §2): the paper's equations or the authors' code. */
export type SeedFormulas = 'paper' | 'reference';

/** One explanation's values: the H×W map and, for methods that have one, the signed H×W×C input signal. */
export interface MethodMap {
  map: Float32Array;
  raw?: Float32Array;
}

export interface MethodBase<N extends string = string> {
  readonly name: N;
  /** How figures, tables and grids name it (one label everywhere). */
  readonly label: string;
  /** Its colour in every figure (CSS hex). */
  readonly color: string;
  /** Whether its explanations carry `raw` (the signed H×W×C input signal). */
  readonly producesRaw: boolean;
  /** Backward-pass rows it adds per image and target (0: it reuses other methods' rows or needs none). */
  rowsPerTarget(seeds: SeedFormulas): number;
}

/** LRP family: output seeds, propagated with every other seed of the image in one batched relevance pass. */
export interface RelevanceMethod<N extends string = string> extends MethodBase<N> {
  readonly family: 'relevance';
  /** The seed vectors on the logits for target class `target` (computed in float64, handed over as float32). */
  seeds(formulas: SeedFormulas, logits: Float32Array, target: number): SeedSet;
}

/** Input gradient of the target logit (guided: Guided Backprop's ReLU rule), reduced to a map. */
export interface GradientMethod<N extends string = string> extends MethodBase<N> {
  readonly family: 'gradient';
  readonly guided: boolean;
  reduce(raw: Float32Array, channels: number): Float32Array;
}

/** Grad-CAM at the preset's (or a named) feature map. */
export interface CamMethod<N extends string = string> extends MethodBase<N> {
  readonly family: 'cam';
}

/** Built from other methods' explanations of the same image and target (they are computed too). */
export interface CombinedMethod<N extends string = string> extends MethodBase<N> {
  readonly family: 'combined';
  readonly uses: readonly string[];
  combine(parts: ReadonlyMap<string, MethodMap>, channels: number): MethodMap;
}

export interface HostContext {
  height: number;
  width: number;
  channels: number;
  /** The run seed, the image id and the target class (Random is keyed by them). */
  runSeed: number;
  imageId: string;
  classIndex: number;
}

/** Computed on the host from the image's identity alone, no pass (Random). */
export interface HostMethod<N extends string = string> extends MethodBase<N> {
  readonly family: 'host';
  compute(ctx: HostContext): MethodMap;
}

export type MethodSpec<N extends string = string> =
  RelevanceMethod<N> | GradientMethod<N> | CamMethod<N> | CombinedMethod<N> | HostMethod<N>;
export type MethodFamily = MethodSpec['family'];
