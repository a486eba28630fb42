import type { Row } from '../results/schemas.js';
import type { Sample } from '../data/types.js';

/**
 * The stats pre-pass: per shard, the pixel-wise sum of the preprocessed inputs (accumulated in
 * float64) and their count. The mean image — the masking fill of docs/PROTOCOL.md §4 — is Σ sums / Σ counts
 * over every shard, so it is the same however the dataset was sharded.
 */
export class PixelSum {
  private readonly sum: Float64Array;
  count = 0;
  constructor(readonly size: number) {
    this.sum = new Float64Array(size);
  }
  add(input: Float32Array): void {
    if (input.length !== this.size) throw new Error(`stats: an input has ${input.length} values, expected ${this.size}`);
    for (let i = 0; i < this.size; i++) this.sum[i]! += input[i]!;
    this.count++;
  }
  row(shard: number): Row {
    return { shard, count: this.count, sum: Float32Array.from(this.sum) };
  }
}

export function statsRow(samples: Sample[], shard: number, size: number): Row {
  const s = new PixelSum(size);
  for (const x of samples) s.add(x.input);
  return s.row(shard);
}

/** Mean image from every shard's stats row. */
export function meanImage(rows: Row[]): Float32Array {
  if (rows.length === 0) throw new Error('stats: no shard statistics to average');
  const size = (rows[0]!['sum'] as Float32Array).length;
  const acc = new Float64Array(size);
  let count = 0;
  for (const r of rows) {
    const s = r['sum'] as Float32Array;
    for (let i = 0; i < size; i++) acc[i]! += s[i]!;
    count += r['count'] as number;
  }
  if (count === 0) throw new Error('stats: the dataset has no readable image, so it has no mean image');
  return Float32Array.from(acc, (v) => v / count);
}
