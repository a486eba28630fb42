import type { ModelSource } from '../formats/index.js';
import { ExplainEngine, type ExplainerOptions } from './explain-engine.js';
import type { Graph } from './graph.js';
import type { PixelRect } from './incremental.js';
import { runAsync } from './reads.js';
import { rankClasses } from './targets.js';
import type { Explanation, ForwardOutput, MethodName, Target, Variant } from './types.js';

export type { ExplainerOptions } from './explain-engine.js';

/** One already-preprocessed image, row-major H×W×C (the model's input size). */
export interface ImageInput {
  data: Float32Array;
  shape: [number, number, number];
}

/**
 * Which class to explain: the most or second most probable one, a class index, or the image's
 * ground-truth class (recorded as kind 'gt').
 */
export type TargetSpec = 'top1' | 'top2' | number | { kind: 'gt'; classIndex: number };

export interface ExplainOptions {
  methods: MethodName[];
  /** Targets of every image, in order; each image gets one explanation per method and target. */
  targets: TargetSpec[];
  /** `paper` (default) or `reference` (docs/PROTOCOL.md §1–§3). */
  variant?: Variant;
  /** LRP composite by name (engine/composites.ts; default: the variant's). */
  composite?: string;
  /** Grad-CAM layer name (default: the variant's layer policy). */
  gradcamLayer?: string;
  /** Random's run seed (default 0). */
  seed?: number;
  /** Ids of the images, which key Random's map (default: image-0, image-1, …). */
  imageIds?: string[];
  /** Keep the signed H×W×C input signal on the explanations that have one (default true). */
  withRaw?: boolean;
}

export interface ExplainOutput {
  /** Per image × target × method, in that order (`imageIndex` counts the inputs from 0). */
  explanations: Explanation[];
  /** Per image: logits and softmax probabilities of the forward pass the maps came from. */
  logits: Float32Array[];
  probs: Float32Array[];
}

/** One masked copy of an image: the input rectangle `rect` of image `image` replaced by `fill`'s pixels. */
export interface MaskSpec extends PixelRect {
  image: number;
}

/**
 * The attribution engine as a library: load a model, explain preprocessed images. Every call is
 * async (it runs on every backend, webgpu included) and shares one forward pass per image among
 * all methods and targets; all LRP-family maps of a call come from one batched relevance pass.
 *
 *   const explainer = await Explainer.load('model.json', { inputBounds: { low: -123.68, high: 151.061 } });
 *   const { explanations } = await explainer.explain({ data, shape: [224, 224, 3] }, { methods: ['sglrp'], targets: ['top1'] });
 */
export class Explainer {
  private constructor(private readonly engine: ExplainEngine) {}

  /** Loads a model (a TF.js model.json path, or any ModelSource) on the chosen backend (default: auto). */
  static async load(source: string | ModelSource, options: ExplainerOptions = {}): Promise<Explainer> {
    return new Explainer(await ExplainEngine.load(source, options));
  }

  /** For a graph built in memory (engine/model-loader.ts graphFromLayersModel). */
  static fromGraph(graph: Graph, options: ExplainerOptions = {}): Explainer {
    return new Explainer(ExplainEngine.fromGraph(graph, options));
  }

  /** The model's input, [H, W, C]. */
  get inputShape(): [number, number, number] {
    return this.engine.inputShape;
  }
  get numClasses(): number {
    return this.engine.numClasses;
  }
  /** The TF.js backend it runs on. */
  get backend(): string {
    return this.engine.backend;
  }

  /** Every requested map for every image and target. */
  async explain(input: ImageInput | ImageInput[], options: ExplainOptions): Promise<ExplainOutput> {
    const images = this.checkInputs(input);
    if (options.methods.length === 0) throw new Error('explain: options.methods is empty; name at least one method (e.g. sglrp)');
    if (options.targets.length === 0) throw new Error("explain: options.targets is empty; name at least one target (e.g. 'top1')");
    const ids = options.imageIds ?? images.map((_, i) => `image-${i}`);
    if (ids.length !== images.length)
      throw new Error(`explain: options.imageIds has ${ids.length} ids for ${images.length} images; give one per image`);
    const resolve = (_i: number, _probs: Float32Array, logits: Float32Array): Target[] =>
      options.targets.map((t) => this.resolveTarget(t, logits));
    const res = await runAsync(
      this.engine.explainSteps(images, resolve, {
        methods: options.methods,
        variant: options.variant ?? 'paper',
        seed: options.seed ?? 0,
        imageIds: ids,
        targetsPerImage: options.targets.length,
        ...(options.composite !== undefined ? { composite: options.composite } : {}),
        ...(options.gradcamLayer !== undefined ? { gradcamLayer: options.gradcamLayer } : {}),
        ...(options.withRaw !== undefined ? { withRaw: options.withRaw } : {}),
      }),
    );
    return { explanations: res.explanations, logits: res.forward.logits, probs: res.forward.probs };
  }

  /** Logits and softmax probabilities, one per image. */
  async forward(input: ImageInput | ImageInput[]): Promise<ForwardOutput> {
    return runAsync(this.engine.forwardSteps(this.checkInputs(input)));
  }

  /** Softmax probabilities, one per image. */
  async classify(input: ImageInput | ImageInput[]): Promise<Float32Array[]> {
    return (await this.forward(input)).probs;
  }

  /**
   * Softmax probabilities of masked copies of the images (maximal patch masking, docs/PROTOCOL.md
   * §4): each mask names an image and an input rectangle whose pixels are taken from `fill` (an
   * H×W×C image). Re-classified incrementally from each image's forward pass: only what a patch
   * changes is recomputed. One probability vector per mask, in order.
   */
  async classifyMasked(input: ImageInput | ImageInput[], masks: MaskSpec[], fill: Float32Array): Promise<Float32Array[]> {
    const images = this.checkInputs(input);
    const [h, w, c] = this.inputShape;
    if (fill.length !== h * w * c)
      throw new Error(`classifyMasked: fill has ${fill.length} values; the model's input is ${h}×${w}×${c} = ${h * w * c}`);
    return runAsync(this.engine.classifyMaskedImagesSteps(images, masks, fill));
  }

  /** Frees the model's weights and everything derived from them. */
  dispose(): void {
    this.engine.dispose();
  }

  private checkInputs(input: ImageInput | ImageInput[]): Float32Array[] {
    const list = Array.isArray(input) ? input : [input];
    if (list.length === 0) throw new Error('no images given; pass { data, shape: [H, W, C] } or an array of them');
    const [h, w, c] = this.inputShape;
    return list.map((im, i) => {
      const what = Array.isArray(input) ? `image ${i}` : 'the image';
      if (!(im?.data instanceof Float32Array))
        throw new Error(`${what}: data must be a Float32Array of preprocessed pixels, row-major H×W×C`);
      const [ih, iw, ic] = im.shape ?? [];
      if (ih !== h || iw !== w || ic !== c)
        throw new Error(
          `${what} has shape [${im.shape?.join(', ')}]; the model expects [${h}, ${w}, ${c}] (resize and preprocess it first)`,
        );
      if (im.data.length !== h * w * c)
        throw new Error(`${what}: data has ${im.data.length} values; shape [${h}, ${w}, ${c}] needs ${h * w * c}`);
      return im.data;
    });
  }

  private resolveTarget(t: TargetSpec, logits: Float32Array): Target {
    const n = logits.length;
    const index = (i: number, what: string): number => {
      if (!(Number.isInteger(i) && i >= 0 && i < n))
        throw new Error(`target ${what}: class ${i} is outside the model's ${n} classes (0…${n - 1})`);
      return i;
    };
    if (t === 'top1' || t === 'top2') return { kind: t, classIndex: rankClasses(logits)[t === 'top1' ? 0 : 1]! };
    if (typeof t === 'number') return { kind: 'index', classIndex: index(t, String(t)) };
    if (t && typeof t === 'object' && t.kind === 'gt') return { kind: 'gt', classIndex: index(t.classIndex, 'gt') };
    throw new Error(`target ${JSON.stringify(t)}: expected 'top1', 'top2', a class index or { kind: 'gt', classIndex }`);
  }
}
