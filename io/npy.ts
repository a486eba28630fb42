/**
 * NumPy `.npy` files (format spec: numpy.lib.format), so arrays written here (the dataset mean
 * image, raw relevance maps) open in Python with `np.load`, and arrays from Python can be read.
 *
 * Writing always produces format v1.0, little-endian float32, C order. Reading accepts v1.0,
 * v2.0 and v3.0 headers with `<f4` or `<f8` data (float64 is narrowed to float32: everything in
 * this project computes in float32).
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';

export interface NpyArray {
  data: Float32Array;
  shape: number[];
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
/** numpy aligns the data start to 64 bytes so memory-mapped arrays are aligned for any dtype. */
const ALIGN = 64;

/** Python's repr of a shape tuple: `()`, `(5,)`, `(2, 3)`. */
function shapeTuple(shape: number[]): string {
  if (shape.length === 0) return '()';
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

function checkShape(data: Float32Array, shape: number[]): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new Error(`npy: shape [${shape.join(', ')}] has ${d}, which is not a non-negative integer`);
    }
  }
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) {
    throw new Error(`npy: shape [${shape.join(', ')}] holds ${n} values but the data has ${data.length}; pass the array's real shape`);
  }
}

/** Encode a float32 array as a `.npy` v1.0 file (`<f4`, C order). */
export function encodeNpy(data: Float32Array, shape: number[]): Buffer {
  checkShape(data, shape);
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeTuple(shape)}, }`;
  // magic(6) + version(2) + header length(2) + dict + padding spaces + '\n' ≡ 0 mod 64
  const unpadded = MAGIC.length + 2 + 2 + dict.length + 1;
  const pad = (ALIGN - (unpadded % ALIGN)) % ALIGN;
  const header = dict + ' '.repeat(pad) + '\n';
  if (header.length > 0xffff) throw new Error(`npy: shape [${shape.join(', ')}] makes a header too long for format v1.0`);
  const out = Buffer.alloc(MAGIC.length + 4 + header.length + data.length * 4);
  MAGIC.copy(out, 0);
  out[6] = 1; // major version
  out[7] = 0; // minor version
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  const body = out.subarray(10 + header.length);
  // Write through a DataView so the bytes are little-endian whatever the host is.
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return out;
}

/** Parse the header dict. It is a Python literal; we only need three keys, so a small regex parser suffices. */
function parseHeader(text: string, where: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) {
    throw new Error(`npy: ${where} has an unreadable header ${JSON.stringify(text.trim())}; is it a .npy file?`);
  }
  const dims = shape[1]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const v = Number(s.replace(/L$/, '')); // Python 2 wrote long ints as `3L`
      if (!Number.isInteger(v) || v < 0) throw new Error(`npy: ${where} has a bad shape (${shape[1]})`);
      return v;
    });
  return { descr: descr[1]!, fortran: fortran[1] === 'True', shape: dims };
}

/**
 * Decode a `.npy` file. `source` (a path or name) is only used in error messages.
 * Accepts `<f4` and `<f8`; rejects Fortran order, big-endian and every other dtype.
 */
export function decodeNpy(buf: Buffer, source?: string): NpyArray {
  const where = source ? `file ${source}` : 'the buffer';
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) {
    throw new Error(`npy: ${where} is not a .npy file (no \\x93NUMPY magic)`);
  }
  const major = buf[6];
  let headerStart: number;
  let headerLen: number;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new Error(`npy: ${where} is truncated inside its header`);
    headerLen = buf.readUInt32LE(8);
    headerStart = 12;
  } else {
    throw new Error(`npy: ${where} uses format version ${major}.${buf[7]}; only 1.x, 2.x and 3.x are supported`);
  }
  const dataStart = headerStart + headerLen;
  if (buf.length < dataStart) throw new Error(`npy: ${where} is truncated inside its header`);
  const text = buf.subarray(headerStart, dataStart).toString(major === 3 ? 'utf8' : 'latin1');
  const { descr, fortran, shape } = parseHeader(text, where);
  if (fortran) {
    throw new Error(`npy: ${where} is in Fortran (column-major) order; save it with np.ascontiguousarray first`);
  }
  let itemSize: number;
  if (descr === '<f4') itemSize = 4;
  else if (descr === '<f8') itemSize = 8;
  else {
    throw new Error(
      `npy: ${where} has dtype '${descr}'; only little-endian float32 ('<f4') and float64 ('<f8') are supported (convert with .astype('<f4'))`,
    );
  }
  const n = shape.reduce((a, b) => a * b, 1);
  const have = buf.length - dataStart;
  if (have !== n * itemSize) {
    throw new Error(
      `npy: ${where} has ${have} data bytes but shape ${shapeTuple(shape)} of '${descr}' needs ${n * itemSize}; the file is truncated or corrupt`,
    );
  }
  // The data start is 64-aligned within the file, but the Buffer itself may sit at any offset
  // in its ArrayBuffer, so read through a DataView instead of aliasing a typed array.
  const view = new DataView(buf.buffer, buf.byteOffset + dataStart, n * itemSize);
  const data = new Float32Array(n);
  if (itemSize === 4) for (let i = 0; i < n; i++) data[i] = view.getFloat32(i * 4, true);
  else for (let i = 0; i < n; i++) data[i] = view.getFloat64(i * 8, true);
  return { data, shape };
}

/**
 * Write a `.npy` file. The file appears atomically (temp file + rename), so a reader in another
 * worker never sees half an array.
 */
export async function writeNpy(path: string, data: Float32Array, shape: number[]): Promise<void> {
  const bytes = encodeNpy(data, shape);
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new Error(`npy: cannot write ${path}: ${(err as Error).message}`);
  }
}

/** Read a `.npy` file (see `decodeNpy` for what is accepted). */
export async function readNpy(path: string): Promise<NpyArray> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new Error(`npy: cannot read ${path}: ${(err as Error).message}`);
  }
  return decodeNpy(buf, path);
}
