/**
 * Public vocabulary of the attribution engine. Every other part of the project (the `explain`
 * command, the pipeline stages, the report) speaks in these types, so they change rarely.
 */

/** Attribution methods compared by the paper (docs/PROTOCOL.md §2–§3): one module each in engine/methods/. */
export { METHOD_NAMES, type MethodName } from './methods/index.js';
import type { MethodName } from './methods/index.js';

/** `paper` = the paper's equations; `reference` = what the authors' published code computes. */
export type Variant = 'paper' | 'reference';

/** Where a target class came from; `index` means the user named the class directly. */
export type TargetKind = 'gt' | 'top1' | 'top2' | 'index';

/** A resolved target: a class index of the model's output plus how it was chosen. */
export interface Target {
  kind: TargetKind;
  /** Class index in the model's output order. */
  classIndex: number;
}

/** One explanation map for one image, method and target. */
export interface Explanation {
  /** Position of the image in the batch that was explained. */
  imageIndex: number;
  method: MethodName;
  target: Target;
  height: number;
  width: number;
  /** Final 2-D map, row-major H×W (docs/PROTOCOL.md §2: positive part then channel sum for the paper variant). */
  map: Float32Array;
  /**
   * Signed input relevance / gradient, row-major H×W×C, before any clipping. Absent for methods
   * that have no per-channel input signal (Grad-CAM, Random).
   */
  raw?: Float32Array;
  channels: number;
}

/** Output of one forward pass over a batch. */
export interface ForwardOutput {
  /** Per image: the logits (pre-softmax), length = number of classes. */
  logits: Float32Array[];
  /** Per image: softmax probabilities. */
  probs: Float32Array[];
}

/** Names the backends the project can run on, in the order `auto` tries them. */
export const BACKEND_NAMES = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** Zero-bounds for the zB rule at the input layer (smallest and largest preprocessed pixel value). */
export interface InputBounds {
  low: number;
  high: number;
}
