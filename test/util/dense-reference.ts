import { BlockedMatrix, type DenseKernel } from '../../engine/blocked.js';
import type { Graph } from '../../engine/graph.js';

/**
 * An independent float64 implementation of the forward pass and of every LRP rule, with each
 * conv layer written out as an explicit dense matrix (built by loops over the convolution's
 * definition, TF 'same' padding included) and every other layer as explicit index lists. It
 * walks DAGs (Add, Concatenate, residual shortcuts) by node id, summing relevance where an
 * output feeds several layers. Tests compare the engine against it.
 */

interface Wiring {
  /** The graph node this layer computes, and the node ids it reads. */
  id: number;
  inputs: number[];
}
interface DenseLayer extends Wiring {
  kind: 'linear';
  /** Which layer kind it came from (composites may give Conv2D and Dense different rules). */
  layer: 'conv2d' | 'dense';
  /** M[j][i]: output j, input i. */
  m: Float64Array[];
  b: Float64Array;
  relu: boolean;
  nIn: number;
}
interface PoolLayer extends Wiring {
  kind: 'pool';
  /** windows[j] = input indices of output j's window, in row-major window order (padding left out). */
  windows: number[][];
  nIn: number;
}
interface AvgLayer extends Wiring {
  kind: 'avg';
  windows: number[][];
  nIn: number;
}
interface PassLayer extends Wiring {
  kind: 'pass';
  relu: boolean;
}
interface AddLayer extends Wiring {
  kind: 'add';
}
/** Pure data movement (ZeroPadding2D, Cropping2D, Concatenate): output j = input[slot][index], or 0. */
interface RouteLayer extends Wiring {
  kind: 'route';
  sources: ([number, number] | null)[];
}
interface AffineLayer extends Wiring {
  kind: 'affine';
  a: Float64Array;
  c: Float64Array;
}
type RefLayer = DenseLayer | PoolLayer | AvgLayer | PassLayer | AddLayer | RouteLayer | AffineLayer;

function flat(t: { dataSync(): ArrayLike<number> }): Float64Array {
  return Float64Array.from(t.dataSync());
}

/** A Dense kernel's values row-major [in, out], joining the column blocks of a blocked one. */
function flatKernel(k: DenseKernel): Float64Array {
  if (!(k instanceof BlockedMatrix)) return flat(k);
  const [rows, cols] = k.shape;
  const out = new Float64Array(rows * cols);
  k.blocks.forEach((b, j) => {
    const w = b.shape[1];
    const d = b.dataSync();
    for (let r = 0; r < rows; r++) for (let c = 0; c < w; c++) out[r * cols + k.offsets[j]! + c] = d[r * w + c]!;
  });
  return out;
}

function tfPad(inSize: number, k: number, s: number, same: boolean): number {
  if (!same) return 0;
  const out = Math.ceil(inSize / s);
  return Math.floor(Math.max((out - 1) * s + k - inSize, 0) / 2);
}

function poolWindows(inShape: number[], outShape: number[], k: [number, number], s: [number, number], same: boolean): number[][] {
  const [H, W, C] = inShape as [number, number, number];
  const [Ho, Wo] = outShape as [number, number, number];
  const pt = tfPad(H, k[0], s[0], same);
  const pl = tfPad(W, k[1], s[1], same);
  const windows: number[][] = [];
  for (let oy = 0; oy < Ho; oy++)
    for (let ox = 0; ox < Wo; ox++)
      for (let c = 0; c < C; c++) {
        const win: number[] = [];
        for (let u = 0; u < k[0]; u++)
          for (let v = 0; v < k[1]; v++) {
            const iy = oy * s[0] + u - pt;
            const ix = ox * s[1] + v - pl;
            if (iy >= 0 && iy < H && ix >= 0 && ix < W) win.push((iy * W + ix) * C + c);
          }
        windows.push(win);
      }
  return windows;
}

/** Output (y, x, c) of a [Ho, Wo, C] map reads input (y + dy, x + dx, c) of an [H, W, C] map, or nothing. */
function shiftRoute(inShape: number[], outShape: number[], dy: number, dx: number): ([number, number] | null)[] {
  const [H, W] = inShape as [number, number, number];
  const [Ho, Wo, C] = outShape as [number, number, number];
  const out: ([number, number] | null)[] = [];
  for (let y = 0; y < Ho; y++)
    for (let x = 0; x < Wo; x++)
      for (let c = 0; c < C; c++) {
        const iy = y + dy;
        const ix = x + dx;
        out.push(iy >= 0 && iy < H && ix >= 0 && ix < W ? [0, (iy * W + ix) * C + c] : null);
      }
  return out;
}

export function denseLayers(graph: Graph): RefLayer[] {
  const layers: RefLayer[] = [];
  for (const node of graph.nodes.slice(1, graph.outputId + 1)) {
    const inShape = graph.nodes[node.inputs[0]!]!.outputShape;
    const outShape = node.outputShape;
    const nIn = inShape.reduce((a, b) => a * b, 1);
    const op = node.op;
    const wiring = { id: node.id, inputs: node.inputs };
    if (op.kind === 'conv2d') {
      const [kh, kw, cin, cout] = op.kernel.shape;
      const w = flat(op.kernel);
      const [H, W] = inShape as [number, number, number];
      const [Ho, Wo] = outShape as [number, number, number];
      const pt = tfPad(H, kh, op.strides[0], op.padding === 'same');
      const pl = tfPad(W, kw, op.strides[1], op.padding === 'same');
      const m = Array.from({ length: Ho * Wo * cout }, () => new Float64Array(nIn));
      for (let oy = 0; oy < Ho; oy++)
        for (let ox = 0; ox < Wo; ox++)
          for (let u = 0; u < kh; u++)
            for (let v = 0; v < kw; v++) {
              const iy = oy * op.strides[0] + u - pt;
              const ix = ox * op.strides[1] + v - pl;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              for (let ci = 0; ci < cin; ci++)
                for (let co = 0; co < cout; co++)
                  m[(oy * Wo + ox) * cout + co]![(iy * W + ix) * cin + ci]! += w[((u * kw + v) * cin + ci) * cout + co]!;
            }
      const b = new Float64Array(Ho * Wo * cout);
      if (op.bias) {
        const bb = flat(op.bias);
        for (let j = 0; j < b.length; j++) b[j] = bb[j % cout]!;
      }
      layers.push({ ...wiring, kind: 'linear', layer: 'conv2d', m, b, relu: op.activation === 'relu', nIn });
    } else if (op.kind === 'dense') {
      const [nI, nO] = op.kernel.shape;
      const w = flatKernel(op.kernel);
      const m = Array.from({ length: nO }, (_, j) => Float64Array.from({ length: nI }, (_, i) => w[i * nO + j]!));
      layers.push({
        ...wiring,
        kind: 'linear',
        layer: 'dense',
        m,
        b: op.bias ? flat(op.bias) : new Float64Array(nO),
        relu: op.activation === 'relu',
        nIn: nI,
      });
    } else if (op.kind === 'maxpool' || op.kind === 'avgpool') {
      const windows = poolWindows(inShape, outShape, op.poolSize, op.strides, op.padding === 'same');
      layers.push(op.kind === 'maxpool' ? { ...wiring, kind: 'pool', windows, nIn } : { ...wiring, kind: 'avg', windows, nIn });
    } else if (op.kind === 'gap') {
      const [H, W, C] = inShape as [number, number, number];
      const windows = Array.from({ length: C }, (_, c) => Array.from({ length: H * W }, (_, p) => p * C + c));
      layers.push({ ...wiring, kind: 'avg', windows, nIn });
    } else if (op.kind === 'pad') {
      layers.push({ ...wiring, kind: 'route', sources: shiftRoute(inShape, outShape, -op.pads[0][0], -op.pads[1][0]) });
    } else if (op.kind === 'crop') {
      layers.push({ ...wiring, kind: 'route', sources: shiftRoute(inShape, outShape, op.crops[0][0], op.crops[1][0]) });
    } else if (op.kind === 'concat') {
      const widths = node.inputs.map((i) => graph.nodes[i]!.outputShape.at(-1)!);
      const C = outShape.at(-1)!;
      const pixels = outShape.reduce((a, b) => a * b, 1) / C;
      const sources: [number, number][] = [];
      for (let p = 0; p < pixels; p++)
        widths.forEach((w, slot) => {
          for (let c = 0; c < w; c++) sources.push([slot, p * w + c]);
        });
      layers.push({ ...wiring, kind: 'route', sources });
    } else if (op.kind === 'add') {
      layers.push({ ...wiring, kind: 'add' });
    } else if (op.kind === 'affine') {
      const scale = flat(op.scale);
      const shift = flat(op.shift);
      const n = outShape.reduce((a, b) => a * b, 1);
      const C = scale.length;
      layers.push({
        ...wiring,
        kind: 'affine',
        a: Float64Array.from({ length: n }, (_, j) => scale[j % C]!),
        c: Float64Array.from({ length: n }, (_, j) => shift[j % C]!),
      });
    } else layers.push({ ...wiring, kind: 'pass', relu: op.kind === 'relu' });
  }
  return layers;
}

/** Forward pass: activations[id] = output of graph node id (activations[0] = the input). */
export function denseForward(layers: RefLayer[], x: ArrayLike<number>): Float64Array<ArrayBufferLike>[] {
  const acts: Float64Array<ArrayBufferLike>[] = [Float64Array.from(x)];
  for (const l of layers) {
    const a = acts[l.inputs[0]!]!;
    let out: Float64Array<ArrayBufferLike>;
    if (l.kind === 'linear') {
      out = Float64Array.from(l.m, (row, j) => {
        let s = l.b[j]!;
        for (let i = 0; i < a.length; i++) s += row[i]! * a[i]!;
        return l.relu ? Math.max(s, 0) : s;
      });
    } else if (l.kind === 'pool') out = Float64Array.from(l.windows, (w) => Math.max(...w.map((i) => a[i]!)));
    else if (l.kind === 'avg') out = Float64Array.from(l.windows, (w) => w.reduce((s, i) => s + a[i]!, 0) / w.length);
    else if (l.kind === 'add') out = a.map((_, j) => l.inputs.reduce((s, id) => s + acts[id]![j]!, 0));
    else if (l.kind === 'route') out = Float64Array.from(l.sources, (src) => (src ? acts[l.inputs[src[0]]!]![src[1]]! : 0));
    else if (l.kind === 'affine') out = a.map((v, j) => l.a[j]! * v + l.c[j]!);
    else out = l.relu ? a.map((v) => Math.max(v, 0)) : a.slice();
    acts[l.id] = out;
  }
  return acts;
}

export type RefRule =
  { kind: 'zplus'; bias: boolean; eps: number } | { kind: 'zb'; low: number; high: number; eps: number } | { kind: 'epsilon'; eps: number };

/**
 * Rules of the parameter-free layers: the stabiliser of Add/average-pooling denominators (signed
 * ε, or exact zeros replaced). An affine (unfolded BN) always passes relevance through unchanged
 * (docs/PROTOCOL.md §1). Default: the paper composite's (signed ε = 1e-9).
 */
export interface RefMergeRules {
  split: { kind: 'eps'; eps: number } | { kind: 'zero'; value: number };
}

/** The rules of the linear layers after the first: one for all, or one per layer kind. */
export type RefRest = RefRule | { conv2d: RefRule; dense: RefRule };

/** LRP with the given rule for the first linear layer and for the others. */
export function denseLrp(
  layers: RefLayer[],
  x: ArrayLike<number>,
  seed: ArrayLike<number>,
  first: RefRule,
  rest: RefRest,
  merge: RefMergeRules = { split: { kind: 'eps', eps: 1e-9 } },
): Float64Array<ArrayBufferLike> {
  const acts = denseForward(layers, x);
  const stab = (z: number) => (merge.split.kind === 'eps' ? z + (z >= 0 ? 1 : -1) * merge.split.eps : z === 0 ? merge.split.value : z);
  const firstLinear = layers.find((l) => l.kind === 'linear')!;
  // zB's bound images, padded like the input the first layer sees (0 on ZeroPadding2D's border).
  const boundMask = pixelMask(layers, firstLinear, x.length);
  const rs: (Float64Array<ArrayBufferLike> | undefined)[] = [];
  rs[layers[layers.length - 1]!.id] = Float64Array.from(seed);
  const give = (id: number, r: Float64Array<ArrayBufferLike>) => {
    const prev = rs[id];
    if (prev) for (let i = 0; i < r.length; i++) prev[i]! += r[i]!;
    else rs[id] = r;
  };
  for (let li = layers.length - 1; li >= 0; li--) {
    const l = layers[li]!;
    const r = rs[l.id];
    if (!r) continue;
    const a = acts[l.inputs[0]!]!;
    const y = acts[l.id]!;
    if (l.kind === 'pass') {
      give(l.inputs[0]!, r.slice());
      continue;
    }
    if (l.kind === 'pool') {
      const rin = new Float64Array(l.nIn);
      l.windows.forEach((w, j) => {
        let best = w[0]!;
        for (const i of w) if (a[i]! > a[best]!) best = i;
        rin[best]! += r[j]!;
      });
      give(l.inputs[0]!, rin);
      continue;
    }
    if (l.kind === 'avg') {
      const rin = new Float64Array(l.nIn);
      l.windows.forEach((w, j) => {
        for (const i of w) rin[i]! += ((a[i]! / w.length) * r[j]!) / stab(y[j]!);
      });
      give(l.inputs[0]!, rin);
      continue;
    }
    if (l.kind === 'add') {
      for (const id of l.inputs)
        give(
          id,
          acts[id]!.map((v, j) => (v * r[j]!) / stab(y[j]!)),
        );
      continue;
    }
    if (l.kind === 'route') {
      const rin = l.inputs.map((id) => new Float64Array(acts[id]!.length));
      l.sources.forEach((src, j) => {
        if (src) rin[src[0]]![src[1]]! += r[j]!;
      });
      l.inputs.forEach((id, slot) => give(id, rin[slot]!));
      continue;
    }
    if (l.kind === 'affine') {
      give(l.inputs[0]!, r.slice()); // R_in = R: one output per input, nothing to split
      continue;
    }
    const rule = l === firstLinear ? first : 'kind' in rest ? rest : rest[l.layer];
    const rin = new Float64Array(l.nIn);
    l.m.forEach((row, j) => {
      let z = 0;
      if (rule.kind === 'zb') {
        const lo = (i: number) => rule.low * boundMask[i]!;
        const hi = (i: number) => rule.high * boundMask[i]!;
        for (let i = 0; i < a.length; i++) z += row[i]! * a[i]! - Math.max(row[i]!, 0) * lo(i) - Math.min(row[i]!, 0) * hi(i);
        z += rule.eps;
        const s = r[j]! / z;
        for (let i = 0; i < a.length; i++) rin[i]! += (a[i]! * row[i]! - lo(i) * Math.max(row[i]!, 0) - hi(i) * Math.min(row[i]!, 0)) * s;
        return;
      }
      const wmod = (w: number) => (rule.kind === 'zplus' ? Math.max(w, 0) : w);
      for (let i = 0; i < a.length; i++) z += wmod(row[i]!) * a[i]!;
      if (rule.kind === 'zplus') {
        if (rule.bias) {
          z += l.b[j]!;
          if (z === 0) z = 1e-7;
        } else z += rule.eps;
      } else {
        z += l.b[j]!;
        z += (z >= 0 ? 1 : -1) * rule.eps;
      }
      const s = r[j]! / z;
      for (let i = 0; i < a.length; i++) rin[i]! += a[i]! * wmod(row[i]!) * s;
    });
    give(l.inputs[0]!, rin);
  }
  return rs[0] ?? new Float64Array(x.length);
}

/** 1 where the first linear layer's input holds a real pixel, 0 on padding added on the way from the model input. */
function pixelMask(layers: RefLayer[], first: RefLayer, nIn: number): Float64Array<ArrayBufferLike> {
  const byId = new Map(layers.map((l) => [l.id, l]));
  const ones = denseForward(layers, new Float64Array(nIn).fill(1))[first.inputs[0]!]!;
  for (let id = first.inputs[0]!; id !== 0;) {
    const l = byId.get(id)!;
    if (!(l.kind === 'route' || (l.kind === 'pass' && !l.relu)) || l.inputs.length !== 1) return ones.map(() => 1);
    id = l.inputs[0]!;
  }
  return ones;
}
