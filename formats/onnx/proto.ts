import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import onnxProto from 'onnx-proto';
import { makeTensor, sizeOf, type HostTensor } from './host-tensor.js';

/**
 * Reading an ONNX file with the maintained protobuf bindings of the official onnx.proto
 * (`onnx-proto`), and turning its TensorProtos (inline or external data) and attributes into
 * plain values.
 */

export const { onnx } = onnxProto;
export type OnnxModel = onnxProto.onnx.IModelProto;
export type OnnxNode = onnxProto.onnx.INodeProto;
export type OnnxGraph = onnxProto.onnx.IGraphProto;
type Tensor = onnxProto.onnx.ITensorProto;
type Int64 = number | { toNumber(): number };

/** A model file that cannot be turned into a model: missing, malformed, or with an unsupported op. */
export class OnnxLoadError extends Error {}

export const num = (v: Int64 | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

/** Decodes the file at `path` (absolute) into a ModelProto. */
export function readOnnxModel(path: string): OnnxModel {
  if (!existsSync(path)) throw new OnnxLoadError(`ONNX model not found: ${path} (export one with torch.onnx.export, see the README)`);
  try {
    return onnx.ModelProto.decode(readFileSync(path));
  } catch (e) {
    throw new OnnxLoadError(`${path} is not an ONNX model (protobuf decoding failed: ${(e as Error).message})`);
  }
}

const FLOAT_TYPES = new Set([1, 10, 11, 16]); // FLOAT, FLOAT16, DOUBLE, BFLOAT16
const ELEMENT_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };

/** A TensorProto's values; external data is read from `modelDir` (PyTorch writes it for large models). */
export function tensorValues(t: Tensor, modelDir: string): HostTensor {
  const name = t.name ?? '(unnamed)';
  const dims = (t.dims ?? []).map(num);
  const type = t.dataType ?? 0;
  const bytes = ELEMENT_BYTES[type];
  if (bytes === undefined)
    throw new OnnxLoadError(
      `tensor '${name}' has ONNX data type ${type}, which is not supported (float, double, float16, ints and bool are)`,
    );
  const dtype = FLOAT_TYPES.has(type) ? 'float' : 'int';
  const n = sizeOf(dims);
  let raw: Uint8Array | null = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) raw = externalBytes(t, modelDir, n * bytes);
  if (raw) {
    if (raw.length !== n * bytes)
      throw new OnnxLoadError(`tensor '${name}' holds ${raw.length} bytes but [${dims.join(', ')}] needs ${n * bytes}`);
    return makeTensor(dtype, dims, decodeRaw(raw, type, n));
  }
  const typed: ArrayLike<number | Int64> =
    type === 1
      ? (t.floatData ?? [])
      : type === 11
        ? (t.doubleData ?? [])
        : type === 7 || type === 13
          ? (t.int64Data ?? [])
          : (t.int32Data ?? []);
  let values = Array.from(typed, (v) => num(v as Int64));
  if (type === 10) values = values.map(halfToFloat);
  if (values.length !== n) throw new OnnxLoadError(`tensor '${name}' holds ${values.length} values but [${dims.join(', ')}] needs ${n}`);
  return makeTensor(dtype, dims, values);
}

function decodeRaw(raw: Uint8Array, type: number, n: number): ArrayLike<number> {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    switch (type) {
      case 1:
        out[i] = view.getFloat32(4 * i, true);
        break;
      case 11:
        out[i] = view.getFloat64(8 * i, true);
        break;
      case 10:
        out[i] = halfToFloat(view.getUint16(2 * i, true));
        break;
      case 16:
        out[i] = new Float32Array(new Uint32Array([view.getUint16(2 * i, true) << 16]).buffer)[0]!;
        break;
      case 2:
      case 9:
        out[i] = view.getUint8(i);
        break;
      case 3:
        out[i] = view.getInt8(i);
        break;
      case 4:
        out[i] = view.getUint16(2 * i, true);
        break;
      case 5:
        out[i] = view.getInt16(2 * i, true);
        break;
      case 6:
        out[i] = view.getInt32(4 * i, true);
        break;
      case 12:
        out[i] = view.getUint32(4 * i, true);
        break;
      case 7:
        out[i] = Number(view.getBigInt64(8 * i, true));
        break;
      case 13:
        out[i] = Number(view.getBigUint64(8 * i, true));
        break;
    }
  }
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** The bytes of an externally stored tensor (`location`, `offset`, `length` keys, relative to the model). */
function externalBytes(t: Tensor, modelDir: string, expected: number): Uint8Array {
  const name = t.name ?? '(unnamed)';
  const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = kv.get('location');
  if (!location) throw new OnnxLoadError(`tensor '${name}' is stored externally but names no location`);
  const file = resolve(modelDir, location);
  const rel = relative(modelDir, file);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new OnnxLoadError(`tensor '${name}': external data location '${location}' points outside the model's folder ${modelDir}`);
  }
  if (!existsSync(file)) throw new OnnxLoadError(`tensor '${name}': external data file ${file} is missing; keep it next to the .onnx file`);
  const offset = Number(kv.get('offset') ?? 0);
  const length = kv.has('length') ? Number(kv.get('length')) : expected;
  const size = statSync(file).size;
  if (offset + length > size) {
    throw new OnnxLoadError(
      `tensor '${name}': external data file ${file} has ${size} bytes, fewer than offset ${offset} + length ${length}; it is truncated or from another export`,
    );
  }
  return new Uint8Array(readFileSync(file).subarray(offset, offset + length));
}

export const modelDirOf = (path: string) => dirname(resolve(path));

/** Attribute lookup on a node, with defaults. */
export class Attrs {
  private readonly map: Map<string, onnxProto.onnx.IAttributeProto>;
  constructor(node: OnnxNode) {
    this.map = new Map((node.attribute ?? []).map((a) => [a.name ?? '', a]));
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  int(name: string, def: number): number {
    const a = this.map.get(name);
    return a ? num(a.i) : def;
  }
  float(name: string, def: number): number {
    const a = this.map.get(name);
    if (!a) return def;
    // Some writers store a whole-number float attribute (alpha = 1) as an INT.
    return a.type === onnx.AttributeProto.AttributeType.INT ? num(a.i) : (a.f ?? 0);
  }
  ints(name: string, def: number[]): number[] {
    const a = this.map.get(name);
    return a ? (a.ints ?? []).map(num) : def;
  }
  floats(name: string): number[] | undefined {
    return this.map.get(name)?.floats ?? undefined;
  }
  string(name: string, def: string): string {
    const a = this.map.get(name);
    return a?.s ? new TextDecoder().decode(a.s) : def;
  }
  tensor(name: string): Tensor | undefined {
    return this.map.get(name)?.t ?? undefined;
  }
}
