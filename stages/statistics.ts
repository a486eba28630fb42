/**
 * Summary statistics for the report's curves: a mean with its 95% confidence interval (Student t)
 * and the pooled hit ratio of the extended pointing game (docs/PROTOCOL.md §4–§5).
 */

export interface MeanCI {
  /** Mean of the finite values (NaN when there are none). */
  mean: number;
  /** Lower / upper end of the two-sided 95% interval `mean ± t(0.975, n−1)·sd/√n`. */
  lo: number;
  hi: number;
  /** Number of finite values used. */
  n: number;
  /** Sample standard deviation (n−1 denominator); NaN when n < 2. */
  sd: number;
  /** Values left out because they were NaN or ±Infinity (counted, never averaged in). */
  ignored: number;
}

/**
 * Two-sided 95% critical values t(0.975, df) for df = 1…30 (6 decimals, checked against
 * scipy.stats.t.ppf). Small-sample intervals are where a normal 1.96 would be badly too narrow.
 */
const T975: readonly number[] = [
  12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139, 2.200985, 2.178813, 2.160369,
  2.144787, 2.13145, 2.119905, 2.109816, 2.100922, 2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831,
  2.048407, 2.04523, 2.042272,
];

/** Normal 97.5% quantile: the limit of t as df → ∞. */
const Z975 = 1.959963984540054;

/**
 * t(0.975, df). Above the table, the Cornish–Fisher expansion of the t quantile around the normal
 * one (Abramowitz & Stegun 26.7.5) is accurate to < 1e-5 for df > 30 and tends to 1.96, so there
 * is no jump between a table and a "large n" constant.
 */
export function tCritical975(df: number): number {
  if (!(df >= 1)) throw new RangeError(`t critical value needs df >= 1, got ${df}`);
  const d = Math.floor(df);
  if (d <= T975.length) return T975[d - 1]!;
  const z = Z975;
  const z3 = z ** 3;
  const z5 = z ** 5;
  const z7 = z ** 7;
  const z9 = z ** 9;
  return (
    z +
    (z3 + z) / (4 * d) +
    (5 * z5 + 16 * z3 + 3 * z) / (96 * d ** 2) +
    (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * d ** 3) +
    (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / (92160 * d ** 4)
  );
}

/**
 * Mean and 95% confidence interval of `values`. Non-finite values are skipped and counted in
 * `ignored` (a NaN drop means a failed re-classification; averaging it in would poison the curve).
 * n = 1 gives a zero-width interval (lo = hi = mean) and sd NaN; n = 0 gives NaN everywhere.
 */
export function meanCI95(values: ArrayLike<number>): MeanCI {
  let n = 0;
  let ignored = 0;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) {
      n++;
      sum += v;
    } else ignored++;
  }
  if (n === 0) return { mean: NaN, lo: NaN, hi: NaN, n, sd: NaN, ignored };
  const mean = sum / n;
  if (n === 1) return { mean, lo: mean, hi: mean, n, sd: NaN, ignored };
  // Two-pass variance: the drops are small differences of probabilities, so avoid Σx² − n·mean².
  let ss = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) ss += (v - mean) ** 2;
  }
  const sd = Math.sqrt(ss / (n - 1));
  const half = tCritical975(n - 1) * (sd / Math.sqrt(n));
  return { mean, lo: mean - half, hi: mean + half, n, sd, ignored };
}

/**
 * Pooled pointing ratio Σhits / Σ(hits + misses) over images (docs/PROTOCOL.md §5). Unlike the mean of
 * per-image accuracies it weights images by how many pixels they select. NaN when nothing was
 * selected at all (there is no ratio to report).
 */
export function pooledRatio(hits: ArrayLike<number>, misses: ArrayLike<number>): number {
  if (hits.length !== misses.length) {
    throw new RangeError(`pooledRatio: ${hits.length} hit counts but ${misses.length} miss counts`);
  }
  let h = 0;
  let total = 0;
  for (let i = 0; i < hits.length; i++) {
    h += hits[i]!;
    total += hits[i]! + misses[i]!;
  }
  return total > 0 ? h / total : NaN;
}
