import onnxProto from 'onnx-proto';

/**
 * Hand-written ONNX models for the loader's tests (written with the same protobuf bindings the
 * loader reads with): small graphs whose expected output is computed independently, in NCHW,
 * by test/formats/onnx.test.ts.
 */
const { onnx } = onnxProto;

export interface TestNode {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, number | number[] | string>;
}

export interface TestModel {
  input: [number, number, number, number];
  nodes: TestNode[];
  /** float32 initializers: name → [dims, values]. */
  weights?: Record<string, [number[], ArrayLike<number>]>;
  /** int64 initializers (shapes, pads). */
  ints?: Record<string, [number[], number[]]>;
  output: string;
  opset?: number;
}

function attribute(name: string, v: number | number[] | string): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
}

export function onnxBytes(m: TestModel): Uint8Array {
  const initializer = [
    ...Object.entries(m.weights ?? {}).map(([name, [dims, values]]) => ({ name, dims, dataType: 1, floatData: Array.from(values) })),
    ...Object.entries(m.ints ?? {}).map(([name, [dims, values]]) => ({ name, dims, dataType: 7, int64Data: values })),
  ];
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 7,
    opsetImport: [{ domain: '', version: m.opset ?? 13 }],
    graph: {
      name: 'test',
      node: m.nodes.map((n) => ({
        opType: n.op,
        name: n.name,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
      initializer,
      input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: m.input.map((d) => ({ dimValue: d })) } } } }],
      output: [{ name: m.output, type: { tensorType: { elemType: 1 } } }],
    },
  };
  return onnx.ModelProto.encode(model).finish();
}

/** Deterministic values in [−1, 1). */
export function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}
