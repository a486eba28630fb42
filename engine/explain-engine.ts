import * as tf from '@tensorflow/tfjs';
import { backendDetail, initBackend, maxStorageBindingBytes } from './backend.js';
import { buildComposite, compositeSpec } from './composites.js';
import { disposeCache, forwardLogits, forwardWithCache, type ForwardCache } from './forward.js';
import { consumers, disposeGraph, nodeByName, type Graph, type GraphNode } from './graph.js';
import { propagateGradient } from './gradient.js';
import { contrast } from './maps.js';
import { incrementalSteps, type PixelRect } from './incremental.js';
import { loadGraph } from './model-loader.js';
import {
  methodSpec,
  rowsPerTarget,
  withDependencies,
  type CamMethod,
  type GradientMethod,
  type MethodMap,
  type MethodSpec,
  type RelevanceMethod,
} from './methods/index.js';
import { isReads, read, runSync, wait, type Reads } from './reads.js';
import { propagateRelevance } from './relevance.js';
import type { Composite } from './rules.js';
import { softmax64, type SeedSet } from './seeds.js';
import type { BackendName, Explanation, ForwardOutput, InputBounds, MethodName, Target, Variant } from './types.js';
import { variantPreset, type VariantPreset } from './variants.js';
import { disposeWalkState } from './walk.js';
import { WeightCache } from './weight-cache.js';
import type { ModelSource } from '../formats/index.js';

export interface ExplainerOptions {
  backend?: BackendName | 'auto';
  /**
   * zB bounds at the input: the smallest and largest value a preprocessed pixel can take
   * (docs/PROTOCOL.md §1; caffe: −123.68, 151.061). Absent: each image's own smallest and largest
   * value, which makes LRP-family maps depend on the image's range; give the preprocessing's
   * bounds for maps that are comparable across images.
   */
  inputBounds?: InputBounds;
  /** Denominator stabiliser of z⁺/zB (docs/PROTOCOL.md §1; default 1e-9). */
  epsilon?: number;
  /**
   * LRP composite by name (engine/composites.ts), for every call; default: the variant preset's
   * (paper: zplus-zb, reference: zplus-bias-zb).
   */
  composite?: string;
  /** Bytes one relevance/gradient pass may hold at once (default: by backend). */
  memoryBudgetBytes?: number;
  /**
   * The largest tensor a pass may hand one kernel (default: the webgpu device's storage-binding
   * limit; none on host backends). Tests set it to check that smaller passes give the same maps.
   */
  bindingLimitBytes?: number | null;
}

/** Resolves image i's targets once its forward pass is known (top2 needs the scores). */
export type TargetResolver = (i: number, probs: Float32Array, logits: Float32Array) => Target[];

export interface ExplainRequest {
  methods: MethodName[];
  variant: Variant;
  /** LRP composite for this call (default: ExplainerOptions.composite, else the variant's). */
  composite?: string;
  /** Run seed for Random (with image id and target). */
  seed: number;
  /** Image ids, one per input (Random is seeded by them). */
  imageIds: string[];
  /** Targets per image (sizes the micro-batches; default 2, the pipeline's gt + top2). */
  targetsPerImage?: number;
  /** Grad-CAM layer name (default: by the variant preset's layer policy). */
  gradcamLayer?: string;
  /** Keep the signed H×W×C input signal on each explanation (default true). */
  withRaw?: boolean;
  /**
   * Called once per micro-batch while its forward cache is still alive, so work that needs the
   * unmasked activations (incremental masking) does not run its own forward pass again. It may
   * return a Reads generator (engine/reads.ts: it reads tensors through the caller's driver,
   * sync or async) or, with an async driver only, a Promise; the cache lives until either is done.
   */
  onGroup?: (group: ExplainGroup) => void | Reads<void> | PromiseLike<void>;
}

/** One micro-batch of `explainSteps`: its images are inputs[offset … offset + count). */
export interface ExplainGroup {
  offset: number;
  count: number;
  /** The group's forward cache (batch = count); valid only during the callback. */
  cache: ForwardCache;
  /** The group's explanations (imageIndex counts from 0 over the whole call). */
  explanations: Explanation[];
  probs: Float32Array[];
}

export interface ExplainResult {
  forward: ForwardOutput;
  explanations: Explanation[];
  /** Milliseconds spent per phase, summed over micro-batches. */
  timings: Record<string, number>;
}

const DEFAULT_BUDGET: Record<string, number> = { wasm: 1.2e9, cpu: 1.5e9, webgpu: 6e9, tensorflow: 6e9 };

/**
 * The engine behind `Explainer` (engine/explainer.ts), for the project's own callers (the shard
 * worker, the stages, the explain command, the bench and tests): holds the model graph and its
 * derived weights for the lifetime of a worker, and every computation that reads tensors back is
 * a generator (engine/reads.ts) that the caller drives sync (runSync: host backends) or async
 * (runAsync: every backend). Every call shares one forward pass per image among all methods and
 * targets, and all LRP-family seeds of a micro-batch go through one relevance pass.
 */
export class ExplainEngine {
  private readonly weights = new WeightCache();
  private readonly composites = new Map<string, Composite>();
  /**
   * What `backend` alone does not say, for recording next to it (webgpu: the adapter, flagged
   * when it is a software one such as lavapipe); undefined for the other backends.
   */
  readonly backendDetail: string | undefined;
  /** The largest tensor one shader may bind (webgpu), null where there is no such limit. */
  private readonly bindingLimitBytes: number | null;

  private constructor(
    readonly graph: Graph,
    readonly backend: string,
    private readonly options: ExplainerOptions,
  ) {
    this.backendDetail = backendDetail(backend);
    this.bindingLimitBytes = options.bindingLimitBytes !== undefined ? options.bindingLimitBytes : maxStorageBindingBytes();
    if (options.composite !== undefined) compositeSpec(options.composite); // refuse an unknown name now, not mid-run
  }

  static async load(source: string | ModelSource, options: ExplainerOptions = {}): Promise<ExplainEngine> {
    const backend = await initBackend(options.backend ?? 'auto');
    const graph = await loadGraph(source);
    return new ExplainEngine(graph, backend, options);
  }

  /** For tests and tools that built a graph in memory. */
  static fromGraph(graph: Graph, options: ExplainerOptions = {}): ExplainEngine {
    return new ExplainEngine(graph, tf.getBackend(), options);
  }

  get inputShape(): [number, number, number] {
    return this.graph.inputShape;
  }
  get numClasses(): number {
    return this.graph.numClasses;
  }

  /** The rules of composite `name` with this explainer's bounds and ε, built once. */
  private composite(name: string): Composite {
    let c = this.composites.get(name);
    if (!c) {
      const bounds = this.options.inputBounds ?? { low: 'image' as const, high: 'image' as const };
      c = buildComposite(compositeSpec(name), { bounds, epsilon: this.options.epsilon ?? 1e-9 });
      this.composites.set(name, c);
    }
    return c;
  }

  /** Largest per-sample activation (floats), which bounds a pass's memory per seed row. */
  private largestActivation(): number {
    return Math.max(...this.graph.nodes.map((n) => n.outputShape.reduce((a, b) => a * b, 1)));
  }

  /** Seed rows one pass may hold: each live row needs a few activation-sized tensors. */
  maxRowsPerPass(): number {
    const budget = this.options.memoryBudgetBytes ?? DEFAULT_BUDGET[this.backend] ?? 1e9;
    const byBudget = Math.floor(budget / (this.largestActivation() * 4 * 6));
    // On webgpu a whole tensor is bound to one shader: a pass's largest activation ([rows, …])
    // must fit the device's storage-binding limit (128 MiB on lavapipe and many GPUs: 10 rows of
    // VGG16's block 1), or Dawn rejects the dispatch and the results are garbage.
    const limit = this.bindingLimitBytes;
    const byBinding = limit === null ? Infinity : Math.floor(limit / (this.largestActivation() * 4));
    return Math.max(1, Math.min(byBudget, byBinding));
  }

  /**
   * Images one call should hold so that a relevance/gradient pass carries every seed of each
   * (`methods` × `targetsPerImage` targets): the worker's batch size and explain's micro-batch.
   */
  imagesPerPass(methods: readonly string[], variant: Variant, targetsPerImage: number): number {
    const rows = rowsPerTarget(methods, variantPreset(variant).seeds) * Math.max(1, targetsPerImage);
    return Math.max(1, Math.floor(this.maxRowsPerPass() / Math.max(1, rows)));
  }

  private toTensor(inputs: Float32Array[]): tf.Tensor4D {
    const [h, w, c] = this.graph.inputShape;
    const per = h * w * c;
    const data = new Float32Array(per * inputs.length);
    inputs.forEach((x, i) => {
      if (x.length !== per) throw new Error(`input ${i} has ${x.length} values; the model expects ${h}×${w}×${c} = ${per}`);
      data.set(x, i * per);
    });
    return tf.tensor4d(data, [inputs.length, h, w, c]);
  }

  /** Logits of many inputs, chunked to the memory budget. */
  *logitsSteps(inputs: Float32Array[]): Reads<Float32Array[]> {
    // A forward pass keeps about three activation-sized tensors alive per image; stay well inside
    // the pass budget, since on wasm the heap also holds the model's (derived) weights.
    const chunk = Math.max(1, Math.min(64, Math.floor(this.maxRowsPerPass() / 2)));
    const out: Float32Array[] = [];
    for (let i = 0; i < inputs.length; i += chunk) {
      const part = inputs.slice(i, i + chunk);
      const x = this.toTensor(part);
      const z = forwardLogits(this.graph, x);
      let data: Float32Array;
      try {
        data = yield* read(z);
      } finally {
        z.dispose();
        x.dispose();
      }
      for (let j = 0; j < part.length; j++) out.push(data.slice(j * this.numClasses, (j + 1) * this.numClasses));
    }
    return out;
  }

  /** Logits and softmax probabilities of many inputs. */
  *forwardSteps(inputs: Float32Array[]): Reads<ForwardOutput> {
    const logits = yield* this.logitsSteps(inputs);
    return { logits, probs: logits.map((z) => Float32Array.from(softmax64(z))) };
  }

  /**
   * Softmax probabilities of masked copies of the images in a forward cache (an `onGroup`
   * callback's; each mask: an image index in the cache and an input rectangle whose pixels come
   * from `fill`), re-classified incrementally: only the region a patch changes is recomputed in
   * each layer, from the unmasked activations the maps were computed from. maxBatch 32: for p ≤ 9
   * on VGG16 only the 14×14 block-5 layers and the dense tail run in full, about 13 MB per chunk.
   */
  *classifyMaskedSteps(cache: ForwardCache, masks: (PixelRect & { image: number })[], fill: Float32Array): Reads<Float32Array[]> {
    if (masks.length === 0) return [];
    const data = yield* incrementalSteps(
      cache,
      masks.map((m) => ({ ...m, fill })),
      { maxBatch: Math.min(32, this.maxRowsPerPass()) },
    );
    const n = this.numClasses;
    return masks.map((_, i) => Float32Array.from(softmax64(data.subarray(i * n, (i + 1) * n))));
  }

  /**
   * classifyMaskedSteps for images that have no forward cache yet: one forward pass with cache
   * per group of images (as many as a pass holds), then their masks incrementally. One
   * probability vector per mask, in order.
   */
  *classifyMaskedImagesSteps(inputs: Float32Array[], masks: (PixelRect & { image: number })[], fill: Float32Array): Reads<Float32Array[]> {
    masks.forEach((m, i) => {
      if (!(Number.isInteger(m.image) && m.image >= 0 && m.image < inputs.length))
        throw new RangeError(`mask ${i}: image ${m.image} is not one of the ${inputs.length} images`);
    });
    const out = new Array<Float32Array>(masks.length);
    const step = Math.max(1, Math.min(32, Math.floor(this.maxRowsPerPass() / 2)));
    for (let s = 0; s < inputs.length; s += step) {
      const idx = masks.map((_, i) => i).filter((i) => masks[i]!.image >= s && masks[i]!.image < s + step);
      if (idx.length === 0) continue;
      const x = this.toTensor(inputs.slice(s, s + step));
      const cache = forwardWithCache(this.graph, x);
      x.dispose();
      try {
        const probs = yield* this.classifyMaskedSteps(
          cache,
          idx.map((i) => ({ ...masks[i]!, image: masks[i]!.image - s })),
          fill,
        );
        idx.forEach((i, r) => (out[i] = probs[r]!));
      } finally {
        disposeCache(cache);
      }
    }
    return out;
  }

  /**
   * Every requested map for every image and target. `targets(i, probs, logits)` resolves image
   * i's targets once its forward pass is known (top2 needs the probabilities).
   */
  /** explainSteps driven synchronously (host backends: wasm, cpu, tensorflow), for tools and tests. */
  explain(inputs: Float32Array[], targets: TargetResolver, opts: ExplainRequest): ExplainResult {
    return runSync(this.explainSteps(inputs, targets, opts));
  }

  /** forwardSteps driven synchronously (host backends), for tools and tests. */
  forward(inputs: Float32Array[]): ForwardOutput {
    return runSync(this.forwardSteps(inputs));
  }

  *explainSteps(inputs: Float32Array[], targets: TargetResolver, opts: ExplainRequest): Reads<ExplainResult> {
    if (opts.imageIds.length !== inputs.length) throw new Error('explain: one image id per input is required');
    opts.methods.forEach((m) => methodSpec(m)); // unknown names are refused before any work
    const lrpMethod = opts.methods.find((m) => methodSpec(m).family === 'relevance');
    if (lrpMethod) assertLrpDefined(this.graph, lrpMethod);
    const timings: Record<string, number> = {};
    const group = Math.max(1, Math.floor(this.imagesPerPass(opts.methods, opts.variant, opts.targetsPerImage ?? 2)));
    const forward: ForwardOutput = { logits: [], probs: [] };
    const explanations: Explanation[] = [];
    for (let start = 0; start < inputs.length; start += group) {
      const part = inputs.slice(start, start + group);
      yield* this.explainGroup(part, start, targets, opts, forward, explanations, timings);
    }
    return { forward, explanations, timings };
  }

  private *explainGroup(
    inputs: Float32Array[],
    offset: number,
    resolve: TargetResolver,
    opts: ExplainRequest,
    forward: ForwardOutput,
    out: Explanation[],
    timings: Record<string, number>,
  ): Reads<void> {
    const [h, w, c] = this.graph.inputShape;
    const preset = variantPreset(opts.variant);
    const time = (k: string, t0: number) => (timings[k] = (timings[k] ?? 0) + (performance.now() - t0));
    let t0 = performance.now();
    const x = this.toTensor(inputs);
    const cache = forwardWithCache(this.graph, x);
    x.dispose();
    try {
      const zAll = yield* read(cache.logits);
      const n = this.numClasses;
      const logits = inputs.map((_, i) => zAll.slice(i * n, (i + 1) * n));
      const probs = logits.map((z) => Float32Array.from(softmax64(z)));
      forward.logits.push(...logits);
      forward.probs.push(...probs);
      const targets = inputs.map((_, i) => resolve(offset + i, probs[i]!, logits[i]!));
      if (targets.some((t) => t.length !== targets[0]!.length)) throw new Error('explain: every image needs the same number of targets');
      time('forward', t0);

      // Every method's map per `${image}|${class}`, dependencies of combined methods included.
      const maps = new Map<string, Map<string, MethodMap>>();
      const put = (name: string, k: string, m: MethodMap) => {
        let byKey = maps.get(name);
        if (!byKey) maps.set(name, (byKey = new Map()));
        byKey.set(k, m);
      };
      const specs = withDependencies(opts.methods);
      const relevance = specs.filter((m): m is RelevanceMethod => m.family === 'relevance');
      if (relevance.length > 0) {
        t0 = performance.now();
        const composite = this.composite(opts.composite ?? this.options.composite ?? preset.composite);
        yield* this.relevancePass(cache, logits, targets, relevance, preset, composite, (i, m, t, raw) =>
          put(m, `${i}|${t}`, { map: preset.reduction(raw, c), raw }),
        );
        time('lrp', t0);
      }
      for (const m of specs.filter((s): s is GradientMethod => s.family === 'gradient')) {
        t0 = performance.now();
        const rows = yield* this.gradientRows(cache, targets, (i, t) => logits[i]![t]!, { guided: m.guided });
        for (const [k, raw] of rows) put(m.name, k, { map: m.reduce(raw, c), raw });
        time(m.name, t0);
      }
      for (const m of specs.filter((s): s is CamMethod => s.family === 'cam')) {
        t0 = performance.now();
        const cams = yield* this.gradCam(cache, targets, preset, opts.gradcamLayer);
        for (const [k, cam] of cams) put(m.name, k, { map: cam });
        time(m.name, t0);
      }
      for (const m of specs) {
        if (m.family !== 'combined') continue;
        const parts = m.uses.map((u) => {
          const byKey = maps.get(u);
          if (!byKey)
            throw new Error(
              `method '${m.name}' uses '${u}', which has no pass of its own (only relevance, gradient and cam methods can be combined)`,
            );
          return [u, byKey] as const;
        });
        for (const k of parts[0]![1].keys()) put(m.name, k, m.combine(new Map(parts.map(([u, byKey]) => [u, byKey.get(k)!])), c));
      }
      const first = out.length;
      for (let i = 0; i < inputs.length; i++) {
        for (const target of targets[i]!) {
          for (const name of opts.methods) {
            const spec: MethodSpec = methodSpec(name);
            const id = opts.imageIds[offset + i]!;
            const got =
              spec.family === 'host'
                ? spec.compute({ height: h, width: w, channels: c, runSeed: opts.seed, imageId: id, classIndex: target.classIndex })
                : maps.get(name)?.get(`${i}|${target.classIndex}`);
            if (!got) throw new Error(`internal: no ${name} map for image ${i}, class ${target.classIndex}`);
            out.push({
              imageIndex: offset + i,
              method: name,
              target,
              height: h,
              width: w,
              channels: c,
              map: got.map,
              ...(opts.withRaw === false || !got.raw ? {} : { raw: got.raw }),
            });
          }
        }
      }
      const after = opts.onGroup?.({ offset, count: inputs.length, cache, explanations: out.slice(first), probs });
      if (isReads(after)) yield* after;
      else if (after && typeof (after as PromiseLike<void>).then === 'function') yield* wait(after as PromiseLike<void>);
    } finally {
      disposeWalkState(cache);
      disposeCache(cache);
    }
  }

  /** One batched relevance pass for every (image, method, target, seed vector). */
  private *relevancePass(
    cache: ForwardCache,
    logits: Float32Array[],
    targets: Target[][],
    methods: RelevanceMethod[],
    preset: VariantPreset,
    composite: Composite,
    emit: (i: number, m: string, t: number, raw: Float32Array) => void,
  ): Reads<void> {
    const n = this.numClasses;
    const [h, w, c] = this.graph.inputShape;
    const per = h * w * c;
    const plans: { i: number; m: string; t: number; set: SeedSet }[] = [];
    for (let i = 0; i < logits.length; i++) {
      const z = logits[i]!;
      for (const target of targetClasses(targets[i]!)) {
        if (!(target >= 0 && target < n)) throw new Error(`target class ${target} is outside the model's ${n} classes`);
        for (const m of methods) plans.push({ i, m: m.name, t: target, set: m.seeds(preset.seeds, z, target) });
      }
    }
    // Rows are image-major with the same count K per image, as the pass broadcasts activations.
    const k = plans.filter((p) => p.i === 0).reduce((s, p) => s + p.set.vectors.length, 0);
    const seedData = new Float32Array(logits.length * k * n);
    let row = 0;
    for (const p of plans) for (const v of p.set.vectors) seedData.set(v, row++ * n);
    const data = yield* this.passInChunks(seedData, logits.length, k, per, (seeds) =>
      propagateRelevance(cache, seeds, composite, this.weights),
    );
    row = 0;
    for (const p of plans) {
      const vs = p.set.vectors.map(() => data.slice(row * per, ++row * per));
      emit(p.i, p.m, p.t, p.set.combine === 'single' ? vs[0]! : contrast(vs[0]!, vs[1]!));
    }
  }

  /**
   * Runs a backward pass for seeds [b images × k seeds, n classes] (image-major) and returns its
   * input-sized rows [b·k × per] in the same order. Normally one pass; when b·k rows exceed
   * maxRowsPerPass (one image's seeds alone can: 12 LRP-family rows in the reference variant vs 10
   * rows of VGG16 block 1 under a 128 MiB webgpu binding limit), several passes over slices of
   * every image's seeds, on the same forward cache. Linear in the seeds, so the split changes nothing.
   */
  private *passInChunks(
    seedData: Float32Array,
    b: number,
    k: number,
    per: number,
    pass: (seeds: tf.Tensor2D) => tf.Tensor,
  ): Reads<Float32Array> {
    const n = this.numClasses;
    const chunk = Math.max(1, Math.floor(this.maxRowsPerPass() / b));
    const out = chunk >= k ? null : new Float32Array(b * k * per);
    for (let j0 = 0; j0 < k; j0 += chunk) {
      const kk = Math.min(chunk, k - j0);
      let part = seedData;
      if (out) {
        part = new Float32Array(b * kk * n);
        for (let i = 0; i < b; i++) part.set(seedData.subarray((i * k + j0) * n, (i * k + j0 + kk) * n), i * kk * n);
      }
      const seeds = tf.tensor2d(part, [b * kk, n]);
      let result: tf.Tensor;
      try {
        result = pass(seeds);
      } finally {
        seeds.dispose();
      }
      let data: Float32Array;
      try {
        data = yield* read(result);
      } finally {
        result.dispose();
      }
      if (!out) return data;
      for (let i = 0; i < b; i++) out.set(data.subarray(i * kk * per, (i + 1) * kk * per), (i * k + j0) * per);
    }
    return out!;
  }

  /** Input gradients (Guided Backprop when guided) of seed value `seed(i, t)` at each target. */
  private *gradientRows(
    cache: ForwardCache,
    targets: Target[][],
    seed: (i: number, t: number) => number,
    opts: { guided: boolean },
  ): Reads<Map<string, Float32Array>> {
    const n = this.numClasses;
    const per = this.graph.inputShape.reduce((a, b) => a * b, 1);
    const lists = targets.map(targetClasses);
    const k = lists[0]!.length;
    const seedData = new Float32Array(lists.length * k * n);
    lists.forEach((ts, i) => ts.forEach((t, j) => (seedData[(i * k + j) * n + t] = seed(i, t))));
    const data = yield* this.passInChunks(seedData, lists.length, k, per, (seeds) =>
      propagateGradient(cache, seeds, this.weights, { guided: opts.guided }),
    );
    const out = new Map<string, Float32Array>();
    lists.forEach((ts, i) => ts.forEach((t, j) => out.set(`${i}|${t}`, data.slice((i * k + j) * per, (i * k + j + 1) * per))));
    return out;
  }

  /**
   * The node Grad-CAM reads (docs/PROTOCOL.md §3): the named layer, else the default by the
   * variant preset's layer policy (defaultGradcamNode).
   */
  gradcamNode(variant: Variant, name?: string): GraphNode {
    if (name) return nodeByName(this.graph, name);
    return defaultGradcamNode(this.graph, variantPreset(variant).gradcamLayer);
  }

  /** Grad-CAM maps (resized to the input), per `${image}|${class}`. */
  private *gradCam(
    cache: ForwardCache,
    targets: Target[][],
    preset: VariantPreset,
    layer: string | undefined,
  ): Reads<Map<string, Float32Array>> {
    const node = layer ? nodeByName(this.graph, layer) : defaultGradcamNode(this.graph, preset.gradcamLayer);
    if (node.outputShape.length !== 3)
      throw new Error(`Grad-CAM layer '${node.name}' must output a feature map (H×W×C), not [${node.outputShape.join(', ')}]`);
    const n = this.numClasses;
    const [h, w] = this.graph.inputShape;
    const lists = targets.map(targetClasses);
    const b = lists.length;
    const k = lists[0]!.length;
    const seedData = new Float32Array(b * k * n);
    lists.forEach((ts, i) => ts.forEach((t, j) => (seedData[(i * k + j) * n + t] = 1)));
    const cams = tf.tidy(() => {
      const seeds = tf.tensor2d(seedData, [b * k, n]);
      const grad = propagateGradient(cache, seeds, this.weights, { guided: false, stopAt: node.id }) as tf.Tensor4D;
      const [, fh, fw, fc] = grad.shape;
      const alpha = tf.reshape(tf.mean(grad, [1, 2]), [b, k, 1, fc]); // α_k: spatial mean of the gradient
      const a = tf.reshape(cache.outputs[node.id]!, [b, 1, fh * fw, fc]);
      let cam = tf.reshape(tf.sum(tf.mul(a, alpha), -1), [b * k, fh, fw, 1]);
      if (preset.gradcamRelu) cam = tf.relu(cam);
      return tf.image.resizeBilinear(cam as tf.Tensor4D, [h, w], false, true);
    });
    let data: Float32Array;
    try {
      data = yield* read(cams);
    } finally {
      cams.dispose();
    }
    const out = new Map<string, Float32Array>();
    lists.forEach((ts, i) => ts.forEach((t, j) => out.set(`${i}|${t}`, data.slice((i * k + j) * h * w, (i * k + j + 1) * h * w))));
    return out;
  }

  dispose(): void {
    this.weights.dispose();
    disposeGraph(this.graph);
  }
}

/**
 * Grad-CAM's default layer: the last feature map before the classifier head — the last node with
 * an H×W×C output that feeds a global pooling, Flatten or Reshape (ResNet: the last block's output
 * activation; DenseNet: the final relu; Inception: the last mixed concatenation). Policy
 * `feature-map` (paper variant) steps back over pooling layers to the feature map they pool
 * (VGG16: block5_conv3); `pooled` (reference variant) keeps the pooled map itself (VGG16:
 * block5_pool, as the authors' code).
 */
export function defaultGradcamNode(graph: Graph, policy: VariantPreset['gradcamLayer']): GraphNode {
  const spatial = (n: GraphNode) => n.outputShape.length === 3;
  const users = consumers(graph);
  const feeds = graph.nodes.filter((n) => spatial(n) && users[n.id]!.some((u) => !spatial(graph.nodes[u]!)));
  let node = feeds[feeds.length - 1];
  if (!node) throw new Error('Grad-CAM needs a spatial (H×W×C) feature map before the classifier, and the model has none; name a layer');
  if (policy === 'feature-map') {
    const pools = ['maxpool', 'avgpool', 'identity'];
    while (pools.includes(node.op.kind) && graph.nodes[node.inputs[0]!]!.op.kind !== 'input') node = graph.nodes[node.inputs[0]!]!;
  }
  return node;
}

/**
 * An image's target classes in order. Not deduplicated even when gt and top2 coincide: a pass
 * needs the same number of rows for every image (activations are broadcast per image).
 */
function targetClasses(ts: Target[]): number[] {
  return ts.map((t) => t.classIndex);
}

/**
 * docs/PROTOCOL.md §7: the LRP family is not defined for models with clipped ReLUs (ReLU6:
 * MobileNetV2), whose linear bottlenecks feed signed activations to the z⁺ rule.
 */
function assertLrpDefined(graph: Graph, method: string): void {
  const clipped = graph.nodes.find((n) => n.op.kind === 'relu' && n.op.max !== undefined);
  if (clipped) {
    throw new Error(
      `method ${method} is not defined for op ReLU6 (layer '${clipped.name}'): models with clipped activations (MobileNetV2) ` +
        `feed signed activations to the z+ rule (docs/PROTOCOL.md §7); use gbp, gradcam, ggcam or random`,
    );
  }
}
