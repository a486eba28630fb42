/**
 * The paper's quantitative claims (§5.3) judged on paired per-image evidence, by the rule of
 * docs/PROTOCOL.md §8: each claim is a set of checks (one per rival and patch size / energy
 * level); a check holds when the 95% paired bootstrap interval excludes its threshold in the
 * claimed direction, fails when it excludes it the other way, and is open otherwise. A claim is
 * `yes` when every check holds, `no` when any check fails, `inconclusive` otherwise, and
 * `not-measured` when the methods or targets it needs are missing.
 */
import { fmt } from './format.js';
import { methodLabel, sortMethods } from './method-order.js';
import type { FigureId } from './model.js';
import { findComparison, type PairedResults } from './paired.js';
import { bootstrapMeanCI, comparisonSeed } from './paired-stats.js';
import type { PerImageCollector, Series } from './per-image.js';
import type { Claim, Verdict } from './types.js';

/** "0.05–0.25, 0.4" style list of x values, merging runs of 3+ consecutive grid points. */
export function compactList(xs: readonly number[], grid: readonly number[], show: (x: number) => string): string {
  if (xs.length === 0) return 'none';
  const idx = xs.map((x) => grid.indexOf(x)).sort((a, b) => a - b);
  const parts: string[] = [];
  let start = idx[0]!;
  let prev = start;
  for (const i of [...idx.slice(1), Infinity]) {
    if (i === prev + 1) {
      prev = i;
      continue;
    }
    // A range only for 3+ grid points: "1–3" over the grid 1, 3, 5 would suggest a p = 2.
    if (prev - start >= 2) parts.push(`${show(grid[start]!)}–${show(grid[prev]!)}`);
    else for (let j = start; j <= prev; j++) parts.push(show(grid[j]!));
    start = prev = i;
  }
  return parts.join(', ');
}

/** One check of a claim: an interval, the side of `threshold` the claim says it lies on. */
export interface Check {
  /** "p=3, SGLRP − CLRP". */
  label: string;
  mean: number;
  lo: number;
  hi: number;
  /** +1: the claim says above the threshold; −1: below. */
  direction: 1 | -1;
  threshold: number;
  /** Wilcoxon signed-rank p after Holm (paired checks only). */
  pHolm?: number;
}

export type CheckOutcome = 'holds' | 'fails' | 'open';

/** The protocol's rule for one interval (docs/PROTOCOL.md §8). */
export function checkOutcome(c: Pick<Check, 'lo' | 'hi' | 'direction' | 'threshold'>): CheckOutcome {
  if (!Number.isFinite(c.lo) || !Number.isFinite(c.hi)) return 'open';
  const above = c.lo > c.threshold;
  const below = c.hi < c.threshold;
  if (c.direction > 0) return above ? 'holds' : below ? 'fails' : 'open';
  return below ? 'holds' : above ? 'fails' : 'open';
}

/** All checks hold → yes; any fails → no; otherwise inconclusive (none → not measured). */
export function claimVerdict(checks: readonly Check[]): Verdict {
  if (checks.length === 0) return 'not-measured';
  const outcomes = checks.map(checkOutcome);
  if (outcomes.includes('fails')) return 'no';
  return outcomes.every((o) => o === 'holds') ? 'yes' : 'inconclusive';
}

function checkText(c: Check): string {
  const p = c.pHolm === undefined ? '' : `, Wilcoxon p(Holm) ${fmtP(c.pHolm)}`;
  return `${c.label}: ${fmt(c.mean)} [${fmt(c.lo)}, ${fmt(c.hi)}]${p}`;
}

export function fmtP(p: number): string {
  if (!Number.isFinite(p)) return 'n/a';
  // Below double precision's reach the normal tail reads 0; say how small, not "0".
  if (p < 1e-15) return '< 1e-15';
  return p < 1e-4 ? p.toExponential(1) : p.toFixed(4);
}

/** The first `max` checks in words; the rest counted (every number is in paired-comparisons.csv). */
function listed(checks: readonly Check[], max: number): string {
  const shown = checks.slice(0, max).map(checkText).join('; ');
  return checks.length > max ? `${shown}; and ${checks.length - max} more (see paired-comparisons.csv)` : shown;
}

/** The evidence text: the test, a tally, the checks that failed or stayed open, then the rest. */
function evidence(test: string, checks: readonly Check[], extra = ''): string {
  const outcomes = checks.map(checkOutcome);
  const count = (o: CheckOutcome) => outcomes.filter((x) => x === o).length;
  const notHolding = checks.filter((_, i) => outcomes[i] !== 'holds');
  const holding = checks.filter((_, i) => outcomes[i] === 'holds');
  const parts = [
    `${test}. Holds in ${count('holds')} of ${checks.length} checks, fails in ${count('fails')}, open in ${count('open')}.`,
    notHolding.length ? `Not holding: ${listed(notHolding, 12)}.` : '',
    holding.length ? `Holding: ${listed(holding, 4)}.` : '',
    extra,
  ];
  return parts.filter((s) => s !== '').join(' ');
}

function pairedTest(r: PairedResults): string {
  return `Test: paired bootstrap 95% CI of the per-image difference (${r.resamples.toLocaleString('en')} resamples, seed ${r.seed}); Wilcoxon signed-rank p, Holm-corrected per figure`;
}

function pairedChecks(r: PairedResults, figure: FigureId, a: string, rivals: readonly string[], direction: 1 | -1, xName: string): Check[] {
  const xs = [...new Set(r.comparisons.filter((c) => c.figure === figure).map((c) => c.x))].sort((u, v) => u - v);
  const checks: Check[] = [];
  for (const x of xs) {
    for (const b of rivals) {
      const c = findComparison(r, figure, x, a, b);
      if (!c || c.n === 0) continue;
      checks.push({
        label: `${xName}=${x} ${methodLabel(a)} − ${methodLabel(b)}`,
        mean: c.meanDiff,
        lo: c.lo,
        hi: c.hi,
        direction,
        threshold: 0,
        pHolm: c.pHolm,
      });
    }
  }
  return checks;
}

function methodsIn(data: PerImageCollector, metric: Series['metric'], targetKind: string): string[] {
  return sortMethods(
    data
      .allSeries()
      .filter((s) => s.metric === metric && s.targetKind === targetKind)
      .map((s) => s.method),
  );
}

function missingNote(wanted: readonly string[], have: readonly string[]): string {
  const missing = wanted.filter((m) => !have.includes(m));
  return missing.length ? `(${missing.map(methodLabel).join(', ')} not measured.)` : '';
}

function sglrpDropClaim(r: PairedResults, data: PerImageCollector, kind: 'gt' | 'top2', id: number): Claim {
  const have = methodsIn(data, 'masking', kind);
  const wanted = kind === 'gt' ? ['lrp', 'clrp'] : have.filter((m) => m !== 'sglrp');
  const statement =
    kind === 'gt'
      ? 'Targeting the ground truth, masking the maximal SGLRP patch drops y_t more than masking the maximal CLRP or LRP patch, at every patch size.'
      : 'Targeting the 2nd most probable class, SGLRP drops y_t more than every other method (best across all patch sizes).';
  const source = kind === 'gt' ? '§5.3.1, Fig. 11a' : '§5.3.2, Fig. 11b';
  const rivals = wanted.filter((m) => have.includes(m));
  if (!have.includes('sglrp') || rivals.length === 0) {
    const need = !have.includes('sglrp')
      ? `no SGLRP ${kind} masking rows`
      : `no ${kind} masking rows for ${kind === 'gt' ? 'CLRP or LRP' : 'any other method'}`;
    return { id, source, statement, agrees: 'not-measured', evidence: `${need} in this run.` };
  }
  const checks = pairedChecks(r, kind === 'gt' ? 'fig11a' : 'fig11b', 'sglrp', rivals, 1, 'p');
  return {
    id,
    source,
    statement,
    agrees: claimVerdict(checks),
    evidence: evidence(`${pairedTest(r)}; claimed: SGLRP − rival > 0 (drop of y_t, ${kind})`, checks, missingNote(wanted, have)),
  };
}

function sglrpPointingClaim(r: PairedResults, data: PerImageCollector): Claim {
  const statement = 'SGLRP has the highest pointing accuracy of the LRP-based methods (LRP, CLRP, SGLRP), at every energy level.';
  const source = '§5.3.3, Fig. 13';
  const have = methodsIn(data, 'pointing', 'gt');
  const rivals = ['lrp', 'clrp'].filter((m) => have.includes(m));
  if (!have.includes('sglrp') || rivals.length === 0) {
    return {
      id: 3,
      source,
      statement,
      agrees: 'not-measured',
      evidence: !have.includes('sglrp') ? 'no SGLRP pointing rows in this run.' : 'no LRP or CLRP pointing rows in this run.',
    };
  }
  const checks = pairedChecks(r, 'fig13', 'sglrp', rivals, 1, 'E');
  return {
    id: 3,
    source,
    statement,
    agrees: claimVerdict(checks),
    evidence: evidence(`${pairedTest(r)}; claimed: SGLRP − rival > 0 (pointing accuracy)`, checks, missingNote(['lrp', 'clrp'], have)),
  };
}

/** Below this mean accuracy (its whole interval), Random counts as "near zero". */
export const NEAR_ZERO = 0.05;

/** Checks on one method's own per-image values against a fixed threshold (bootstrap CI of the mean). */
function levelChecks(
  data: PerImageCollector,
  seed: number,
  resamples: number,
  metric: Series['metric'],
  kind: string,
  method: string,
  direction: 1 | -1,
  threshold: number,
  xName: string,
): Check[] {
  return data
    .allSeries()
    .filter((s) => s.metric === metric && s.targetKind === kind && s.method === method)
    .sort((u, v) => u.x - v.x)
    .map((s) => ({ s, ci: bootstrapMeanCI(s.values, comparisonSeed(seed, 'level', metric, kind, method, s.x), resamples) }))
    .filter(({ ci }) => ci.n > 0)
    .map(({ s, ci }) => ({ label: `${xName}=${s.x} ${methodLabel(method)}`, mean: ci.mean, lo: ci.lo, hi: ci.hi, direction, threshold }));
}

function randomPointingClaim(r: PairedResults, data: PerImageCollector): Claim {
  const statement = 'Random has a near-zero pointing accuracy, the lowest of all methods, at every energy level.';
  const source = '§5.3.3, Fig. 13';
  const have = methodsIn(data, 'pointing', 'gt');
  const others = have.filter((m) => m !== 'random');
  if (!have.includes('random') || others.length === 0) {
    return {
      id: 4,
      source,
      statement,
      agrees: 'not-measured',
      evidence: !have.includes('random') ? 'no Random pointing rows in this run.' : 'no other method has pointing rows to compare with.',
    };
  }
  const lowest = pairedChecks(r, 'fig13', 'random', others, -1, 'E');
  const level = levelChecks(data, r.seed, r.resamples, 'pointing', 'gt', 'random', -1, NEAR_ZERO, 'E');
  const checks = [...lowest, ...level];
  const note =
    `"Near zero" is checked as Random's own bootstrap 95% CI lying below ${NEAR_ZERO}.` +
    (level.some((c) => checkOutcome(c) !== 'holds')
      ? " A dense uniform random map selects pixels in proportion to area, so its accuracy approaches the boxes' share of the image."
      : '');
  return {
    id: 4,
    source,
    statement,
    agrees: claimVerdict(checks),
    evidence: evidence(`${pairedTest(r)}; claimed: Random − other < 0`, checks, note),
  };
}

function top2IncreaseClaim(r: PairedResults, data: PerImageCollector): Claim {
  const statement =
    'Targeting the 2nd most probable class, masking the maximal point of LRP, and a random point, increases y_t (negative drop) at every patch size.';
  const source = '§5.3.2, Fig. 11b';
  const have = methodsIn(data, 'masking', 'top2');
  const methods = ['lrp', 'random'].filter((m) => have.includes(m));
  if (methods.length === 0)
    return { id: 5, source, statement, agrees: 'not-measured', evidence: 'no top2 masking rows for LRP or Random in this run.' };
  const checks = methods.flatMap((m) => levelChecks(data, r.seed, r.resamples, 'masking', 'top2', m, -1, 0, 'p'));
  const test = `Test: bootstrap 95% CI of the mean per-image drop (${r.resamples.toLocaleString('en')} resamples, seed ${r.seed}); claimed: drop < 0`;
  return { id: 5, source, statement, agrees: claimVerdict(checks), evidence: evidence(test, checks, missingNote(['lrp', 'random'], have)) };
}

export function evaluateClaims(r: PairedResults, data: PerImageCollector): Claim[] {
  return [
    sglrpDropClaim(r, data, 'gt', 1),
    sglrpDropClaim(r, data, 'top2', 2),
    sglrpPointingClaim(r, data),
    randomPointingClaim(r, data),
    top2IncreaseClaim(r, data),
  ];
}
