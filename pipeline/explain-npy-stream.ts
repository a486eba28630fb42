/**
 * A `.npy` (v1.0, little-endian float32, C order) written piece by piece: `explain` stacks the
 * maps of an N-image .npy batch into one file, and holding N×H×W×C floats per method and target
 * in memory first would not scale. The header is written for the final shape up front; the file
 * is created under a temporary name and renamed when complete, so a reader never sees a partial
 * array (the same promise io/npy.ts `writeNpy` makes).
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';

/** The v1.0 header for a float32 C-order array of `shape` (numpy.lib.format; data 64-aligned). */
export function npyHeader(shape: readonly number[]): Buffer {
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${tuple}, }`;
  const fixed = 10; // magic (6) + version (2) + header length (2)
  const pad = (64 - ((fixed + dict.length + 1) % 64)) % 64;
  const text = dict + ' '.repeat(pad) + '\n';
  if (text.length > 0xffff) throw new Error(`npy: the header for shape (${shape.join(', ')}) does not fit format v1.0`);
  const head = Buffer.alloc(fixed);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(text.length, 8);
  return Buffer.concat([head, Buffer.from(text, 'latin1')]);
}

export class NpyStreamWriter {
  private written = 0;
  private readonly total: number;

  private constructor(
    readonly path: string,
    readonly shape: readonly number[],
    private readonly tmp: string,
    private readonly fh: FileHandle,
  ) {
    this.total = shape.reduce((a, b) => a * b, 1);
  }

  static async create(path: string, shape: readonly number[]): Promise<NpyStreamWriter> {
    if (!shape.every((d) => Number.isInteger(d) && d >= 0))
      throw new Error(`npy: shape (${shape.join(', ')}) of ${path} must hold non-negative integers`);
    const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    let fh: FileHandle;
    try {
      fh = await open(tmp, 'w');
      await fh.write(npyHeader(shape));
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw new Error(`npy: cannot write ${path}: ${(err as Error).message}`);
    }
    return new NpyStreamWriter(path, shape, tmp, fh);
  }

  /** Appends values in C order. */
  async append(values: Float32Array): Promise<void> {
    if (this.written + values.length > this.total) {
      throw new Error(`npy: ${this.path} would receive more than the ${this.total} values of shape (${this.shape.join(', ')})`);
    }
    // The file is little-endian; so is every platform Node runs on, checked once below.
    await this.fh.write(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    this.written += values.length;
  }

  /** Completes the file (renames it into place); refuses if values are missing. */
  async close(): Promise<void> {
    await this.fh.close();
    if (this.written !== this.total) {
      await unlink(this.tmp).catch(() => undefined);
      throw new Error(
        `npy: ${this.path} received ${this.written} of the ${this.total} values of shape (${this.shape.join(', ')}); not written`,
      );
    }
    await rename(this.tmp, this.path);
  }

  /** Gives up: closes and deletes the temporary file. */
  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await unlink(this.tmp).catch(() => undefined);
  }
}

if (new Uint8Array(new Float32Array([1]).buffer)[3] !== 0x3f) {
  throw new Error('explain-npy-stream: this platform is big-endian; .npy output assumes little-endian float32');
}
