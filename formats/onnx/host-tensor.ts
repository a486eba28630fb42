/**
 * Small host-side tensors: ONNX initializers and the values of constant subgraphs while they are
 * folded at load time (formats/onnx/fold.ts). Row-major, with NCHW-style ONNX dims.
 */
export interface HostTensor {
  /** 'float' for every floating type (kept as float32 values), 'int' for integer and bool types. */
  dtype: 'float' | 'int';
  dims: number[];
  data: Float32Array | number[];
}

export const sizeOf = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** Row-major strides of `dims`. */
export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
}

export function makeTensor(dtype: HostTensor['dtype'], dims: number[], values: ArrayLike<number>): HostTensor {
  const data = dtype === 'float' ? Float32Array.from(values) : Array.from(values, (v) => Math.trunc(v));
  if (data.length !== sizeOf(dims)) throw new Error(`internal: ${data.length} values for dims [${dims.join(', ')}]`);
  return { dtype, dims, data };
}

/** A 1-D int tensor's values (shapes, axes, pads), or a scalar's one value in an array. */
export function intsOf(t: HostTensor): number[] {
  return Array.from(t.data, (v) => Math.trunc(v));
}

/** Gathers `t` into a new tensor of shape `outDims`, where `src(index)` is the source flat index of output multi-index `index`. */
export function remap(t: HostTensor, outDims: number[], src: (index: number[]) => number): HostTensor {
  const n = sizeOf(outDims);
  const out = new Array<number>(n);
  const idx = new Array<number>(outDims.length).fill(0);
  for (let k = 0; k < n; k++) {
    out[k] = t.data[src(idx)]!;
    for (let d = outDims.length - 1; d >= 0; d--) {
      if (++idx[d]! < outDims[d]!) break;
      idx[d] = 0;
    }
  }
  return makeTensor(t.dtype, outDims, out);
}

/** Numpy-style broadcast of several shapes; throws naming `what` when they do not broadcast. */
export function broadcastDims(shapes: number[][], what: string): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const d = s[s.length - 1 - i]!;
      const o = rank - 1 - i;
      if (out[o] === 1) out[o] = d;
      else if (d !== 1 && d !== out[o])
        throw new Error(`${what}: shapes ${shapes.map((x) => `[${x.join(', ')}]`).join(' and ')} do not broadcast`);
    }
  }
  return out;
}

/** Flat index into a tensor of `dims` broadcast to `outDims`, for an output multi-index. */
export function broadcastIndex(dims: number[], outDims: number[], index: number[]): number {
  const strides = stridesOf(dims);
  const off = outDims.length - dims.length;
  let k = 0;
  for (let i = 0; i < dims.length; i++) if (dims[i] !== 1) k += index[off + i]! * strides[i]!;
  return k;
}
