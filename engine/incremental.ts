import * as tf from '@tensorflow/tfjs';
import { forwardPads } from './conv-transpose.js';
import { applyNode, type ForwardCache } from './forward.js';
import type { GraphNode, LayerOp } from './graph.js';
import { read, runAsync, runSync, type Reads } from './reads.js';

/**
 * Incremental re-classification for maximal patch masking (docs/PROTOCOL.md §4).
 *
 * A p×p patch changes only a bounded box of each layer's activations. Starting from the cached
 * activations of the unmasked image, each masked variant carries, per node, either
 *   - `same`:  the node's output equals the cached one (nothing changed reached it),
 *   - `patch`: the cached output with one box replaced by recomputed values, or
 *   - `full`:  a whole recomputed output (after a non-spatial op, an op kind not handled here,
 *              or a box that covers more than `fullFraction` of the layer).
 * Windowed ops (conv2d, max/avg pooling) recompute the box of outputs whose receptive field
 * meets the changed input box, from an input window = cached input with the changed box pasted
 * in (so the halo is included), run with 'valid' padding after explicit padding where the window
 * crosses the border (zeros for conv, −∞ for max pooling: TF's own 'same' semantics). Elementwise
 * ops keep the box, Add/Concatenate use the union box, ZeroPadding2D/Cropping2D shift it. The
 * same ops as a full pass run on the windows, so the result equals a full pass up to float
 * summation order (tested to 1e-5 relative on logits).
 *
 * Variants are batched: at each node all windows of the same shape go through one op call.
 * Windows are cut from host copies of the cached activations (one read per node and call:
 * ~60 MB of JS memory per VGG16 image) and the recomputed boxes come back to the host, because
 * on wasm slicing a small box out of a large tensor costs as much as copying the tensor.
 * Memory on the backend: per chunk of `maxBatch` variants, the stacked windows of one node and
 * the batches of the variants computed in full (the dense tail; a whole layer only where a box
 * grew past `fullFraction`).
 */

/**
 * Half-open rectangle of a spatial map: rows r0 ≤ r < r1, columns c0 ≤ c < c1. (Not data/'s
 * PixelRect, which is an annotation's {x0, y0, x1, y1} in image pixels.)
 */
export interface PixelRect {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
}

/** One masked input: image `image` of the cache with the input box replaced. */
export interface MaskedVariant extends PixelRect {
  /** Index of the unmasked image in the cache's batch. */
  image: number;
  /** The new pixels of the box, row-major (r1−r0)×(c1−c0)×C. Or give `fill`. */
  pixels?: Float32Array;
  /** An H×W×C image the box's new pixels are taken from (the masking fill). */
  fill?: Float32Array;
}

export interface IncrementalOptions {
  /** A node whose changed box covers more than this fraction of its output is recomputed in full (default 0.5). */
  fullFraction?: number;
  /** Variants processed together (bounds memory when many fall back to full passes; default 32). */
  maxBatch?: number;
  /** Filled with counters when given (what was recomputed, for the bench and tests). */
  stats?: IncrementalStats;
}

export interface IncrementalStats {
  /** Σ over variants and conv/pool nodes of the output positions recomputed in a box. */
  patchPositions: number;
  /** Σ over variants and conv/pool nodes of output positions recomputed in full. */
  fullPositions: number;
  /** Σ over variants and conv/pool nodes of output positions a full pass computes. */
  totalPositions: number;
  /** Multiply-adds of Conv2D and Dense layers actually run, summed over variants. */
  macs: number;
  /** Multiply-adds of Conv2D and Dense layers a full pass of every variant runs. */
  fullPassMacs: number;
  /** Op calls made on batched windows (fewer = better batching). */
  windowCalls: number;
  /** The same, per op kind (which paths ran). */
  windowCallsByKind: Record<string, number>;
  /** (variant, node) pairs that fell back to a full computation. */
  fullNodes: number;
}

export function emptyStats(): IncrementalStats {
  return {
    patchPositions: 0,
    fullPositions: 0,
    totalPositions: 0,
    macs: 0,
    fullPassMacs: 0,
    windowCalls: 0,
    windowCallsByKind: {},
    fullNodes: 0,
  };
}

/** Multiply-adds per output position (Conv2D: per output pixel; Dense: per sample); 0 for other ops. */
function macsPerPosition(node: GraphNode): number {
  const op = node.op;
  // A blocked Dense kernel (engine/blocked.ts) has the whole matrix's shape and size too.
  return op.kind === 'conv2d' || op.kind === 'dense' ? op.kernel.size : 0;
}

type State =
  | { kind: 'same' }
  | { kind: 'patch'; box: PixelRect; values: Float32Array } // row-major (r1−r0)×(c1−c0)×C, read-only
  | { kind: 'full'; batch: tf.Tensor; row: number };

const SAME: State = { kind: 'same' };

/** Parameters of a sliding-window op, read without depending on the exact LayerOp union. */
interface WindowParams {
  k: [number, number];
  s: [number, number];
  padding: 'same' | 'valid';
}

const ELEMENTWISE = new Set(['relu', 'identity', 'affine']);
const MERGE = new Set(['add', 'concat']);

function windowParams(node: GraphNode): WindowParams | null {
  const op = node.op as unknown as {
    kind: string;
    kernel?: tf.Tensor;
    strides?: [number, number];
    poolSize?: [number, number];
    padding?: 'same' | 'valid';
  };
  if (op.kind === 'conv2d') return { k: [op.kernel!.shape[0]!, op.kernel!.shape[1]!], s: op.strides!, padding: op.padding! };
  if (op.kind === 'maxpool' || op.kind === 'avgpool') return { k: op.poolSize!, s: op.strides!, padding: op.padding! };
  return null;
}

/** Output positions o whose window [o·s − pad, o·s − pad + k) meets input [a, b), clipped to [0, out). */
export function affectedRange(a: number, b: number, k: number, s: number, padBefore: number, outSize: number): [number, number] {
  const lo = Math.max(0, Math.floor((a + padBefore - k) / s) + 1);
  const hi = Math.min(outSize, Math.ceil((b + padBefore) / s));
  return [lo, Math.max(lo, hi)];
}

const area = (b: PixelRect) => (b.r1 - b.r0) * (b.c1 - b.c0);
const isEmpty = (b: PixelRect) => b.r1 <= b.r0 || b.c1 <= b.c0;
const intersect = (a: PixelRect, b: PixelRect): PixelRect => ({
  r0: Math.max(a.r0, b.r0),
  r1: Math.min(a.r1, b.r1),
  c0: Math.max(a.c0, b.c0),
  c1: Math.min(a.c1, b.c1),
});
const union = (a: PixelRect, b: PixelRect): PixelRect => ({
  r0: Math.min(a.r0, b.r0),
  r1: Math.max(a.r1, b.r1),
  c0: Math.min(a.c0, b.c0),
  c1: Math.max(a.c1, b.c1),
});

/**
 * The cached activations as host arrays, read once per node and call. Windows are cut and
 * patched on the host: on wasm a tf.slice of a small box out of a large activation costs
 * ~7 ms (about a whole 224×224×64 copy), a host row copy microseconds. Reads are steps
 * (engine/reads.ts): `fetch` a node's map (outside any tf.tidy) before `get` uses it.
 */
class HostCache {
  private readonly arrays = new Map<number, Float32Array>();
  constructor(readonly cache: ForwardCache) {}
  *fetch(id: number): Reads<void> {
    if (!this.arrays.has(id)) this.arrays.set(id, yield* read(this.cache.outputs[id]!));
  }
  get(id: number): Float32Array {
    const a = this.arrays.get(id);
    if (!a) throw new Error(`internal: node ${id}'s cached map was not fetched`);
    return a;
  }
}

/**
 * Writes into `dst` at `off` the window `win` (map coordinates, may cross the border) of one
 * variant's H×W×C map: the cached map of `image` (`host`), the variant's changed box pasted
 * over it, and `padValue` outside the map.
 */
function writeWindow(
  dst: Float32Array,
  off: number,
  host: Float32Array,
  image: number,
  shape: number[],
  st: State,
  win: PixelRect,
  padValue: number,
): void {
  const [H, W, C] = shape as [number, number, number];
  const rowLen = (win.c1 - win.c0) * C;
  const base = image * H * W * C;
  const vc0 = Math.max(0, win.c0);
  const vc1 = Math.min(W, win.c1);
  const patch = st.kind === 'patch' ? st : null;
  for (let r = win.r0; r < win.r1; r++) {
    const d = off + (r - win.r0) * rowLen;
    if (r < 0 || r >= H || vc1 <= vc0) {
      dst.fill(padValue, d, d + rowLen);
      continue;
    }
    if (vc0 > win.c0) dst.fill(padValue, d, d + (vc0 - win.c0) * C);
    if (vc1 < win.c1) dst.fill(padValue, d + (vc1 - win.c0) * C, d + rowLen);
    dst.set(host.subarray(base + (r * W + vc0) * C, base + (r * W + vc1) * C), d + (vc0 - win.c0) * C);
    if (patch && r >= patch.box.r0 && r < patch.box.r1) {
      const pc0 = Math.max(patch.box.c0, vc0);
      const pc1 = Math.min(patch.box.c1, vc1);
      if (pc1 > pc0) {
        const src = ((r - patch.box.r0) * (patch.box.c1 - patch.box.c0) + (pc0 - patch.box.c0)) * C;
        dst.set(patch.values.subarray(src, src + (pc1 - pc0) * C), d + (pc0 - win.c0) * C);
      }
    }
  }
}

/**
 * The node's op (conv2d, max/avg pooling) on a stack of windows with 'valid' padding (the windows
 * already hold the padding): applyNode itself, so the numbers match a full pass.
 */
function applyWindowOp(node: GraphNode, x: tf.Tensor4D): tf.Tensor {
  return applyNode({ ...node, op: { ...node.op, padding: 'valid' } as LayerOp }, [x]);
}

interface Chunk {
  cache: ForwardCache;
  host: HostCache;
  variants: MaskedVariant[];
  opts: { fullFraction: number; maxBatch: number };
  stats: IncrementalStats | undefined;
}

/**
 * Logits [variants.length, classes] of every masked variant, computed from `cache` (the forward
 * cache of the unmasked images) by recomputing only the changed regions. The caller disposes
 * the result; the cache is left untouched.
 */
export function incrementalLogits(cache: ForwardCache, variants: MaskedVariant[], options: IncrementalOptions = {}): tf.Tensor2D {
  return tf.tensor2d(runSync(incrementalSteps(cache, variants, options)), [variants.length, cache.graph.numClasses]);
}

/** incrementalLogits on every backend (webgpu under Node cannot read synchronously). */
export async function incrementalLogitsAsync(
  cache: ForwardCache,
  variants: MaskedVariant[],
  options: IncrementalOptions = {},
): Promise<tf.Tensor2D> {
  return tf.tensor2d(await runAsync(incrementalSteps(cache, variants, options)), [variants.length, cache.graph.numClasses]);
}

/** The logits of incrementalLogits on the host, row-major [variants, classes], as read steps. */
export function* incrementalSteps(cache: ForwardCache, variants: MaskedVariant[], options: IncrementalOptions = {}): Reads<Float32Array> {
  const opts = { fullFraction: options.fullFraction ?? 0.5, maxBatch: Math.max(1, options.maxBatch ?? 32) };
  const [H, W, C] = cache.graph.inputShape;
  for (const [i, v] of variants.entries()) {
    if (!Number.isInteger(v.image) || v.image < 0 || v.image >= cache.batch)
      throw new RangeError(`masked variant ${i}: image ${v.image} is not in the cache's batch of ${cache.batch}`);
    if (!(0 <= v.r0 && v.r0 <= v.r1 && v.r1 <= H && 0 <= v.c0 && v.c0 <= v.c1 && v.c1 <= W)) {
      throw new RangeError(
        `masked variant ${i}: region rows [${v.r0}, ${v.r1}) × columns [${v.c0}, ${v.c1}) is not inside the ${H}×${W} input`,
      );
    }
    if (v.pixels) {
      const want = (v.r1 - v.r0) * (v.c1 - v.c0) * C;
      if (v.pixels.length !== want)
        throw new RangeError(`masked variant ${i}: ${v.pixels.length} pixel values given, the region needs ${want}`);
    } else if (!v.fill || v.fill.length !== H * W * C) {
      throw new RangeError(`masked variant ${i}: give 'pixels' for the region or a ${H}×${W}×${C} 'fill' image`);
    }
  }
  const k = cache.graph.numClasses;
  const out = new Float32Array(variants.length * k);
  const host = new HostCache(cache);
  for (let s = 0; s < variants.length; s += opts.maxBatch) {
    out.set(yield* runChunk({ cache, host, variants: variants.slice(s, s + opts.maxBatch), opts, stats: options.stats }), s * k);
  }
  return out;
}

/** Input pixels of a variant's box, row-major h×w×C. */
function regionPixels(v: MaskedVariant, W: number, C: number): Float32Array {
  if (v.pixels) return v.pixels;
  const h = v.r1 - v.r0;
  const w = v.c1 - v.c0;
  const out = new Float32Array(h * w * C);
  for (let r = 0; r < h; r++) out.set(v.fill!.subarray(((v.r0 + r) * W + v.c0) * C, ((v.r0 + r) * W + v.c1) * C), r * w * C);
  return out;
}

/** The chunk's logits, row-major [variants, classes]. */
function* runChunk(chunk: Chunk): Reads<Float32Array> {
  const { cache, host, variants } = chunk;
  const graph = cache.graph;
  const states: (State[] | null)[] = graph.nodes.map(() => null);
  const owned: (tf.Tensor | null)[] = graph.nodes.map(() => null);
  const remaining = graph.nodes.map(() => 0);
  for (const node of graph.nodes) for (const i of node.inputs) remaining[i]!++;
  remaining[graph.outputId]!++;
  const release = (id: number) => {
    if (--remaining[id]! === 0) {
      owned[id]?.dispose();
      owned[id] = null;
      states[id] = null;
    }
  };
  try {
    for (const node of graph.nodes) {
      const result = yield* computeNode(chunk, node, states);
      states[node.id] = result.states;
      owned[node.id] = result.full;
      for (const i of node.inputs) release(i);
    }
    const k = graph.numClasses;
    const outStates = states[graph.outputId]!;
    const out = new Float32Array(variants.length * k);
    const fullData = owned[graph.outputId] ? yield* read(owned[graph.outputId]!) : null;
    if (outStates.some((st) => st.kind !== 'full')) yield* host.fetch(graph.outputId);
    const shape = graph.nodes[graph.outputId]!.outputShape;
    outStates.forEach((st, j) => {
      const image = variants[j]!.image;
      if (st.kind === 'full') out.set(fullData!.subarray(st.row * k, (st.row + 1) * k), j * k);
      else if (st.kind === 'same') out.set(host.get(graph.outputId).subarray(image * k, (image + 1) * k), j * k);
      else writeWindow(out, j * k, host.get(graph.outputId), image, shape, st, { r0: 0, r1: shape[0]!, c0: 0, c1: shape[1]! }, 0);
    });
    return out;
  } finally {
    for (const t of owned) t?.dispose();
  }
}

interface NodeResult {
  states: State[];
  /** The batch tensor of the variants computed in full here (disposed when the node's consumers are done). */
  full: tf.Tensor | null;
}

function* computeNode(chunk: Chunk, node: GraphNode, states: (State[] | null)[]): Reads<NodeResult> {
  const { cache, host, variants, opts, stats } = chunk;
  const graph = cache.graph;
  const kind = node.op.kind as string;
  const n = variants.length;
  const out: State[] = new Array<State>(n).fill(SAME);
  const needFull: number[] = [];
  const outShape = node.outputShape;
  const spatialOut = outShape.length === 3;
  const [oh, ow] = spatialOut ? [outShape[0]!, outShape[1]!] : [0, 0];

  if (kind === 'input') {
    const [, W, C] = graph.inputShape;
    variants.forEach((v, j) => {
      if (!isEmpty(v)) out[j] = { kind: 'patch', box: { r0: v.r0, r1: v.r1, c0: v.c0, c1: v.c1 }, values: regionPixels(v, W, C) };
    });
    return { states: out, full: null };
  }

  const inStates = node.inputs.map((i) => states[i]!);
  const inShapes = node.inputs.map((i) => graph.nodes[i]!.outputShape);
  const win = windowParams(node);
  const mac = macsPerPosition(node);
  const positions = spatialOut ? oh * ow : 1;
  // Accounting for the bench: `done` output positions recomputed (of `positions`), for one variant.
  const counts = (done: number, full: boolean) => {
    if (!stats) return;
    stats.fullPassMacs += mac * positions;
    stats.macs += mac * (full ? positions : done);
    if (!win) return;
    stats.totalPositions += positions;
    if (full) stats.fullPositions += positions;
    else stats.patchPositions += done;
  };

  // Per variant: same / box / full, and for a box the input window(s) it is computed from.
  const groups = new Map<string, { j: number; box: PixelRect; windows: PixelRect[] }[]>();
  for (let j = 0; j < n; j++) {
    const ins = inStates.map((s) => s[j]!);
    if (ins.every((s) => s.kind === 'same')) {
      counts(0, false);
      continue;
    }
    if (!spatialOut || inShapes.some((s) => s.length !== 3) || ins.some((s) => s.kind === 'full')) {
      needFull.push(j);
      continue;
    }
    const inShape = inShapes[0]!;
    const patches = ins.filter((s): s is Extract<State, { kind: 'patch' }> => s.kind === 'patch');
    let box: PixelRect;
    let windows: PixelRect[];
    if (win) {
      const b = patches[0]!.box;
      const [ph] = forwardPads(inShape[0]!, win.k[0], win.s[0], win.padding);
      const [pw] = forwardPads(inShape[1]!, win.k[1], win.s[1], win.padding);
      const [r0, r1] = affectedRange(b.r0, b.r1, win.k[0], win.s[0], ph, oh);
      const [c0, c1] = affectedRange(b.c0, b.c1, win.k[1], win.s[1], pw, ow);
      box = { r0, r1, c0, c1 };
      if (isEmpty(box)) {
        counts(0, false); // e.g. a stride that skips the changed rows: the output is unchanged
        continue;
      }
      const w0: PixelRect = {
        r0: r0 * win.s[0] - ph,
        r1: (r1 - 1) * win.s[0] - ph + win.k[0],
        c0: c0 * win.s[1] - pw,
        c1: (c1 - 1) * win.s[1] - pw + win.k[1],
      };
      // Average pooling's 'same' padding is excluded from the count, which explicit padding cannot
      // reproduce: such a window crossing the border is computed in full.
      const crossesBorder = w0.r0 < 0 || w0.c0 < 0 || w0.r1 > inShape[0]! || w0.c1 > inShape[1]!;
      if ((kind === 'avgpool' && crossesBorder) || area(box) > opts.fullFraction * oh * ow) {
        needFull.push(j);
        continue;
      }
      windows = [w0];
      counts(area(box), false);
    } else if (ELEMENTWISE.has(kind) || MERGE.has(kind)) {
      if (inShapes.some((s) => s[0] !== oh || s[1] !== ow)) {
        needFull.push(j);
        continue;
      }
      box = patches.map((p) => p.box).reduce(union);
      windows = ins.map(() => box);
    } else if (kind === 'pad' || kind === 'crop') {
      // Pixels only move: shift the box; the values are the input's (cut where a crop cuts).
      const op = node.op as unknown as { pads?: [[number, number], [number, number]]; crops?: [[number, number], [number, number]] };
      const [dr, dc] = kind === 'pad' ? [op.pads![0][0], op.pads![1][0]] : [-op.crops![0][0], -op.crops![1][0]];
      const p = patches[0]!;
      const moved = { r0: p.box.r0 + dr, r1: p.box.r1 + dr, c0: p.box.c0 + dc, c1: p.box.c1 + dc };
      const kept = intersect(moved, { r0: 0, r1: oh, c0: 0, c1: ow });
      if (isEmpty(kept)) continue;
      if (area(kept) === area(moved)) {
        out[j] = { kind: 'patch', box: kept, values: p.values }; // shared: values are never written
      } else {
        const C = outShape[2]!;
        const values = new Float32Array(area(kept) * C);
        writeWindow(
          values,
          0,
          p.values,
          0,
          [p.box.r1 - p.box.r0, p.box.c1 - p.box.c0, C],
          SAME,
          { r0: kept.r0 - moved.r0, r1: kept.r1 - moved.r0, c0: kept.c0 - moved.c0, c1: kept.c1 - moved.c0 },
          0,
        );
        out[j] = { kind: 'patch', box: kept, values };
      }
      continue;
    } else {
      needFull.push(j); // an op kind this module does not know: computed in full from here on
      continue;
    }
    const key = windows.map((w) => `${w.r1 - w.r0}x${w.c1 - w.c0}`).join('|');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push({ j, box, windows });
  }

  // Boxes: one op call per window shape, windows stacked on the batch axis, built on the host.
  const padValue = kind === 'maxpool' ? -Infinity : 0;
  if (groups.size > 0) for (const id of node.inputs) yield* host.fetch(id);
  for (const members of groups.values()) {
    const y = tf.tidy(() => {
      const inputs = node.inputs.map((id, k) => {
        const w0 = members[0]!.windows[k]!;
        const [wh, ww, C] = [w0.r1 - w0.r0, w0.c1 - w0.c0, inShapes[k]![2]!];
        const per = wh * ww * C;
        const data = new Float32Array(members.length * per);
        members.forEach((m, r) =>
          writeWindow(data, r * per, host.get(id), variants[m.j]!.image, inShapes[k]!, inStates[k]![m.j]!, m.windows[k]!, padValue),
        );
        return tf.tensor4d(data, [members.length, wh, ww, C]);
      });
      return win ? applyWindowOp(node, inputs[0] as tf.Tensor4D) : applyNode(node, inputs);
    });
    let data: Float32Array;
    try {
      data = yield* read(y);
    } finally {
      y.dispose();
    }
    if (stats) {
      stats.windowCalls++;
      stats.windowCallsByKind[kind] = (stats.windowCallsByKind[kind] ?? 0) + 1;
    }
    const per = data.length / members.length;
    members.forEach((m, r) => (out[m.j] = { kind: 'patch', box: m.box, values: data.subarray(r * per, (r + 1) * per) }));
  }

  // Full: every such variant's whole inputs, stacked, through the ordinary forward op.
  let full: tf.Tensor | null = null;
  if (needFull.length > 0) {
    for (const [k, id] of node.inputs.entries()) if (needFull.some((j) => inStates[k]![j]!.kind !== 'full')) yield* host.fetch(id);
    if (stats) {
      stats.fullNodes += needFull.length;
      for (let i = 0; i < needFull.length; i++) counts(0, true);
    }
    full = tf.tidy(() => {
      const inputs = node.inputs.map((id, k) => {
        const sts = needFull.map((j) => inStates[k]![j]!);
        // The common tail case (Flatten → Dense → …): the input is already this exact batch.
        const first = sts[0]!;
        if (
          first.kind === 'full' &&
          first.batch.shape[0] === sts.length &&
          sts.every((s, r) => s.kind === 'full' && s.batch === first.batch && s.row === r)
        )
          return first.batch;
        const shape = inShapes[k]!;
        const per = shape.reduce((a, b) => a * b, 1);
        const rows = needFull.map((j, r) => {
          const st = sts[r]!;
          if (st.kind === 'full') return tf.slice(st.batch, st.row, 1);
          const data = new Float32Array(per);
          const image = variants[j]!.image;
          if (shape.length === 3) writeWindow(data, 0, host.get(id), image, shape, st, { r0: 0, r1: shape[0]!, c0: 0, c1: shape[1]! }, 0);
          else data.set(host.get(id).subarray(image * per, (image + 1) * per));
          return tf.tensor(data, [1, ...shape]);
        });
        return rows.length === 1 ? rows[0]! : tf.concat(rows, 0);
      });
      const y = applyNode(node, inputs);
      // An identity hands back its input, which another node owns: own a copy.
      return inputs.includes(y) ? tf.clone(y) : y;
    });
    needFull.forEach((j, r) => (out[j] = { kind: 'full', batch: full!, row: r }));
  }
  return { states: out, full };
}
