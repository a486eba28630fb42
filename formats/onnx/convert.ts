import { FOLDABLE_OPS, foldNode, reshapeDims, shapeOf } from './fold.js';
import { intsOf, makeTensor, sizeOf, type HostTensor } from './host-tensor.js';
import { modulePath } from './names.js';
import type { Plan, PlannedLayer } from './plan.js';
import { Attrs, num, OnnxLoadError, tensorValues, type OnnxModel, type OnnxNode } from './proto.js';
import { planWindow } from './windows.js';

/**
 * ONNX graph → Keras layer plan. Activations are NCHW in ONNX and NHWC in the engine: every
 * non-constant tensor is tracked with its ONNX shape and the Keras layout it has, and weights
 * are rearranged once here (conv kernels OIHW → HWIO; a Gemm after flattening an NCHW map has
 * its rows permuted from C·H·W order to the H·W·C order Keras' Flatten produces).
 */

/** A non-constant ONNX tensor as it exists in the Keras model. */
interface Value {
  /** Plan index of the layer producing it; −1 for the model input. */
  src: number;
  /** 'map': ONNX [C, H, W] held as Keras [H, W, C]; 'vector': Keras [F]. */
  kind: 'map' | 'vector';
  /** ONNX per-sample shape (a vector from global pooling is [C, 1, 1] until flattened). */
  shape: number[];
  /** Vector only: Keras element k holds ONNX element perm[k] (a flattened NCHW map); absent = identity. */
  perm?: number[];
  /** Known ≥ 0 (after a ReLU; kept by pooling, padding, concatenation): zero padding then equals −∞ padding for max pooling. */
  nonNegative: boolean;
}

/** ONNX ops that become layers (all-constant nodes of FOLDABLE_OPS are evaluated instead). */
export const SUPPORTED_OPS = [
  'Conv',
  'Gemm',
  'MatMul',
  'Add',
  'Sum',
  'Relu',
  'Clip',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'ReduceMean',
  'BatchNormalization',
  'Concat',
  'Flatten',
  'Reshape',
  'Squeeze',
  'Pad',
  'Dropout',
  'Identity',
  'Softmax',
  'LogSoftmax',
  'Shape',
] as const;

const supportedList = () =>
  `${SUPPORTED_OPS.join(', ')}; on constants also ${FOLDABLE_OPS.filter((o) => !(SUPPORTED_OPS as readonly string[]).includes(o)).join(', ')}`;

export function planOnnxModel(model: OnnxModel, path: string, modelDir: string): Plan {
  const graph = model.graph;
  if (!graph) throw new OnnxLoadError(`${path} has no graph`);
  const opset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const version = num(opset?.version);
  if (version && (version < 7 || version > 21)) {
    throw new OnnxLoadError(
      `${path} uses ONNX opset ${version}; opsets 9–18 are supported (re-export with torch.onnx.export(..., opset_version=17))`,
    );
  }
  const consts = new Map<string, HostTensor>();
  for (const t of graph.initializer ?? []) consts.set(t.name ?? '', tensorValues(t, modelDir));
  const values = new Map<string, Value>();
  const layers: PlannedLayer[] = [];
  const aliases = new Map<string, number>();
  const uses = new Map<string, number>();
  for (const n of graph.node ?? []) for (const i of n.input ?? []) uses.set(i, (uses.get(i) ?? 0) + 1);
  const graphOutputs = (graph.output ?? []).map((o) => o.name ?? '');
  if (graphOutputs.length !== 1)
    throw new OnnxLoadError(`${path} has ${graphOutputs.length} outputs; a classifier with one output (its logits) is expected`);

  const inputs = (graph.input ?? []).filter((i) => !consts.has(i.name ?? ''));
  if (inputs.length !== 1)
    throw new OnnxLoadError(`${path} has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); one image input is expected`);
  const dims = (inputs[0]!.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimValue != null ? num(d.dimValue) : null));
  if (dims.length !== 4 || dims.slice(1).some((d) => d === null || d <= 0)) {
    throw new OnnxLoadError(
      `${path}: input '${inputs[0]!.name}' has shape [${dims.map((d) => d ?? '?').join(', ')}]; an N×C×H×W image with fixed C, H, W is expected (export with a fixed-size example input)`,
    );
  }
  const [c, h, w] = dims.slice(1) as number[];
  values.set(inputs[0]!.name ?? '', { src: -1, kind: 'map', shape: [c!, h!, w!], nonNegative: false });

  for (const node of graph.node ?? []) {
    const op = node.opType ?? '';
    const where = `node '${node.name ?? ''}' (${op})`;
    if (node.domain && node.domain !== 'ai.onnx')
      throw new OnnxLoadError(`${path}: ${where} is from operator domain '${node.domain}', which is not supported`);
    const ins = node.input ?? [];
    const outs = node.output ?? [];
    const constIns = ins.map((n) => (n === '' ? undefined : consts.get(n)));
    const valueIns = ins
      .filter((n) => n !== '' && !consts.has(n))
      .map((n) => {
        const v = values.get(n);
        if (!v) throw new OnnxLoadError(`${path}: ${where} reads '${n}', which no earlier node produces`);
        return v;
      });
    if (valueIns.length === 0 && (FOLDABLE_OPS as readonly string[]).includes(op)) {
      foldNode(node, constIns, modelDir).forEach((t, i) => outs[i] && consts.set(outs[i]!, t));
      continue;
    }
    if (op === 'Shape' && valueIns.length === 1) {
      // Shapes are static here; the batch is 1 as in the export (a [1, −1] Reshape still works per sample).
      consts.set(outs[0]!, shapeOf([1, ...valueIns[0]!.shape], new Attrs(node)));
      continue;
    }
    const ctx: Ctx = { node, where, path, consts: constIns, values: valueIns, layers, uses, isOutput: outs[0] === graphOutputs[0] };
    const v = convertNode(ctx);
    values.set(outs[0]!, v);
    if (v.src >= 0) {
      const names = [node.name ?? '', ...outs, modulePath(node.name ?? '') ?? ''].filter((s) => s.length > 0);
      for (const n of names) aliases.set(n, v.src);
    }
  }
  const out = values.get(graphOutputs[0]!);
  if (!out) throw new OnnxLoadError(`${path}: the output '${graphOutputs[0]}' is a constant or is never produced`);
  if (out.src < 0 || out.kind !== 'vector' || out.shape.length !== 1 || out.perm) {
    throw new OnnxLoadError(`${path}: the output must be a vector of class scores (logits), got ONNX shape [N, ${out.shape.join(', ')}]`);
  }
  return { layers, inputShape: [h!, w!, c!], output: out.src, aliases };
}

interface Ctx {
  node: OnnxNode;
  where: string;
  path: string;
  /** Per input slot: its constant value, or undefined for a non-constant (or absent) input. */
  consts: (HostTensor | undefined)[];
  /** The non-constant inputs, in order. */
  values: Value[];
  layers: PlannedLayer[];
  uses: Map<string, number>;
  isOutput: boolean;
}

function fail(ctx: Ctx, why: string): never {
  throw new OnnxLoadError(`${ctx.path}: ${ctx.where} ${why}`);
}

function add(ctx: Ctx, layer: Omit<PlannedLayer, 'node' | 'opType' | 'helper'> & { helper?: boolean }): number {
  ctx.layers.push({ helper: false, ...layer, node: ctx.node.name ?? '', opType: ctx.node.opType ?? '' });
  return ctx.layers.length - 1;
}

function oneMap(ctx: Ctx): Value {
  const x = ctx.values[0];
  if (ctx.values.length !== 1 || !x) fail(ctx, `needs one non-constant input, it has ${ctx.values.length}`);
  if (x.kind !== 'map') fail(ctx, `needs an N×C×H×W feature map, got [N, ${x.shape.join(', ')}]`);
  return x;
}

function convertNode(ctx: Ctx): Value {
  const a = new Attrs(ctx.node);
  const op = ctx.node.opType ?? '';
  switch (op) {
    case 'Identity':
    case 'Dropout':
      return ctx.values[0]!;
    case 'Softmax':
    case 'LogSoftmax':
      // The engine explains logits (docs/PROTOCOL.md §2): a final softmax is split off.
      if (!ctx.isOutput)
        fail(ctx, 'is only supported as the last node (the engine explains logits); remove it from the model or export the logits');
      return ctx.values[0]!;
    case 'Relu':
      return relu(ctx);
    case 'Clip':
      return clip(ctx, a);
    case 'Conv':
      return conv(ctx, a);
    case 'MaxPool':
    case 'AveragePool':
      return pool(ctx, a, op);
    case 'GlobalAveragePool':
      return globalPool(ctx);
    case 'ReduceMean': {
      const axes = (ctx.consts[1] ? intsOf(ctx.consts[1]) : a.ints('axes', [])).map((x) => (x < 0 ? x + 4 : x)).sort();
      if (axes.join() !== '2,3') fail(ctx, `reduces axes [${axes.join(', ')}]; only the spatial mean (axes 2, 3) is supported`);
      const v = globalPool(ctx);
      return a.int('keepdims', 1) ? v : { ...v, shape: [v.shape[0]!] };
    }
    case 'BatchNormalization':
      return batchNorm(ctx, a);
    case 'Gemm':
      return gemm(ctx, a);
    case 'MatMul':
      return matMul(ctx);
    case 'Add':
    case 'Sum':
      return addOp(ctx);
    case 'Concat':
      return concatOp(ctx, a);
    case 'Flatten': {
      const x = ctx.values[0]!;
      const axis = a.int('axis', 1);
      if (axis !== 1) fail(ctx, `flattens from axis ${axis}; only axis 1 (keep the batch) is supported`);
      return flatten(ctx, x);
    }
    case 'Reshape':
      return reshape(ctx, a);
    case 'Squeeze': {
      const x = ctx.values[0]!;
      const axes = (ctx.consts[1] ? intsOf(ctx.consts[1]) : a.ints('axes', [])).map((v) => (v < 0 ? v + 1 + x.shape.length : v));
      if (x.kind === 'vector' && x.shape.length === 3 && axes.sort().join() === '2,3') return { ...x, shape: [x.shape[0]!] };
      return fail(ctx, 'is only supported to drop the 1×1 spatial axes after global pooling');
    }
    case 'Pad':
      return pad(ctx, a);
    default:
      return fail(ctx, `is not supported. Supported ops: ${supportedList()}`);
  }
}

function relu(ctx: Ctx): Value {
  const x = ctx.values[0]!;
  const src = add(ctx, { cls: 'ReLU', config: {}, inputs: [x.src], weights: [] });
  return { ...x, src, nonNegative: true };
}

function clip(ctx: Ctx, a: Attrs): Value {
  const lo = ctx.consts[1] ? Number(ctx.consts[1].data[0]) : a.float('min', -Infinity);
  const hi = ctx.consts[2] ? Number(ctx.consts[2].data[0]) : a.float('max', Infinity);
  if (lo === 0 && hi >= 3.4e38) return relu(ctx);
  if (lo === 0 && hi > 0) {
    // ReLU6 and kin: a ReLU clipped at `hi` (docs/PROTOCOL.md §7).
    const x = ctx.values[0]!;
    const src = add(ctx, { cls: 'ReLU', config: { maxValue: hi }, inputs: [x.src], weights: [] });
    return { ...x, src, nonNegative: true };
  }
  return fail(ctx, `clips to [${lo}, ${hi}]; only Clip(0, ∞) (ReLU) and Clip(0, max > 0) (ReLU6) are supported (docs/PROTOCOL.md §7)`);
}

function weightOf(ctx: Ctx, slot: number, what: string): HostTensor {
  const t = ctx.consts[slot];
  if (!t) fail(ctx, `needs a constant ${what} (input ${slot}); weights computed at run time are not supported`);
  if (t.dtype !== 'float') fail(ctx, `has a non-float ${what}`);
  return t;
}

/** A ZeroPadding2D in front of a windowed layer, or the input unchanged. */
function zeroPadBefore(ctx: Ctx, x: Value, pads: [[number, number], [number, number]] | null, forMaxPool = false): Value {
  if (!pads) return x;
  const src = add(ctx, {
    cls: 'ZeroPadding2D',
    config: { padding: pads },
    inputs: [x.src],
    weights: [],
    helper: true,
    ...(forMaxPool ? { maxPoolPad: true } : {}),
  });
  const [c, h, w] = x.shape as [number, number, number];
  return { ...x, src, shape: [c, h + pads[0][0] + pads[0][1], w + pads[1][0] + pads[1][1]] };
}

function windowPads(ctx: Ctx, a: Attrs, x: Value, kernel: [number, number], strides: [number, number]): [number, number, number, number] {
  const autoPad = a.string('auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') {
    const p = a.ints('pads', [0, 0, 0, 0]);
    if (p.length !== 4 || p.some((v) => v < 0)) fail(ctx, `has pads [${p.join(', ')}]; four non-negative 2-D pads are expected`);
    return p as [number, number, number, number];
  }
  if (autoPad === 'VALID') return [0, 0, 0, 0];
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') fail(ctx, `has auto_pad '${autoPad}'`);
  const total = [0, 1].map((i) => {
    const n = x.shape[1 + i]!;
    return Math.max((Math.ceil(n / strides[i]!) - 1) * strides[i]! + kernel[i]! - n, 0);
  });
  const before = total.map((t) => (autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2)));
  return [before[0]!, before[1]!, total[0]! - before[0]!, total[1]! - before[1]!];
}

function pair(ctx: Ctx, v: number[], what: string): [number, number] {
  if (v.length !== 2) fail(ctx, `has ${what} [${v.join(', ')}]; only 2-D windows are supported`);
  return [v[0]!, v[1]!];
}

function conv(ctx: Ctx, a: Attrs): Value {
  const x = oneMap(ctx);
  const W = weightOf(ctx, 1, 'weight');
  const B = ctx.consts[2];
  const [o, i, kh, kw] = W.dims as [number, number, number, number];
  const group = a.int('group', 1);
  if (a.ints('dilations', [1, 1]).some((d) => d !== 1)) fail(ctx, 'is dilated; dilated convolutions are not supported');
  const cin = x.shape[0]!;
  if (W.dims.length !== 4 || i * group !== cin || o % group !== 0)
    fail(ctx, `has weight [${W.dims.join(', ')}] and group ${group} for a ${cin}-channel input`);
  const strides = pair(ctx, a.ints('strides', [1, 1]), 'strides');
  const kernel: [number, number] = [kh, kw];
  const win = planWindow(
    { input: [x.shape[1]!, x.shape[2]!], kernel, strides, pads: windowPads(ctx, a, x, kernel, strides), ceilMode: false },
    true,
  );
  const inp = zeroPadBefore(ctx, x, win.zeroPad);
  // OIHW → HWIO. A grouped (e.g. depthwise) convolution becomes an ordinary one whose kernel is
  // zero between groups (block-diagonal over channels): the same output, and z⁺/zB over it are
  // the per-group rules of docs/PROTOCOL.md §7, since zero weights contribute nothing.
  const hwio = new Float32Array(kh * kw * cin * o);
  const perGroup = o / group;
  for (let oo = 0; oo < o; oo++) {
    const first = Math.floor(oo / perGroup) * i; // the group's first input channel
    for (let ii = 0; ii < i; ii++)
      for (let y = 0; y < kh; y++)
        for (let z = 0; z < kw; z++) hwio[((y * kw + z) * cin + first + ii) * o + oo] = W.data[((oo * i + ii) * kh + y) * kw + z]!;
  }
  const weights = [makeTensor('float', [kh, kw, cin, o], hwio)];
  if (B) weights.push(makeTensor('float', [o], B.data));
  const src = add(ctx, {
    cls: 'Conv2D',
    config: { filters: o, kernelSize: kernel, strides, padding: win.padding, useBias: !!B },
    inputs: [inp.src],
    weights,
  });
  return { src, kind: 'map', shape: [o, ...win.out], nonNegative: false };
}

function pool(ctx: Ctx, a: Attrs, op: 'MaxPool' | 'AveragePool'): Value {
  const x = oneMap(ctx);
  if ((ctx.node.output ?? []).length > 1 && ctx.node.output![1]) fail(ctx, 'returns its indices; only the pooled values are supported');
  if (a.ints('dilations', [1, 1]).some((d) => d !== 1)) fail(ctx, 'is dilated; dilated pooling is not supported');
  const kernel = pair(ctx, a.ints('kernel_shape', []), 'kernel_shape');
  const strides = pair(ctx, a.ints('strides', [1, 1]), 'strides');
  const pads = windowPads(ctx, a, x, kernel, strides);
  const ceilMode = a.int('ceil_mode', 0) === 1;
  const includePad = a.int('count_include_pad', 0) === 1;
  if (op === 'AveragePool' && kernel.join() === '1,1' && strides.join() === '1,1' && pads.every((p) => p === 0)) {
    return x; // torchvision's AdaptiveAvgPool2d at its own size (VGG 7×7 → 7×7): the identity
  }
  // 'same' pads with −∞ for max pooling and leaves padding out of the average: PyTorch's MaxPool
  // and AveragePool(count_include_pad=False). Explicit zero padding is exact for
  // AveragePool(count_include_pad=True), and for MaxPool when the input is ≥ 0.
  const win = planWindow({ input: [x.shape[1]!, x.shape[2]!], kernel, strides, pads, ceilMode }, op === 'MaxPool' || !includePad);
  if (win.zeroPad) {
    if (op === 'MaxPool' && !x.nonNegative) {
      fail(
        ctx,
        `pads [${pads.join(', ')}]${ceilMode ? ' with ceil_mode' : ''} where Keras' 'same' differs, and its input may be negative, so zero padding would change the maximum (only pooling after a ReLU can be padded)`,
      );
    }
    if (op === 'AveragePool' && !includePad) {
      fail(
        ctx,
        `pads [${pads.join(', ')}]${ceilMode ? ' with ceil_mode' : ''} with count_include_pad=0 where Keras' 'same' differs; not supported`,
      );
    }
    if (op === 'AveragePool' && ceilMode) fail(ctx, 'uses ceil_mode with a partial last window; not supported');
  }
  const inp = zeroPadBefore(ctx, x, win.zeroPad, op === 'MaxPool');
  const src = add(ctx, {
    cls: op === 'MaxPool' ? 'MaxPooling2D' : 'AveragePooling2D',
    config: { poolSize: kernel, strides, padding: win.padding },
    inputs: [inp.src],
    weights: [],
  });
  return { src, kind: 'map', shape: [x.shape[0]!, ...win.out], nonNegative: x.nonNegative };
}

function globalPool(ctx: Ctx): Value {
  const x = oneMap(ctx);
  const src = add(ctx, { cls: 'GlobalAveragePooling2D', config: {}, inputs: [x.src], weights: [] });
  return { src, kind: 'vector', shape: [x.shape[0]!, 1, 1], nonNegative: x.nonNegative };
}

/** Keras order of a vector's features (identity without perm). */
const permOf = (x: Value, n: number) => x.perm ?? Array.from({ length: n }, (_, k) => k);

function batchNorm(ctx: Ctx, a: Attrs): Value {
  const x = ctx.values[0]!;
  if (ctx.values.length !== 1) fail(ctx, 'needs one non-constant input');
  if (a.int('training_mode', 0) === 1) fail(ctx, 'is in training mode; export the model after model.eval()');
  const n = x.shape[0]!;
  if (x.kind === 'vector' && x.shape.length !== 1) fail(ctx, `normalises a [${x.shape.join(', ')}] tensor; not supported`);
  const perm = x.kind === 'vector' ? permOf(x, n) : Array.from({ length: n }, (_, k) => k);
  const params = ['scale', 'bias', 'mean', 'variance'].map((what, i) => {
    const t = weightOf(ctx, i + 1, what);
    if (t.data.length !== n) fail(ctx, `has a ${what} of ${t.data.length} values for ${n} channels`);
    return makeTensor(
      'float',
      [n],
      perm.map((p) => t.data[p]!),
    );
  });
  const src = add(ctx, {
    cls: 'BatchNormalization',
    config: { axis: -1, epsilon: a.float('epsilon', 1e-5) },
    inputs: [x.src],
    weights: params,
  });
  return { ...x, src, perm: undefined, nonNegative: false };
}

function flatVector(ctx: Ctx): Value {
  const x = ctx.values[0]!;
  if (ctx.values.length !== 1) fail(ctx, 'needs one non-constant input');
  if (x.kind !== 'vector' || x.shape.length !== 1)
    fail(ctx, `needs an N×F matrix, got [N, ${x.shape.join(', ')}]; flatten the feature map first`);
  return x;
}

/** Dense kernel [F, out] in Keras feature order from w(o, f) (ONNX feature f). */
function denseKernel(x: Value, f: number, out: number, w: (o: number, f: number) => number): HostTensor {
  const perm = permOf(x, f);
  const k = new Float32Array(f * out);
  for (let r = 0; r < f; r++) for (let o = 0; o < out; o++) k[r * out + o] = w(o, perm[r]!);
  return makeTensor('float', [f, out], k);
}

function gemm(ctx: Ctx, a: Attrs): Value {
  const x = flatVector(ctx);
  if (a.int('transA', 0) !== 0) fail(ctx, 'has transA=1; not supported');
  const B = weightOf(ctx, 1, 'weight');
  const transB = a.int('transB', 0) === 1;
  const alpha = a.float('alpha', 1);
  const beta = a.float('beta', 1);
  const f = x.shape[0]!;
  const [r, cols] = B.dims as [number, number];
  const out = transB ? r : cols;
  if ((transB ? cols : r) !== f) fail(ctx, `has weight [${B.dims.join(', ')}]${transB ? ' (transB)' : ''} for ${f} input features`);
  const kernel = denseKernel(x, f, out, transB ? (o, i) => alpha * B.data[o * f + i]! : (o, i) => alpha * B.data[i * out + o]!);
  const weights = [kernel];
  const C = ctx.consts[2];
  if (C) {
    if (C.data.length !== out && C.data.length !== 1) fail(ctx, `has a bias of ${C.data.length} values for ${out} outputs`);
    weights.push(
      makeTensor(
        'float',
        [out],
        Array.from({ length: out }, (_, o) => beta * C.data[C.data.length === 1 ? 0 : o]!),
      ),
    );
  }
  const src = add(ctx, { cls: 'Dense', config: { units: out, useBias: !!C }, inputs: [x.src], weights });
  return { src, kind: 'vector', shape: [out], nonNegative: false };
}

function matMul(ctx: Ctx): Value {
  const x = flatVector(ctx);
  const B = weightOf(ctx, 1, 'weight (second operand)');
  const f = x.shape[0]!;
  if (B.dims.length !== 2 || B.dims[0] !== f) fail(ctx, `multiplies ${f} features by [${B.dims.join(', ')}]`);
  const out = B.dims[1]!;
  const kernel = denseKernel(x, f, out, (o, i) => B.data[i * out + o]!);
  const src = add(ctx, { cls: 'Dense', config: { units: out, useBias: false }, inputs: [x.src], weights: [kernel] });
  return { src, kind: 'vector', shape: [out], nonNegative: false };
}

function addOp(ctx: Ctx): Value {
  const constant = ctx.consts.find((t) => t !== undefined);
  if (constant) {
    // MatMul + Add: the bias of the Dense the MatMul became (its output feeds only this Add).
    const x = ctx.values[0]!;
    const dense = x.src >= 0 ? ctx.layers[x.src] : undefined;
    const matmulOut = (ctx.node.input ?? []).find((_, i) => ctx.consts[i] === undefined);
    const single = matmulOut !== undefined && ctx.uses.get(matmulOut) === 1;
    const n = x.shape[0]!;
    if (
      ctx.values.length === 1 &&
      dense?.cls === 'Dense' &&
      dense.weights.length === 1 &&
      dense.opType === 'MatMul' &&
      single &&
      constant.data.length === n
    ) {
      dense.weights.push(makeTensor('float', [n], constant.data));
      dense.config = { ...dense.config, useBias: true };
      return x;
    }
    return fail(ctx, 'adds a constant; only the bias of a MatMul (MatMul + Add) is supported');
  }
  const [first, ...rest] = ctx.values;
  if (!first || rest.length === 0) fail(ctx, 'needs at least two inputs');
  for (const v of rest) {
    if (v.kind !== first.kind || v.shape.join() !== first.shape.join() || (v.perm ?? []).join() !== (first.perm ?? []).join()) {
      fail(
        ctx,
        `adds tensors of shapes [N, ${first.shape.join(', ')}] and [N, ${v.shape.join(', ')}]; only same-shape addition (no broadcasting) is supported`,
      );
    }
  }
  const src = add(ctx, { cls: 'Add', config: {}, inputs: ctx.values.map((v) => v.src), weights: [] });
  return { ...first, src, nonNegative: ctx.values.every((v) => v.nonNegative) };
}

function concatOp(ctx: Ctx, a: Attrs): Value {
  if (ctx.consts.some((t) => t !== undefined)) fail(ctx, 'concatenates a constant; not supported');
  const first = ctx.values[0]!;
  const rank = first.shape.length + 1;
  const axis = a.int('axis', 1) < 0 ? a.int('axis', 1) + rank : a.int('axis', 1);
  if (axis !== 1) fail(ctx, `joins along axis ${axis}; only the channel axis (1) is supported`);
  for (const v of ctx.values) {
    if (v.kind !== first.kind || v.perm || v.shape.slice(1).join() !== first.shape.slice(1).join()) {
      fail(
        ctx,
        `joins [N, ${first.shape.join(', ')}] and [N, ${v.shape.join(', ')}]; only feature maps of one size (or plain vectors) are supported`,
      );
    }
  }
  const src =
    ctx.values.length === 1
      ? first.src
      : add(ctx, { cls: 'Concatenate', config: { axis: -1 }, inputs: ctx.values.map((v) => v.src), weights: [] });
  const channels = ctx.values.reduce((s, v) => s + v.shape[0]!, 0);
  return { ...first, src, shape: [channels, ...first.shape.slice(1)], nonNegative: ctx.values.every((v) => v.nonNegative) };
}

function flatten(ctx: Ctx, x: Value): Value {
  if (x.kind === 'vector') return { ...x, shape: [sizeOf(x.shape)] };
  const [c, h, w] = x.shape as [number, number, number];
  // Keras flattens H·W·C; ONNX C·H·W. Keras element (y·w + z)·c + k is ONNX element k·h·w + y·w + z.
  const perm = new Array<number>(c * h * w);
  for (let y = 0; y < h; y++) for (let z = 0; z < w; z++) for (let k = 0; k < c; k++) perm[(y * w + z) * c + k] = k * h * w + y * w + z;
  const src = add(ctx, { cls: 'Flatten', config: {}, inputs: [x.src], weights: [] });
  return { src, kind: 'vector', shape: [c * h * w], perm: c === 1 || h * w === 1 ? undefined : perm, nonNegative: x.nonNegative };
}

function reshape(ctx: Ctx, a: Attrs): Value {
  const x = ctx.values[0]!;
  const target = ctx.consts[1];
  if (ctx.values.length !== 1 || !target) fail(ctx, 'needs a constant target shape');
  // Shapes are known with the exported batch (1); a [1, −1] target from a fixed-batch export
  // flattens each sample, which Keras does for any batch.
  const full = [1, ...x.shape];
  const dims = reshapeDims(full, intsOf(target), a.int('allowzero', 0) === 1, ctx.node);
  if (dims.length === 2 && dims[0] === 1) return flatten(ctx, x);
  if (dims.join() === full.join()) return x;
  return fail(ctx, `reshapes [N, ${x.shape.join(', ')}] to [${intsOf(target).join(', ')}]; only flattening to [N, features] is supported`);
}

function pad(ctx: Ctx, a: Attrs): Value {
  const x = oneMap(ctx);
  const mode = a.string('mode', 'constant');
  if (mode !== 'constant') fail(ctx, `pads in mode '${mode}'; only constant (zero) padding is supported`);
  const p = ctx.consts[1] ? intsOf(ctx.consts[1]) : a.ints('pads', []);
  const value = ctx.consts[2] ? Number(ctx.consts[2].data[0] ?? 0) : a.float('value', 0);
  if (value !== 0) fail(ctx, `pads with ${value}; only zero padding is supported`);
  if (ctx.consts[3]) fail(ctx, 'names pad axes; not supported');
  if (p.length !== 8 || p[0] !== 0 || p[1] !== 0 || p[4] !== 0 || p[5] !== 0)
    fail(ctx, `has pads [${p.join(', ')}]; only spatial (H, W) padding of an N×C×H×W map is supported`);
  const [t, l, b, r] = [p[2]!, p[3]!, p[6]!, p[7]!];
  let v = x;
  const grow: [[number, number], [number, number]] = [
    [Math.max(t, 0), Math.max(b, 0)],
    [Math.max(l, 0), Math.max(r, 0)],
  ];
  const shrink: [[number, number], [number, number]] = [
    [Math.max(-t, 0), Math.max(-b, 0)],
    [Math.max(-l, 0), Math.max(-r, 0)],
  ];
  const [c, h, w] = v.shape as [number, number, number];
  if (grow.flat().some((q) => q > 0)) {
    v = {
      ...v,
      src: add(ctx, { cls: 'ZeroPadding2D', config: { padding: grow }, inputs: [v.src], weights: [] }),
      shape: [c, h + grow[0][0] + grow[0][1], w + grow[1][0] + grow[1][1]],
    };
  }
  if (shrink.flat().some((q) => q > 0)) {
    const [, hh, ww] = v.shape as [number, number, number];
    v = {
      ...v,
      src: add(ctx, { cls: 'Cropping2D', config: { cropping: shrink }, inputs: [v.src], weights: [] }),
      shape: [c, hh - shrink[0][0] - shrink[0][1], ww - shrink[1][0] - shrink[1][1]],
    };
  }
  return v;
}
