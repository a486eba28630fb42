/**
 * Keeps the per-image values the paired statistics, the labelled examples and the image browser
 * need (the curve Accumulator keeps only group values): each image's masking drops and pointing
 * accuracies by method, and its forward-pass summary. Images are numbered densely in the order
 * they arrive, and every series is an array indexed by that number (NaN = no row), so pairing two
 * methods is a walk over one index and 50,000 images cost arrays, not millions of map entries.
 */
import type { TableColumns } from '../../results/table-io.js';
import type { TableName } from '../../results/schemas.js';
import { energyKey } from './aggregate.js';

/** What the forward table says about one image. */
export interface ForwardInfo {
  imageIndex: number;
  label: number;
  /** The five most probable classes and their probabilities, most probable first. */
  top: number[];
  pTop: number[];
  pGt: number;
}

/** One series: a metric of one method at one x (patch size or energy) for one target kind. */
export interface Series {
  /** 'masking' (drop) or 'pointing' (accuracy). */
  metric: 'masking' | 'pointing';
  /** gt / top2 for masking; 'gt' for pointing (always scored on the ground truth's boxes). */
  targetKind: string;
  method: string;
  x: number;
  /** Value by image number; NaN where the image has no row. */
  values: number[];
}

export class PerImageCollector {
  /** Image ids by image number. */
  readonly ids: string[] = [];
  readonly forward: (ForwardInfo | undefined)[] = [];
  private readonly numbers = new Map<string, number>();
  private readonly series = new Map<string, Series>();

  /** A ShardSink (see load-runs.ts): rows arrive once per image and table. */
  readonly add = (table: TableName | string, columns: TableColumns['columns'], rows: readonly number[]): void => {
    if (table === 'masking') this.addValues(columns, rows, 'masking', 'drop', 'patch_size');
    else if (table === 'pointing') this.addValues(columns, rows, 'pointing', 'accuracy', 'energy');
    else if (table === 'forward') this.addForward(columns, rows);
  };

  /** The image's number, or undefined when no table row named it. */
  numberOf(id: string): number | undefined {
    return this.numbers.get(id);
  }

  private imageNumber(id: string): number {
    let n = this.numbers.get(id);
    if (n === undefined) {
      n = this.ids.length;
      this.ids.push(id);
      this.numbers.set(id, n);
    }
    return n;
  }

  /** Every series, in no particular order. */
  allSeries(): Series[] {
    return [...this.series.values()];
  }

  get(metric: Series['metric'], targetKind: string, method: string, x: number): Series | undefined {
    return this.series.get(seriesKey(metric, targetKind, method, x));
  }

  private addValues(
    col: TableColumns['columns'],
    rows: readonly number[],
    metric: Series['metric'],
    valueColumn: string,
    xColumn: string,
  ): void {
    const ids = col.image_id as string[];
    const method = col.method as string[];
    const kind = metric === 'masking' ? (col.target_kind as string[]) : null;
    const xs = col[xColumn] as ArrayLike<number>;
    const values = col[valueColumn] as ArrayLike<number>;
    for (const i of rows) {
      const x = metric === 'pointing' ? energyKey(xs[i]!) : xs[i]!;
      const targetKind = kind ? kind[i]! : 'gt';
      const key = seriesKey(metric, targetKind, method[i]!, x);
      let s = this.series.get(key);
      if (!s) this.series.set(key, (s = { metric, targetKind, method: method[i]!, x, values: [] }));
      const n = this.imageNumber(ids[i]!);
      while (s.values.length <= n) s.values.push(NaN);
      s.values[n] = values[i]!;
    }
  }

  private addForward(col: TableColumns['columns'], rows: readonly number[]): void {
    const ids = col.image_id as string[];
    const topCols = [1, 2, 3, 4, 5].map((k) => col[`top${k}`] as ArrayLike<number>);
    const pCols = [1, 2, 3, 4, 5].map((k) => col[`p_top${k}`] as ArrayLike<number>);
    for (const i of rows) {
      const n = this.imageNumber(ids[i]!);
      this.forward[n] = {
        imageIndex: (col.image_index as ArrayLike<number>)[i]!,
        label: (col.label as ArrayLike<number>)[i]!,
        top: topCols.map((c) => c[i]!),
        pTop: pCols.map((c) => c[i]!),
        pGt: (col.p_gt as ArrayLike<number>)[i]!,
      };
    }
  }
}

function seriesKey(metric: string, targetKind: string, method: string, x: number): string {
  return `${metric}\u0000${targetKind}\u0000${method}\u0000${x}`;
}

/** Per-image `a − b` where both are finite (the images two methods share). */
export function pairedDifferences(a: Series, b: Series): number[] {
  const out: number[] = [];
  const n = Math.min(a.values.length, b.values.length);
  for (let i = 0; i < n; i++) {
    const d = a.values[i]! - b.values[i]!;
    if (Number.isFinite(d)) out.push(d);
  }
  return out;
}

/** Top-1 / top-5 accuracy of the classifier over the images with a known label. */
export function classifierAccuracy(forward: readonly (ForwardInfo | undefined)[]): { labelled: number; top1: number; top5: number } {
  let labelled = 0;
  let top1 = 0;
  let top5 = 0;
  for (const f of forward) {
    if (!f || f.label < 0) continue;
    labelled++;
    if (f.top[0] === f.label) top1++;
    if (f.top.includes(f.label)) top5++;
  }
  return { labelled, top1: labelled ? top1 / labelled : NaN, top5: labelled ? top5 / labelled : NaN };
}
