import type { Graph } from '../../engine/graph.js';

/**
 * An independent float64 implementation of the forward pass and of every LRP rule, with each
 * conv layer written out as an explicit dense matrix (built by loops over the convolution's
 * definition, TF 'same' padding included). Tests compare the engine against it.
 */

interface DenseLayer {
  kind: 'linear';
  /** M[j][i]: output j, input i. */
  m: Float64Array[];
  b: Float64Array;
  relu: boolean;
  nIn: number;
}
interface PoolLayer {
  kind: 'pool';
  /** windows[j] = input indices of output j's window, in row-major window order. */
  windows: number[][];
  nIn: number;
}
interface PassLayer {
  kind: 'pass';
  relu: boolean;
}
type RefLayer = DenseLayer | PoolLayer | PassLayer;

function flat(t: { dataSync(): ArrayLike<number> }): Float64Array {
  return Float64Array.from(t.dataSync());
}

function tfPad(inSize: number, k: number, s: number, same: boolean): number {
  if (!same) return 0;
  const out = Math.ceil(inSize / s);
  return Math.floor(Math.max((out - 1) * s + k - inSize, 0) / 2);
}

export function denseLayers(graph: Graph): RefLayer[] {
  const layers: RefLayer[] = [];
  for (const node of graph.nodes.slice(1, graph.outputId + 1)) {
    const inShape = graph.nodes[node.inputs[0]!]!.outputShape;
    const outShape = node.outputShape;
    const nIn = inShape.reduce((a, b) => a * b, 1);
    const op = node.op;
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
                for (let co = 0; co < cout; co++) m[(oy * Wo + ox) * cout + co]![(iy * W + ix) * cin + ci]! += w[((u * kw + v) * cin + ci) * cout + co]!;
            }
      const b = new Float64Array(Ho * Wo * cout);
      if (op.bias) {
        const bb = flat(op.bias);
        for (let j = 0; j < b.length; j++) b[j] = bb[j % cout]!;
      }
      layers.push({ kind: 'linear', m, b, relu: op.activation === 'relu', nIn });
    } else if (op.kind === 'dense') {
      const [nI, nO] = op.kernel.shape;
      const w = flat(op.kernel);
      const m = Array.from({ length: nO }, (_, j) => Float64Array.from({ length: nI }, (_, i) => w[i * nO + j]!));
      layers.push({ kind: 'linear', m, b: op.bias ? flat(op.bias) : new Float64Array(nO), relu: op.activation === 'relu', nIn: nI });
    } else if (op.kind === 'maxpool') {
      const [H, W, C] = inShape as [number, number, number];
      const [Ho, Wo] = outShape as [number, number, number];
      const [kh, kw] = op.poolSize;
      const pt = tfPad(H, kh, op.strides[0], op.padding === 'same');
      const pl = tfPad(W, kw, op.strides[1], op.padding === 'same');
      const windows: number[][] = [];
      for (let oy = 0; oy < Ho; oy++)
        for (let ox = 0; ox < Wo; ox++)
          for (let c = 0; c < C; c++) {
            const win: number[] = [];
            for (let u = 0; u < kh; u++)
              for (let v = 0; v < kw; v++) {
                const iy = oy * op.strides[0] + u - pt;
                const ix = ox * op.strides[1] + v - pl;
                if (iy >= 0 && iy < H && ix >= 0 && ix < W) win.push((iy * W + ix) * C + c);
              }
            windows.push(win);
          }
      layers.push({ kind: 'pool', windows, nIn });
    } else layers.push({ kind: 'pass', relu: op.kind === 'relu' });
  }
  return layers;
}

/** Forward pass: activations[0] = input, activations[l+1] = output of layer l. */
export function denseForward(layers: RefLayer[], x: ArrayLike<number>): Float64Array[] {
  const acts = [Float64Array.from(x)];
  for (const l of layers) {
    const a = acts[acts.length - 1]!;
    if (l.kind === 'linear') {
      acts.push(
        Float64Array.from(l.m, (row, j) => {
          let s = l.b[j]!;
          for (let i = 0; i < a.length; i++) s += row[i]! * a[i]!;
          return l.relu ? Math.max(s, 0) : s;
        }),
      );
    } else if (l.kind === 'pool') acts.push(Float64Array.from(l.windows, (w) => Math.max(...w.map((i) => a[i]!))));
    else acts.push(l.relu ? a.map((v) => Math.max(v, 0)) : a.slice());
  }
  return acts;
}

export type RefRule = { kind: 'zplus'; bias: boolean; eps: number } | { kind: 'zb'; low: number; high: number; eps: number } | { kind: 'epsilon'; eps: number };

/** LRP with the given rule for the first linear layer and for the others. */
export function denseLrp(layers: RefLayer[], x: ArrayLike<number>, seed: ArrayLike<number>, first: RefRule, rest: RefRule): Float64Array {
  const acts = denseForward(layers, x);
  let r = Float64Array.from(seed);
  const firstLinear = layers.findIndex((l) => l.kind === 'linear');
  for (let li = layers.length - 1; li >= 0; li--) {
    const l = layers[li]!;
    const a = acts[li]!;
    if (l.kind === 'pass') continue;
    if (l.kind === 'pool') {
      const rin = new Float64Array(l.nIn);
      l.windows.forEach((w, j) => {
        let best = w[0]!;
        for (const i of w) if (a[i]! > a[best]!) best = i;
        rin[best]! += r[j]!;
      });
      r = rin;
      continue;
    }
    const rule = li === firstLinear ? first : rest;
    const rin = new Float64Array(l.nIn);
    l.m.forEach((row, j) => {
      let z = 0;
      if (rule.kind === 'zb') {
        for (let i = 0; i < a.length; i++) z += row[i]! * a[i]! - Math.max(row[i]!, 0) * rule.low - Math.min(row[i]!, 0) * rule.high;
        z += rule.eps;
        const s = r[j]! / z;
        for (let i = 0; i < a.length; i++) rin[i]! += (a[i]! * row[i]! - rule.low * Math.max(row[i]!, 0) - rule.high * Math.min(row[i]!, 0)) * s;
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
    r = rin;
  }
  return r;
}
