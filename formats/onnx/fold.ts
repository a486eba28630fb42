import { Attrs, OnnxLoadError, tensorValues, type OnnxNode } from './proto.js';
import { broadcastDims, broadcastIndex, intsOf, makeTensor, remap, sizeOf, stridesOf, type HostTensor } from './host-tensor.js';

/**
 * Constant folding: evaluates a node whose inputs are all constants (initializers, Constant
 * nodes, or shapes known at load time) on the host. PyTorch's exports compute reshape targets
 * and pads this way (`torch.flatten`: Shape→Gather→Unsqueeze→Concat; `ZeroPad2d`:
 * ConstantOfShape→Concat→Reshape→Slice→Transpose→Cast), so folding every all-constant node, in
 * general, leaves only the layers of the network.
 */

/** The ops this module can evaluate on constants. */
export const FOLDABLE_OPS = [
  'Constant',
  'Identity',
  'Cast',
  'Gather',
  'Unsqueeze',
  'Squeeze',
  'Concat',
  'ConstantOfShape',
  'Slice',
  'Transpose',
  'Reshape',
  'Flatten',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Pow',
  'Neg',
  'Sqrt',
  'Equal',
  'Less',
  'Greater',
  'Where',
  'Range',
  'Expand',
  'Min',
  'Max',
  'Floor',
  'Ceil',
  'Abs',
  'Not',
  'Dropout',
  'Size',
  'Shape',
] as const;

/** Evaluates `node` on constant `inputs` (missing optional inputs are undefined); one tensor per output. */
export function foldNode(node: OnnxNode, inputs: (HostTensor | undefined)[], modelDir: string): HostTensor[] {
  const a = new Attrs(node);
  const op = node.opType ?? '';
  const x = inputs[0];
  const need = (i: number): HostTensor => {
    const t = inputs[i];
    if (!t) throw new OnnxLoadError(`node '${node.name}' (${op}) misses its input ${i}`);
    return t;
  };
  switch (op) {
    case 'Constant':
      return [constantValue(node, a, modelDir)];
    case 'Identity':
    case 'Dropout':
      return [need(0)];
    case 'Cast': {
      const to = a.int('to', 1);
      const float = [1, 10, 11, 16].includes(to);
      return [makeTensor(float ? 'float' : 'int', need(0).dims, to === 9 ? Array.from(need(0).data, (v) => (v ? 1 : 0)) : need(0).data)];
    }
    case 'Shape':
      return [shapeOf(need(0).dims, a)];
    case 'Size':
      return [makeTensor('int', [], [sizeOf(need(0).dims)])];
    case 'Gather':
      return [gather(need(0), need(1), a.int('axis', 0))];
    case 'Unsqueeze': {
      const axes = inputs[1] ? intsOf(inputs[1]) : a.ints('axes', []);
      const rank = need(0).dims.length + axes.length;
      const norm = axes.map((ax) => (ax < 0 ? ax + rank : ax)).sort((p, q) => p - q);
      const dims = [...need(0).dims];
      for (const ax of norm) dims.splice(ax, 0, 1);
      return [{ ...need(0), dims }];
    }
    case 'Squeeze': {
      const t = need(0);
      const axes = (inputs[1] ? intsOf(inputs[1]) : a.ints('axes', [])).map((ax) => (ax < 0 ? ax + t.dims.length : ax));
      const dims = t.dims.filter((d, i) => (axes.length ? !axes.includes(i) : d !== 1));
      return [{ ...t, dims }];
    }
    case 'Concat':
      return [
        concat(
          inputs.filter((t): t is HostTensor => t !== undefined),
          a.int('axis', 0),
        ),
      ];
    case 'ConstantOfShape': {
      const v = a.tensor('value');
      const fill = v ? tensorValues(v, modelDir) : makeTensor('float', [1], [0]);
      const dims = intsOf(need(0));
      return [makeTensor(fill.dtype, dims, new Array<number>(sizeOf(dims)).fill(fill.data[0] ?? 0))];
    }
    case 'Slice':
      return [slice(node, a, inputs)];
    case 'Transpose': {
      const t = need(0);
      const perm = a.ints(
        'perm',
        t.dims.map((_, i) => t.dims.length - 1 - i),
      );
      const strides = stridesOf(t.dims);
      return [
        remap(
          t,
          perm.map((p) => t.dims[p]!),
          (idx) => idx.reduce((s, v, i) => s + v * strides[perm[i]!]!, 0),
        ),
      ];
    }
    case 'Reshape':
      return [{ ...need(0), dims: reshapeDims(need(0).dims, intsOf(need(1)), a.int('allowzero', 0) === 1, node) }];
    case 'Flatten': {
      const t = need(0);
      const axis = a.int('axis', 1) < 0 ? a.int('axis', 1) + t.dims.length : a.int('axis', 1);
      return [{ ...t, dims: [sizeOf(t.dims.slice(0, axis)), sizeOf(t.dims.slice(axis))] }];
    }
    case 'Expand': {
      const t = need(0);
      const dims = broadcastDims([t.dims, intsOf(need(1))], `node '${node.name}' (Expand)`);
      return [remap(t, dims, (idx) => broadcastIndex(t.dims, dims, idx))];
    }
    case 'Range': {
      const [start, limit, delta] = [need(0).data[0]!, need(1).data[0]!, need(2).data[0]!];
      const n = Math.max(Math.ceil((limit - start) / delta), 0);
      return [
        makeTensor(
          need(0).dtype,
          [n],
          Array.from({ length: n }, (_, i) => start + i * delta),
        ),
      ];
    }
    case 'Where':
      return [elementwise(node, [need(0), need(1), need(2)], need(1).dtype, (c, p, q) => (c ? p! : q!))];
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
    case 'Pow':
    case 'Min':
    case 'Max':
    case 'Equal':
    case 'Less':
    case 'Greater': {
      const ins = op === 'Min' || op === 'Max' ? inputs.filter((t): t is HostTensor => t !== undefined) : [need(0), need(1)];
      const int = ins.every((t) => t.dtype === 'int');
      const compare = op === 'Equal' || op === 'Less' || op === 'Greater';
      const f = binary(op, int);
      return [elementwise(node, ins, compare || int ? 'int' : 'float', (...v) => v.slice(1).reduce((acc: number, b) => f(acc, b!), v[0]!))];
    }
    case 'Neg':
    case 'Sqrt':
    case 'Floor':
    case 'Ceil':
    case 'Abs':
    case 'Not': {
      const f = {
        Neg: (v: number) => -v,
        Sqrt: Math.sqrt,
        Floor: Math.floor,
        Ceil: Math.ceil,
        Abs: Math.abs,
        Not: (v: number) => (v ? 0 : 1),
      }[op];
      return [makeTensor(x!.dtype, x!.dims, Array.from(need(0).data, f))];
    }
    default:
      throw new OnnxLoadError(`node '${node.name}' (${op}) cannot be evaluated at load time`);
  }
}

/** Shape's output for a tensor of `dims`, with opset 15's optional start/end. */
export function shapeOf(dims: number[], a: Attrs): HostTensor {
  const r = dims.length;
  const start = a.int('start', 0);
  const end = a.int('end', r);
  const cut = dims.slice(start < 0 ? start + r : start, end < 0 ? end + r : end);
  return makeTensor('int', [cut.length], cut);
}

function binary(op: string, int: boolean): (p: number, q: number) => number {
  switch (op) {
    case 'Add':
      return (p, q) => p + q;
    case 'Sub':
      return (p, q) => p - q;
    case 'Mul':
      return (p, q) => p * q;
    case 'Div':
      return int ? (p, q) => Math.trunc(p / q) : (p, q) => p / q;
    case 'Pow':
      return (p, q) => p ** q;
    case 'Min':
      return Math.min;
    case 'Max':
      return Math.max;
    case 'Equal':
      return (p, q) => (p === q ? 1 : 0);
    case 'Less':
      return (p, q) => (p < q ? 1 : 0);
    default:
      return (p, q) => (p > q ? 1 : 0); // Greater
  }
}

function elementwise(node: OnnxNode, ins: HostTensor[], dtype: HostTensor['dtype'], f: (...v: number[]) => number): HostTensor {
  const dims = broadcastDims(
    ins.map((t) => t.dims),
    `node '${node.name}' (${node.opType})`,
  );
  const n = sizeOf(dims);
  const out = new Array<number>(n);
  const idx = new Array<number>(dims.length).fill(0);
  for (let k = 0; k < n; k++) {
    out[k] = f(...ins.map((t) => t.data[broadcastIndex(t.dims, dims, idx)]!));
    for (let d = dims.length - 1; d >= 0; d--) {
      if (++idx[d]! < dims[d]!) break;
      idx[d] = 0;
    }
  }
  return makeTensor(dtype, dims, out);
}

function constantValue(node: OnnxNode, a: Attrs, modelDir: string): HostTensor {
  const t = a.tensor('value');
  if (t) return tensorValues(t, modelDir);
  if (a.has('value_float')) return makeTensor('float', [], [a.float('value_float', 0)]);
  if (a.has('value_int')) return makeTensor('int', [], [a.int('value_int', 0)]);
  const fs = a.floats('value_floats');
  if (fs) return makeTensor('float', [fs.length], fs);
  if (a.has('value_ints')) {
    const is = a.ints('value_ints', []);
    return makeTensor('int', [is.length], is);
  }
  throw new OnnxLoadError(
    `node '${node.name}' (Constant) has no value, value_float(s) or value_int(s) attribute (sparse and string constants are not supported)`,
  );
}

function gather(t: HostTensor, indices: HostTensor, axisAttr: number): HostTensor {
  const axis = axisAttr < 0 ? axisAttr + t.dims.length : axisAttr;
  const ix = intsOf(indices).map((i) => (i < 0 ? i + t.dims[axis]! : i));
  const dims = [...t.dims.slice(0, axis), ...indices.dims, ...t.dims.slice(axis + 1)];
  const strides = stridesOf(t.dims);
  const ir = indices.dims.length;
  const iStrides = stridesOf(indices.dims);
  return remap(t, dims, (idx) => {
    let k = 0;
    for (let i = 0; i < axis; i++) k += idx[i]! * strides[i]!;
    let flat = 0;
    for (let i = 0; i < ir; i++) flat += idx[axis + i]! * iStrides[i]!;
    k += ix[flat]! * strides[axis]!;
    for (let i = axis + 1; i < t.dims.length; i++) k += idx[i - 1 + ir]! * strides[i]!;
    return k;
  });
}

function concat(ts: HostTensor[], axisAttr: number): HostTensor {
  const rank = ts[0]!.dims.length;
  const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
  const dims = [...ts[0]!.dims];
  dims[axis] = ts.reduce((s, t) => s + t.dims[axis]!, 0);
  const outer = sizeOf(dims.slice(0, axis));
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const t of ts) {
      const block = sizeOf(t.dims.slice(axis));
      for (let i = 0; i < block; i++) out.push(t.data[o * block + i]!);
    }
  }
  return makeTensor(ts.some((t) => t.dtype === 'float') ? 'float' : 'int', dims, out);
}

function slice(node: OnnxNode, a: Attrs, inputs: (HostTensor | undefined)[]): HostTensor {
  const t = inputs[0]!;
  const rank = t.dims.length;
  const fromInputs = inputs.length > 1;
  const starts = fromInputs ? intsOf(inputs[1]!) : a.ints('starts', []);
  const ends = fromInputs ? intsOf(inputs[2]!) : a.ints('ends', []);
  const axes = (
    fromInputs && inputs[3]
      ? intsOf(inputs[3])
      : a.ints(
          'axes',
          starts.map((_, i) => i),
        )
  ).map((ax) => (ax < 0 ? ax + rank : ax));
  const steps = fromInputs && inputs[4] ? intsOf(inputs[4]) : starts.map(() => 1);
  const begin = t.dims.map(() => 0);
  const step = t.dims.map(() => 1);
  const dims = [...t.dims];
  axes.forEach((ax, i) => {
    const d = t.dims[ax]!;
    const s = steps[i]!;
    if (s === 0) throw new OnnxLoadError(`node '${node.name}' (Slice) has step 0`);
    const clampIdx = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
    const b = s > 0 ? clampIdx(starts[i]!, 0, d) : clampIdx(starts[i]!, -1, d - 1);
    const e = s > 0 ? clampIdx(ends[i]!, 0, d) : clampIdx(ends[i]!, -1, d - 1);
    begin[ax] = b;
    step[ax] = s;
    dims[ax] = Math.max(0, Math.ceil((e - b) / s));
  });
  const strides = stridesOf(t.dims);
  return remap(t, dims, (idx) => idx.reduce((k, v, i) => k + (begin[i]! + v * step[i]!) * strides[i]!, 0));
}

/** ONNX Reshape's target: 0 copies the input's dim (unless allowzero), −1 takes the rest. */
export function reshapeDims(inDims: number[], target: number[], allowZero: boolean, node: OnnxNode): number[] {
  const dims = target.map((d, i) => (d === 0 && !allowZero ? inDims[i]! : d));
  const known = dims.filter((d) => d !== -1).reduce((p, q) => p * q, 1);
  const total = sizeOf(inDims);
  const out = dims.map((d) => (d === -1 ? total / known : d));
  if (sizeOf(out) !== total || out.some((d) => !Number.isInteger(d))) {
    throw new OnnxLoadError(`node '${node.name}' (Reshape): cannot reshape [${inDims.join(', ')}] to [${target.join(', ')}]`);
  }
  return out;
}
