/**
 * Statistics of paired per-image differences (docs/PROTOCOL.md §8): a seeded percentile
 * bootstrap interval of the mean difference, the Wilcoxon signed-rank p-value (the distributions
 * come from @stdlib, a maintained package, not from a hand-written CDF), and Holm's step-down
 * correction across a family of comparisons.
 */
import wilcoxon from '@stdlib/stats-wilcoxon';
import { Rng, hashKey } from '../../engine/seeded-random.js';

/** Resamples of the paired bootstrap (the protocol asks for at least 2,000). */
export const BOOTSTRAP_RESAMPLES = 2000;

export interface BootstrapCI {
  /** Number of finite differences used. */
  n: number;
  mean: number;
  /** 2.5% and 97.5% percentiles of the resampled means (NaN when n = 0). */
  lo: number;
  hi: number;
}

/** Quantile of sorted values with linear interpolation between order statistics (R's type 7). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const i = Math.floor(h);
  const j = Math.min(n - 1, i + 1);
  return sorted[i]! + (h - i) * (sorted[j]! - sorted[i]!);
}

/** Only the finite values: a NaN drop is a failed re-classification, never a zero. */
export function finiteValues(values: ArrayLike<number>): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) out.push(values[i]!);
  return Float64Array.from(out);
}

/**
 * Percentile bootstrap 95% interval of the mean of `values` (the per-image differences): draw n
 * values with replacement `resamples` times from a PRNG keyed by `seedKey`, so the same data and
 * key always give the same interval, whatever the order comparisons are computed in.
 */
export function bootstrapMeanCI(values: ArrayLike<number>, seedKey: number, resamples = BOOTSTRAP_RESAMPLES): BootstrapCI {
  const x = finiteValues(values);
  const n = x.length;
  if (n === 0) return { n, mean: NaN, lo: NaN, hi: NaN };
  let sum = 0;
  for (const v of x) sum += v;
  const mean = sum / n;
  const means = new Float64Array(resamples);
  const rng = new Rng(seedKey);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[Math.floor(rng.next() * n)]!;
    means[b] = s / n;
  }
  means.sort();
  return { n, mean, lo: quantileSorted(means, 0.025), hi: quantileSorted(means, 0.975) };
}

/**
 * Two-sided Wilcoxon signed-rank p-value of `differences` against 0. Zero differences are
 * dropped (Wilcoxon's own convention, R's default); exact distribution for n ≤ 50 without ties,
 * normal approximation with tie and continuity correction otherwise (as R's `wilcox.test`).
 * Every difference zero (or none at all): no evidence either way, p = 1.
 */
export function wilcoxonSignedRankP(differences: ArrayLike<number>): number {
  const x = finiteValues(differences);
  if (!x.some((v) => v !== 0)) return 1;
  // The two-sided exact p doubles a tail that can pass 0.5 at the centre; a p-value stops at 1.
  return Math.min(1, wilcoxon(x).pValue);
}

/**
 * Holm's step-down adjustment: sort the m p-values ascending, multiply the i-th smallest by
 * (m − i + 1), keep the running maximum, cap at 1; returned in the input order. NaN p-values
 * (comparisons with no data) stay NaN and do not count towards m.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const order = pValues
    .map((p, i) => ({ p, i }))
    .filter((e) => !Number.isNaN(e.p))
    .sort((a, b) => a.p - b.p);
  const m = order.length;
  const out = pValues.map(() => NaN);
  let running = 0;
  order.forEach((e, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * e.p));
    out[e.i] = running;
  });
  return out;
}

/** The bootstrap seed of one comparison: the run seed and the comparison's own name. */
export function comparisonSeed(seed: number, ...name: Array<string | number>): number {
  return hashKey(seed, 'paired-bootstrap', ...name.map(String));
}
