/**
 * ADAPTER — to be dropped when engine/explainer.ts itself offers this surface.
 *
 * The library's `Explainer`: async only, one image at a time, already preprocessed:
 *
 *   const explainer = await Explainer.load('model.json');
 *   const result = await explainer.explain({ data, shape: [H, W, C] }, { methods: ['sglrp'], targets: ['top1'] });
 *
 * The engine's Explainer is being given exactly this `load(source)` / `explain(image, options)`
 * surface; until then this class wraps it so that index.ts, the README example and
 * test/library/ are written against the final call shape. Once the engine has it, index.ts
 * exports the engine's class and this file goes (nothing else imports it).
 */
import { initBackend } from '../engine/backend.js';
import { Explainer as EngineExplainer, type ExplainResult } from '../engine/explainer.js';
import { loadGraph } from '../engine/model-loader.js';
import { resolveTarget } from '../engine/targets.js';
import type { BackendName, InputBounds, MethodName, Variant } from '../engine/types.js';
import type { ModelSource } from '../formats/index.js';
import { presetBounds, type PreprocessPreset } from '../io/preprocess.js';

/** One preprocessed image: row-major H×W×C floats in the model's input space. */
export interface ImageInput {
  data: Float32Array;
  shape: readonly [number, number, number];
}

export interface LoadOptions {
  /** TF.js backend (default `auto`: tensorflow, then webgpu, wasm, cpu). */
  backend?: BackendName | 'auto';
  /** The preprocessing the model expects; sets the zB rule's input bounds (default `unit`, pixels in [0, 1]). */
  preprocess?: PreprocessPreset;
  /** The smallest and largest preprocessed pixel value, when no preset describes them. */
  inputBounds?: InputBounds;
}

export interface ExplainImageOptions {
  methods: MethodName[];
  /** `top1`, `top2`, a class index, or (with a class list) a wnid or class name. */
  targets: (string | number)[];
  /** docs/PROTOCOL.md §1–§2: `paper` (default) or `reference`. */
  variant?: Variant;
  /** Seed of the Random baseline (default 0). */
  seed?: number;
  /** Grad-CAM layer (default: the last convolution). */
  gradcamLayer?: string;
  /** Keep the signed H×W×C input relevance on each explanation (default true). */
  withRaw?: boolean;
}

export class Explainer {
  private constructor(private readonly engine: EngineExplainer) {}

  /** Loads a model (a TF.js `model.json` path or a ModelSource) on the chosen backend. */
  static async load(source: ModelSource | string, options: LoadOptions = {}): Promise<Explainer> {
    const backend = await initBackend(options.backend ?? 'auto');
    const graph = await loadGraph(source);
    const inputBounds = options.inputBounds ?? presetBounds(options.preprocess ?? 'unit', graph.inputShape[2]);
    return new Explainer(EngineExplainer.fromGraph(graph, { backend: backend as BackendName, inputBounds }));
  }

  /** [H, W, C] of the model's input. */
  get inputShape(): [number, number, number] {
    return this.engine.inputShape;
  }

  get numClasses(): number {
    return this.engine.numClasses;
  }

  /** The TF.js backend in use. */
  get backend(): string {
    return this.engine.backend;
  }

  /** Maps of every method × target for one preprocessed image, sharing one forward pass. */
  async explain(image: ImageInput, options: ExplainImageOptions): Promise<ExplainResult> {
    const [h, w, c] = this.inputShape;
    const [ih, iw, ic] = image.shape;
    if (ih !== h || iw !== w || ic !== c)
      throw new Error(`explain: image shape [${image.shape.join(', ')}] does not match the model input [${h}, ${w}, ${c}]`);
    if (image.data.length !== h * w * c)
      throw new Error(`explain: ${image.data.length} values given but [${h}, ${w}, ${c}] needs ${h * w * c}`);
    return this.engine.explainAsync([image.data], (_i, _probs, logits) => options.targets.map((t) => resolveTarget(t, logits, -1)), {
      methods: options.methods,
      variant: options.variant ?? 'paper',
      seed: options.seed ?? 0,
      imageIds: ['image'],
      ...(options.gradcamLayer !== undefined ? { gradcamLayer: options.gradcamLayer } : {}),
      withRaw: options.withRaw ?? true,
    });
  }

  /** Frees the model's tensors. */
  dispose(): void {
    this.engine.dispose();
  }
}
