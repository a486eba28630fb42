import * as tf from '@tensorflow/tfjs';
import { backendDetail, initBackend, maxStorageBindingBytes } from './backend.js';
import { disposeCache, forwardLogits, forwardWithCache, type ForwardCache } from './forward.js';
import { consumers, disposeGraph, nodeByName, type Graph, type GraphNode } from './graph.js';
import { propagateGradient } from './gradient.js';
import { contrast, positiveChannelSum, relevanceMap } from './maps.js';
import { incrementalSteps, type Box } from './incremental.js';
import { loadGraph } from './model-loader.js';
import type { ModelSource } from '../formats/index.js';
import { randomMap } from './random.js';
import { isReads, read, runAsync, runSync, wait, type Reads } from './reads.js';
import { propagateRelevance } from './relevance.js';
import { paperComposite, referenceComposite, type Composite } from './rules.js';
import { seedsFor, softmax64, type LrpMethod, type SeedSet } from './seeds.js';
import { LRP_FAMILY, type BackendName, type Explanation, type ForwardOutput, type InputBounds, type MethodName, type Target, type Variant } from './types.js';
import { disposeWalkState } from './walk.js';
import { WeightCache } from './weight-cache.js';

export interface ExplainerOptions {
  backend?: BackendName | 'auto';
  /** zB bounds at the input (smallest/largest preprocessed pixel value). */
  inputBounds: InputBounds;
  /** Denominator stabiliser of z⁺/zB (SPEC §1; default 1e-9). */
  epsilon?: number;
  /** Bytes one relevance/gradient pass may hold at once (default: by backend). */
  memoryBudgetBytes?: number;
  /**
   * The largest tensor a pass may hand one kernel (default: the webgpu device's storage-binding
   * limit; none on host backends). Tests set it to check that smaller passes give the same maps.
   */
  bindingLimitBytes?: number | null;
}

export interface ExplainOptions {
  methods: MethodName[];
  variant: Variant;
  /** Run seed for Random (with image id and target). */
  seed: number;
  /** Image ids, one per input (Random is seeded by them). */
  imageIds: string[];
  /** Grad-CAM layer name (default: last conv layer; reference variant: the pool after it). */
  gradcamLayer?: string;
  /** Keep the signed H×W×C input signal on each explanation (default true). */
  withRaw?: boolean;
  /**
   * Called once per micro-batch while its forward cache is still alive, so work that needs the
   * unmasked activations (incremental masking) does not run its own forward pass again. It may
   * return a Reads generator (engine/reads.ts: it reads tensors through the caller's driver,
   * sync or async) or, with explainAsync only, a Promise; the cache lives until either is done.
   */
  onGroup?: (group: ExplainGroup) => void | Reads<void> | PromiseLike<void>;
}

/** One micro-batch of `explain`: its images are inputs[offset … offset + count). */
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
 * The engine's one entry point (Captum-like: inputs, targets, options). Holds the model graph
 * and its derived weights for the lifetime of a worker; every call shares one forward pass per
 * image among all methods and targets.
 */
export class Explainer {
  private readonly weights = new WeightCache();
  private readonly composites = new Map<Variant, Composite>();
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
  }

  static async load(modelPath: string | ModelSource, options: ExplainerOptions): Promise<Explainer> {
    const backend = await initBackend(options.backend ?? 'auto');
    const graph = await loadGraph(modelPath);
    return new Explainer(graph, backend, options);
  }

  /** For tests and tools that built a graph in memory. */
  static fromGraph(graph: Graph, options: ExplainerOptions): Explainer {
    return new Explainer(graph, tf.getBackend(), options);
  }

  get inputShape(): [number, number, number] {
    return this.graph.inputShape;
  }
  get numClasses(): number {
    return this.graph.numClasses;
  }

  private composite(variant: Variant): Composite {
    let c = this.composites.get(variant);
    if (!c) {
      const { low, high } = this.options.inputBounds;
      c = variant === 'paper' ? paperComposite(low, high, this.options.epsilon ?? 1e-9) : referenceComposite(low, high);
      this.composites.set(variant, c);
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

  // Each reading method comes twice: sync (dataSync; host backends: wasm, cpu, tensorflow) and
  // *Async (await data(); every backend, and the only way under Node on webgpu, whose dataSync
  // needs an OffscreenCanvas). Both run the same *Steps generator (engine/reads.ts).

  /** Softmax probabilities of many inputs (masking re-classification), chunked to the memory budget. */
  classify(inputs: Float32Array[]): Float32Array[] {
    return this.forward(inputs).probs;
  }
  async classifyAsync(inputs: Float32Array[]): Promise<Float32Array[]> {
    return (await this.forwardAsync(inputs)).probs;
  }

  logitsOf(inputs: Float32Array[]): Float32Array[] {
    return runSync(this.logitsSteps(inputs));
  }
  logitsOfAsync(inputs: Float32Array[]): Promise<Float32Array[]> {
    return runAsync(this.logitsSteps(inputs));
  }

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

  /**
   * Softmax probabilities of masked copies of the images in a forward cache (an `onGroup`
   * callback's; each mask: an image index in the cache and an input box whose pixels come from
   * `fill`), re-classified incrementally: only the region a patch changes is recomputed in each
   * layer, from the unmasked activations the maps were computed from. maxBatch 32: for p ≤ 9 on
   * VGG16 only the 14×14 block-5 layers and the dense tail run in full, about 13 MB per chunk.
   */
  classifyMaskedInCache(cache: ForwardCache, masks: (Box & { image: number })[], fill: Float32Array): Float32Array[] {
    return runSync(this.classifyMaskedSteps(cache, masks, fill));
  }
  classifyMaskedInCacheAsync(cache: ForwardCache, masks: (Box & { image: number })[], fill: Float32Array): Promise<Float32Array[]> {
    return runAsync(this.classifyMaskedSteps(cache, masks, fill));
  }

  /** classifyMaskedInCache as steps: yield* it from an onGroup callback that returns a generator. */
  *classifyMaskedSteps(cache: ForwardCache, masks: (Box & { image: number })[], fill: Float32Array): Reads<Float32Array[]> {
    if (masks.length === 0) return [];
    const data = yield* incrementalSteps(cache, masks.map((m) => ({ ...m, fill })), { maxBatch: Math.min(32, this.maxRowsPerPass()) });
    const n = this.numClasses;
    return masks.map((_, i) => Float32Array.from(softmax64(data.subarray(i * n, (i + 1) * n))));
  }

  forward(inputs: Float32Array[]): ForwardOutput {
    return runSync(this.forwardSteps(inputs));
  }
  forwardAsync(inputs: Float32Array[]): Promise<ForwardOutput> {
    return runAsync(this.forwardSteps(inputs));
  }

  *forwardSteps(inputs: Float32Array[]): Reads<ForwardOutput> {
    const logits = yield* this.logitsSteps(inputs);
    return { logits, probs: logits.map((z) => Float32Array.from(softmax64(z))) };
  }

  /**
   * Every requested map for every image and target. `targets(i, probs, logits)` resolves image
   * i's targets once its forward pass is known (top2 needs the probabilities).
   */
  explain(inputs: Float32Array[], targets: (i: number, probs: Float32Array, logits: Float32Array) => Target[], opts: ExplainOptions): ExplainResult {
    return runSync(this.explainSteps(inputs, targets, opts));
  }
  /** explain on every backend (webgpu included); onGroup may return a Promise here. */
  explainAsync(inputs: Float32Array[], targets: (i: number, probs: Float32Array, logits: Float32Array) => Target[], opts: ExplainOptions): Promise<ExplainResult> {
    return runAsync(this.explainSteps(inputs, targets, opts));
  }

  *explainSteps(inputs: Float32Array[], targets: (i: number, probs: Float32Array, logits: Float32Array) => Target[], opts: ExplainOptions): Reads<ExplainResult> {
    if (opts.imageIds.length !== inputs.length) throw new Error('explain: one image id per input is required');
    const timings: Record<string, number> = {};
    const lrpMethods = opts.methods.filter((m): m is LrpMethod => LRP_FAMILY.includes(m));
    if (lrpMethods.length > 0) assertLrpDefined(this.graph, lrpMethods[0]!);
    const seedsPerTarget = lrpMethods.length * (opts.variant === 'reference' ? 2 : 1) + 2; // + GBP/Grad-CAM rows
    const group = Math.max(1, Math.floor(this.maxRowsPerPass() / Math.max(1, seedsPerTarget * 2)));
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
    resolve: (i: number, probs: Float32Array, logits: Float32Array) => Target[],
    opts: ExplainOptions,
    forward: ForwardOutput,
    out: Explanation[],
    timings: Record<string, number>,
  ): Reads<void> {
    const [h, w, c] = this.graph.inputShape;
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

      const maps = new Map<string, { map: Float32Array; raw?: Float32Array }>();
      const key = (i: number, m: MethodName, t: number) => `${i}|${m}|${t}`;

      const lrpMethods = opts.methods.filter((m): m is LrpMethod => LRP_FAMILY.includes(m));
      if (lrpMethods.length > 0) {
        t0 = performance.now();
        yield* this.lrpFamily(cache, logits, targets, lrpMethods, opts.variant, (i, m, t, raw) => {
          maps.set(key(i, m, t), { map: relevanceMap(raw, c, opts.variant), raw });
        });
        time('lrp', t0);
      }
      const needGbp = opts.methods.includes('gbp') || opts.methods.includes('ggcam');
      const gbp = new Map<string, Float32Array>();
      if (needGbp) {
        t0 = performance.now();
        const rows = yield* this.gradientRows(cache, targets, (i, t) => logits[i]![t]!, { guided: true });
        rows.forEach((raw, k) => gbp.set(k, raw));
        if (opts.methods.includes('gbp')) for (const [k, raw] of gbp) {
          const [i, t] = splitKey(k);
          maps.set(key(i, 'gbp', t), { map: positiveChannelSum(raw, c), raw });
        }
        time('gbp', t0);
      }
      const needCam = opts.methods.includes('gradcam') || opts.methods.includes('ggcam');
      if (needCam) {
        t0 = performance.now();
        const cams = yield* this.gradCam(cache, targets, opts);
        for (const [k, cam] of cams) {
          const [i, t] = splitKey(k);
          if (opts.methods.includes('gradcam')) maps.set(key(i, 'gradcam', t), { map: cam });
          if (opts.methods.includes('ggcam')) {
            const raw = gbp.get(k)!;
            const g = positiveChannelSum(raw, c);
            const rawG = new Float32Array(raw.length);
            for (let p = 0; p < cam.length; p++) {
              g[p]! *= cam[p]!;
              for (let ch = 0; ch < c; ch++) rawG[p * c + ch] = raw[p * c + ch]! * cam[p]!;
            }
            maps.set(key(i, 'ggcam', t), { map: g, raw: rawG });
          }
        }
        time('gradcam', t0);
      }
      const first = out.length;
      for (let i = 0; i < inputs.length; i++) {
        for (const target of targets[i]!) {
          for (const m of opts.methods) {
            const id = opts.imageIds[offset + i]!;
            const got = m === 'random' ? { map: randomMap(h, w, opts.seed, id, target.classIndex) } : maps.get(key(i, m, target.classIndex));
            if (!got) throw new Error(`internal: no ${m} map for image ${i}, class ${target.classIndex}`);
            out.push({
              imageIndex: offset + i,
              method: m,
              target,
              height: h,
              width: w,
              channels: c,
              map: got.map,
              ...(opts.withRaw === false || !('raw' in got) || !got.raw ? {} : { raw: got.raw }),
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
  private *lrpFamily(
    cache: ForwardCache,
    logits: Float32Array[],
    targets: Target[][],
    methods: LrpMethod[],
    variant: Variant,
    emit: (i: number, m: LrpMethod, t: number, raw: Float32Array) => void,
  ): Reads<void> {
    const n = this.numClasses;
    const [h, w, c] = this.graph.inputShape;
    const per = h * w * c;
    const plans: { i: number; m: LrpMethod; t: number; set: SeedSet }[] = [];
    for (let i = 0; i < logits.length; i++) {
      for (const target of targetClasses(targets[i]!)) for (const m of methods) plans.push({ i, m, t: target, set: seedsFor(m, variant, logits[i]!, target) });
    }
    // Rows are image-major with the same count K per image, as the pass broadcasts activations.
    const k = plans.filter((p) => p.i === 0).reduce((s, p) => s + p.set.vectors.length, 0);
    const seedData = new Float32Array(logits.length * k * n);
    let row = 0;
    for (const p of plans) for (const v of p.set.vectors) seedData.set(v, row++ * n);
    const composite = this.composite(variant);
    const data = yield* this.passInChunks(seedData, logits.length, k, per, (seeds) => propagateRelevance(cache, seeds, composite, this.weights));
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
  private *passInChunks(seedData: Float32Array, b: number, k: number, per: number, pass: (seeds: tf.Tensor2D) => tf.Tensor): Reads<Float32Array> {
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
  private *gradientRows(cache: ForwardCache, targets: Target[][], seed: (i: number, t: number) => number, opts: { guided: boolean }): Reads<Map<string, Float32Array>> {
    const n = this.numClasses;
    const per = this.graph.inputShape.reduce((a, b) => a * b, 1);
    const lists = targets.map(targetClasses);
    const k = lists[0]!.length;
    const seedData = new Float32Array(lists.length * k * n);
    lists.forEach((ts, i) => ts.forEach((t, j) => (seedData[(i * k + j) * n + t] = seed(i, t))));
    const data = yield* this.passInChunks(seedData, lists.length, k, per, (seeds) => propagateGradient(cache, seeds, this.weights, { guided: opts.guided }));
    const out = new Map<string, Float32Array>();
    lists.forEach((ts, i) => ts.forEach((t, j) => out.set(`${i}|${t}`, data.slice((i * k + j) * per, (i * k + j + 1) * per))));
    return out;
  }

  /**
   * The node Grad-CAM reads (SPEC §3): the named layer, else the last feature map before the
   * classifier head — the last node with an H×W×C output that feeds a global pooling, Flatten or
   * Reshape (ResNet: the last block's output activation; DenseNet: the final relu; Inception:
   * the last mixed concatenation). Paper variant: stepping back over pooling layers to the
   * feature map they pool (VGG16: block5_conv3); reference variant: the pooled map itself
   * (VGG16: block5_pool, as the authors' code).
   */
  gradcamNode(variant: Variant, name?: string): GraphNode {
    if (name) return nodeByName(this.graph, name);
    return defaultGradcamNode(this.graph, variant);
  }

  /** Grad-CAM maps (resized to the input), per `${image}|${class}`. */
  private *gradCam(cache: ForwardCache, targets: Target[][], opts: ExplainOptions): Reads<Map<string, Float32Array>> {
    const node = this.gradcamNode(opts.variant, opts.gradcamLayer);
    if (node.outputShape.length !== 3) throw new Error(`Grad-CAM layer '${node.name}' must output a feature map (H×W×C), not [${node.outputShape.join(', ')}]`);
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
      if (opts.variant === 'paper') cam = tf.relu(cam);
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

/** See Explainer.gradcamNode. */
export function defaultGradcamNode(graph: Graph, variant: Variant): GraphNode {
  const spatial = (n: GraphNode) => n.outputShape.length === 3;
  const users = consumers(graph);
  const feeds = graph.nodes.filter((n) => spatial(n) && users[n.id]!.some((u) => !spatial(graph.nodes[u]!)));
  let node = feeds[feeds.length - 1];
  if (!node) throw new Error('Grad-CAM needs a spatial (H×W×C) feature map before the classifier, and the model has none; name a layer');
  if (variant === 'paper') {
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

function splitKey(k: string): [number, number] {
  const [i, t] = k.split('|');
  return [Number(i), Number(t)];
}
