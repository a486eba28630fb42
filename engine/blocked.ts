import * as tf from '@tensorflow/tfjs';

/**
 * Dense kernels too large for one GPU storage binding, kept as column blocks.
 *
 * Why: TF.js binds a tensor's whole buffer in every shader that reads it, and WebGPU refuses a
 * storage binding larger than the device's `maxStorageBufferBindingSize` (128 MiB on Mesa's
 * lavapipe, many integrated GPUs and the WebGPU default; engine/backend.ts
 * maxStorageBindingBytes). VGG16's fc1 kernel [25088, 4096] is 411 MB: every matMul, relu(W) or
 * slice of it fails validation and yields garbage. Such a kernel is therefore split at load time,
 * from host data (engine/model-loader.ts), into column blocks W = [W_0 | W_1 | …], each small
 * enough to bind, and every use runs per block:
 *
 *   x·W  = concat_j (x·W_j)           along the output axis (matMulBlocked)
 *   s·Wᵀ = Σ_j s_j·W_jᵀ               s_j = s's columns of block j (matMulTransposedBlocked)
 *   ρ(W) = [ρ(W_0) | ρ(W_1) | …]      derived weights per block (mapBlocks, WeightCache.derived)
 *
 * A plain tf.Tensor2D kernel (every kernel on the host backends, which have no binding limit)
 * goes through exactly the single-tensor ops it always did: these helpers add no work there.
 */
export class BlockedMatrix {
  /** [rows, columns] of the whole matrix. */
  readonly shape: [number, number];
  /** First column of each block. */
  readonly offsets: number[];

  constructor(readonly blocks: tf.Tensor2D[]) {
    if (blocks.length === 0) throw new Error('BlockedMatrix: no blocks');
    const rows = blocks[0]!.shape[0];
    this.offsets = [];
    let cols = 0;
    for (const b of blocks) {
      if (b.shape[0] !== rows) throw new Error(`BlockedMatrix: blocks of ${rows} and ${b.shape[0]} rows`);
      this.offsets.push(cols);
      cols += b.shape[1];
    }
    this.shape = [rows, cols];
  }

  get size(): number {
    return this.shape[0] * this.shape[1];
  }

  dispose(): void {
    for (const b of this.blocks) b.dispose();
  }
}

/** A Dense layer's kernel [in, out]: one tensor, or column blocks where one would not bind. */
export type DenseKernel = tf.Tensor2D | BlockedMatrix;

/** A linear layer's kernel: a conv kernel (always one tensor) or a Dense kernel. */
export type Kernel = tf.Tensor | BlockedMatrix;

/** The blocks of a kernel; a single tensor is its own one block. */
export function blocksOf(k: Kernel): tf.Tensor[] {
  return k instanceof BlockedMatrix ? k.blocks : [k];
}

/** Block j of a kernel (a single tensor for j = 0). */
export function blockAt(k: Kernel, j: number): tf.Tensor {
  return k instanceof BlockedMatrix ? k.blocks[j]! : k;
}

/**
 * f applied to each block (each in its own tidy): a new BlockedMatrix, or f(k) for a single
 * tensor. For derived weights that are not cached, e.g. canonization's W·a; cached ones go
 * through WeightCache.derived.
 */
export function mapBlocks<T extends tf.Tensor>(k: T | BlockedMatrix, f: (block: tf.Tensor, j: number) => tf.Tensor): T | BlockedMatrix {
  if (!(k instanceof BlockedMatrix)) return tf.tidy(() => f(k, 0)) as T;
  return new BlockedMatrix(k.blocks.map((b, j) => tf.tidy(() => f(b, j)) as tf.Tensor2D));
}

/** x·W, [B, in]·[in, out] → [B, out]; per block and concatenated when W is blocked. */
export function matMulBlocked(x: tf.Tensor2D, k: DenseKernel): tf.Tensor2D {
  if (!(k instanceof BlockedMatrix)) return tf.matMul(x, k);
  return tf.tidy(() =>
    tf.concat(
      k.blocks.map((b) => tf.matMul(x, b)),
      1,
    ),
  ) as tf.Tensor2D;
}

/**
 * s·Wᵀ, [B, out]·[out, in] → [B, in], computed as (W·sᵀ)ᵀ with the small sᵀ materialised: wasm's
 * transposed-operand matmul is ~8× slower (VGG16 fc1, 6 rows: 570 ms vs 70 ms), and keeping a
 * transposed copy of W would cost another 400 MB of the 4 GiB wasm heap. Blocked:
 * (Σ_j W_j·s_jᵀ)ᵀ, s_j being the columns of s that block j produced.
 */
export function matMulTransposedBlocked(s: tf.Tensor2D, k: DenseKernel): tf.Tensor2D {
  return tf.tidy(() => {
    if (!(k instanceof BlockedMatrix)) return tf.transpose(tf.matMul(k, tf.transpose(s)));
    const parts = k.blocks.map((b, j) => tf.matMul(b, tf.transpose(tf.slice(s, [0, k.offsets[j]!], [-1, b.shape[1]]))));
    return tf.transpose(parts.length === 1 ? parts[0]! : tf.addN(parts));
  }) as tf.Tensor2D;
}

/**
 * Column widths of the blocks of a [rows, cols] float32 matrix so that each block holds at most
 * `maxBytes`: as few blocks as fit, of near-equal widths (rounded up to a multiple of 4 where that
 * still fits: TF.js's webgpu matmul vectorises by 4), the last one possibly narrower.
 */
export function columnBlockWidths(rows: number, cols: number, maxBytes: number): number[] {
  const maxWidth = Math.floor(maxBytes / (4 * rows));
  if (maxWidth < 1) throw new RangeError(`one column of ${rows} floats (${4 * rows} bytes) exceeds the block size of ${maxBytes} bytes`);
  const n = Math.ceil(cols / maxWidth);
  let width = Math.ceil(cols / n);
  if (Math.ceil(width / 4) * 4 <= maxWidth) width = Math.ceil(width / 4) * 4;
  const widths: number[] = [];
  for (let c = 0; c < cols; c += width) widths.push(Math.min(width, cols - c));
  return widths;
}

/**
 * Column blocks of a row-major [rows, cols] host matrix, each at most `maxBytes`. Built from host
 * data because the whole matrix may not be usable on the backend at all (slicing an over-limit
 * GPU tensor is itself a shader that binds it).
 */
export function blockedFromHost(data: Float32Array, rows: number, cols: number, maxBytes: number): BlockedMatrix {
  if (data.length !== rows * cols) throw new RangeError(`blockedFromHost: ${data.length} values for a ${rows}×${cols} matrix`);
  const blocks: tf.Tensor2D[] = [];
  let c0 = 0;
  for (const w of columnBlockWidths(rows, cols, maxBytes)) {
    const out = new Float32Array(rows * w);
    for (let r = 0; r < rows; r++) out.set(data.subarray(r * cols + c0, r * cols + c0 + w), r * w);
    blocks.push(tf.tensor2d(out, [rows, w]));
    c0 += w;
  }
  return new BlockedMatrix(blocks);
}
