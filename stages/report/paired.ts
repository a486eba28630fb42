/**
 * Paired comparisons of methods (docs/PROTOCOL.md §8): every method is evaluated on the same
 * images, so two methods are compared through their per-image differences at each patch size /
 * energy level: the mean difference with its seeded paired bootstrap 95% interval and the
 * Wilcoxon signed-rank p-value, Holm-corrected across all comparisons of one figure.
 */
import { sortMethods } from './method-order.js';
import type { FigureId } from './model.js';
import { BOOTSTRAP_RESAMPLES, bootstrapMeanCI, comparisonSeed, holmAdjust, wilcoxonSignedRankP } from './paired-stats.js';
import { pairedDifferences, type PerImageCollector, type Series } from './per-image.js';

/** The method every other is compared with by default. */
export const REFERENCE_METHOD = 'sglrp';

export interface PairedComparison {
  figure: FigureId;
  metric: Series['metric'];
  targetKind: string;
  /** Patch size (masking) or energy level (pointing). */
  x: number;
  /** The difference is a − b per image (higher is better for both metrics, so > 0 favours a). */
  a: string;
  b: string;
  n: number;
  meanDiff: number;
  lo: number;
  hi: number;
  /** Two-sided Wilcoxon signed-rank p-value, and after Holm's correction within the figure. */
  p: number;
  pHolm: number;
}

export interface PairedOptions {
  /** The run seed: the bootstrap of each comparison is keyed by it and the comparison's name. */
  seed: number;
  resamples?: number;
  /** Every pair of methods, not only each rival against SGLRP. */
  fullMatrix?: boolean;
}

export interface PairedResults {
  comparisons: PairedComparison[];
  resamples: number;
  seed: number;
  fullMatrix: boolean;
}

export function figureOf(metric: Series['metric'], targetKind: string): FigureId | null {
  if (metric === 'pointing') return 'fig13';
  return targetKind === 'gt' ? 'fig11a' : targetKind === 'top2' ? 'fig11b' : null;
}

/** The method pairs (a, b) to compare, a − b: each rival against SGLRP, or every pair. */
export function methodPairs(methods: readonly string[], fullMatrix: boolean): [string, string][] {
  const sorted = sortMethods(methods);
  if (!fullMatrix)
    return sorted.includes(REFERENCE_METHOD) ? sorted.filter((m) => m !== REFERENCE_METHOD).map((m) => [REFERENCE_METHOD, m]) : [];
  const pairs: [string, string][] = [];
  for (let i = 0; i < sorted.length; i++) for (let j = i + 1; j < sorted.length; j++) pairs.push([sorted[i]!, sorted[j]!]);
  return pairs;
}

export function pairedComparisons(data: PerImageCollector, opts: PairedOptions): PairedResults {
  const resamples = opts.resamples ?? BOOTSTRAP_RESAMPLES;
  const fullMatrix = opts.fullMatrix ?? false;
  const groups = new Map<
    string,
    { figure: FigureId; metric: Series['metric']; targetKind: string; x: number; byMethod: Map<string, Series> }
  >();
  for (const s of data.allSeries()) {
    const figure = figureOf(s.metric, s.targetKind);
    if (!figure) continue;
    const key = `${figure}\u0000${s.x}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { figure, metric: s.metric, targetKind: s.targetKind, x: s.x, byMethod: new Map() }));
    g.byMethod.set(s.method, s);
  }
  const comparisons: PairedComparison[] = [];
  for (const g of [...groups.values()].sort((u, v) => u.figure.localeCompare(v.figure) || u.x - v.x)) {
    for (const [a, b] of methodPairs([...g.byMethod.keys()], fullMatrix)) {
      const diffs = pairedDifferences(g.byMethod.get(a)!, g.byMethod.get(b)!);
      const ci = bootstrapMeanCI(diffs, comparisonSeed(opts.seed, g.figure, g.x, a, b), resamples);
      comparisons.push({
        figure: g.figure,
        metric: g.metric,
        targetKind: g.targetKind,
        x: g.x,
        a,
        b,
        n: ci.n,
        meanDiff: ci.mean,
        lo: ci.lo,
        hi: ci.hi,
        p: ci.n > 0 ? wilcoxonSignedRankP(diffs) : NaN,
        pHolm: NaN,
      });
    }
  }
  for (const figure of new Set(comparisons.map((c) => c.figure))) {
    const family = comparisons.filter((c) => c.figure === figure);
    holmAdjust(family.map((c) => c.p)).forEach((p, i) => (family[i]!.pHolm = p));
  }
  return { comparisons, resamples, seed: opts.seed, fullMatrix };
}

/**
 * The comparison of a against b at one figure and x, as a − b (a stored b − a comparison is
 * returned with its difference and interval negated), or undefined when not computed.
 */
export function findComparison(results: PairedResults, figure: FigureId, x: number, a: string, b: string): PairedComparison | undefined {
  const direct = results.comparisons.find((c) => c.figure === figure && c.x === x && c.a === a && c.b === b);
  if (direct) return direct;
  const r = results.comparisons.find((c) => c.figure === figure && c.x === x && c.a === b && c.b === a);
  return r ? { ...r, a, b, meanDiff: -r.meanDiff, lo: -r.hi, hi: -r.lo } : undefined;
}
