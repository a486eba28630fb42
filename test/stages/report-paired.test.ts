import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOutcome, claimVerdict, evaluateClaims } from '../../stages/report/claims.js';
import { chooseExamples, ExampleKeeper, sglrpAdvantage } from '../../stages/report/example-choice.js';
import { findComparison, methodPairs, pairedComparisons } from '../../stages/report/paired.js';
import { bootstrapMeanCI, holmAdjust, quantileSorted, wilcoxonSignedRankP } from '../../stages/report/paired-stats.js';
import { classifierAccuracy, PerImageCollector } from '../../stages/report/per-image.js';

test('Wilcoxon signed-rank p-values match hand-computed exact values', () => {
  // n = 5, all positive: W− = 0, P(W− ≤ 0) = 1/32, two-sided 2/32.
  assert.ok(Math.abs(wilcoxonSignedRankP([1, 2, 3, 4, 5]) - 0.0625) < 1e-12);
  // n = 6, ranks 1..6, only rank 3 negative: W− = 3; subsets of {1..6} summing to ≤ 3: {}, {1}, {2}, {3}, {1,2} → 5/64, two-sided 10/64.
  assert.ok(Math.abs(wilcoxonSignedRankP([1, 2, -3, 4, 5, 6]) - 10 / 64) < 1e-12);
  // Symmetric data: the statistic sits at the centre; a p-value is capped at 1.
  assert.equal(wilcoxonSignedRankP([1, -1.5, 2, -2.5]) <= 1, true);
  // All differences zero: no evidence, p = 1.
  assert.equal(wilcoxonSignedRankP([0, 0, 0]), 1);
});

test('Wilcoxon normal approximation for n > 50 matches the textbook formula', () => {
  // 60 distinct positive differences, ranks 1..60, W+ = 1830, mean n(n+1)/4 = 915,
  // sd = √(n(n+1)(2n+1)/24) = √(60·61·121/24) = √18452.5; continuity correction 0.5.
  const x = Array.from({ length: 60 }, (_, i) => i + 1);
  const z = (1830 - 915 - 0.5) / Math.sqrt(18452.5);
  // Two-sided p = 2(1 − Φ(z)) with z ≈ 6.732; Φ tail from the complementary error function series is ~1.67e-11.
  const p = wilcoxonSignedRankP(x);
  assert.ok(z > 6.73 && z < 6.74);
  assert.ok(p > 1e-11 && p < 3e-11, `p = ${p}`);
});

test('Holm adjustment: hand-computed step-down values in input order, NaN left out', () => {
  // sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → running max 0.06.
  const adj = holmAdjust([0.01, 0.04, 0.03, 0.005]);
  [0.03, 0.06, 0.06, 0.02].forEach((v, i) => assert.ok(Math.abs(adj[i]! - v) < 1e-12, `${i}: ${adj[i]}`));
  const withNaN = holmAdjust([0.2, NaN, 0.6]);
  assert.ok(Math.abs(withNaN[0]! - 0.4) < 1e-12);
  assert.ok(Number.isNaN(withNaN[1]!));
  assert.ok(Math.abs(withNaN[2]! - 0.6) < 1e-12);
  assert.equal(holmAdjust([0.9, 0.8])[0], 1);
});

test('quantile type 7 and the bootstrap interval: constant data, seeded repeatability, normal width', () => {
  assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantileSorted([0, 10], 0.025), 0.25);
  const c = bootstrapMeanCI([0.25, 0.25, 0.25], 1);
  assert.deepEqual([c.n, c.mean, c.lo, c.hi], [3, 0.25, 0.25, 0.25]);
  const values = Array.from({ length: 400 }, (_, i) => Math.sin(i * 12.9898) * 0.5 + 0.1);
  const a = bootstrapMeanCI(values, 7);
  assert.deepEqual(bootstrapMeanCI(values, 7), a);
  assert.ok(a.lo < a.mean && a.mean < a.hi);
  // The percentile interval of a mean of 400 values is close to mean ± 1.96·sd/√n.
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));
  const half = (1.96 * sd) / Math.sqrt(values.length);
  assert.ok(Math.abs((a.hi - a.lo) / 2 - half) / half < 0.12, `${(a.hi - a.lo) / 2} vs ${half}`);
  assert.ok(Number.isNaN(bootstrapMeanCI([NaN], 1).mean));
});

test('verdict rule: yes only when every interval excludes 0 in the claimed direction, no when one excludes it the other way', () => {
  const up = (lo: number, hi: number) => ({ label: 'x', mean: (lo + hi) / 2, lo, hi, direction: 1 as const, threshold: 0 });
  assert.equal(checkOutcome(up(0.01, 0.2)), 'holds');
  assert.equal(checkOutcome(up(-0.2, -0.01)), 'fails');
  assert.equal(checkOutcome(up(-0.01, 0.2)), 'open');
  assert.equal(checkOutcome({ lo: -0.3, hi: -0.1, direction: -1, threshold: 0 }), 'holds');
  assert.equal(claimVerdict([up(0.01, 0.2), up(0.1, 0.3)]), 'yes');
  assert.equal(claimVerdict([up(0.01, 0.2), up(-0.1, 0.3)]), 'inconclusive');
  assert.equal(claimVerdict([up(0.01, 0.2), up(-0.1, 0.3), up(-0.3, -0.2)]), 'no');
  assert.equal(claimVerdict([]), 'not-measured');
});

/** Feeds a collector masking rows: per image, per method, one drop at each patch size. */
function collector(drops: Record<string, number[]>, kind = 'gt', patchSizes = [1, 3]): PerImageCollector {
  const c = new PerImageCollector();
  const cols = {
    image_id: [] as string[],
    method: [] as string[],
    target_kind: [] as string[],
    patch_size: [] as number[],
    drop: [] as number[],
  };
  for (const [method, values] of Object.entries(drops)) {
    values.forEach((v, i) => {
      for (const p of patchSizes) {
        cols.image_id.push(`img${i}`);
        cols.method.push(method);
        cols.target_kind.push(kind);
        cols.patch_size.push(p);
        cols.drop.push(v);
      }
    });
  }
  c.add(
    'masking',
    cols as never,
    cols.drop.map((_, i) => i),
  );
  return c;
}

test('paired comparisons: SGLRP − rival per image, intervals, Holm within the figure, claim 1 verdicts', () => {
  const n = 30;
  const base = Array.from({ length: n }, (_, i) => 0.1 + 0.01 * ((i * 7) % 11));
  // SGLRP beats LRP on every image by 0.05 ± 0.01; CLRP equals SGLRP on half the images and is 0.02 below / above alternately.
  const data = collector({
    sglrp: base.map((b) => b + 0.05),
    lrp: base.map((b, i) => b + (i % 2 ? 0.01 : -0.01)),
    clrp: base.map((b, i) => b + 0.05 + (i % 2 ? 0.02 : -0.02)),
  });
  const r = pairedComparisons(data, { seed: 0 });
  assert.equal(r.comparisons.length, 2 * 2); // 2 patch sizes × 2 rivals
  const vsLrp = findComparison(r, 'fig11a', 1, 'sglrp', 'lrp')!;
  assert.equal(vsLrp.n, n);
  assert.ok(Math.abs(vsLrp.meanDiff - 0.05) < 1e-9);
  assert.ok(vsLrp.lo > 0.04 && vsLrp.hi < 0.06);
  assert.ok(vsLrp.p < 1e-5);
  assert.ok(vsLrp.pHolm >= vsLrp.p);
  const reversed = findComparison(r, 'fig11a', 1, 'lrp', 'sglrp')!;
  assert.ok(Math.abs(reversed.meanDiff + 0.05) < 1e-9 && Math.abs(reversed.hi + vsLrp.lo) < 1e-12);
  const vsClrp = findComparison(r, 'fig11a', 3, 'sglrp', 'clrp')!;
  assert.ok(vsClrp.lo < 0 && vsClrp.hi > 0);
  const claims = evaluateClaims(r, data);
  assert.equal(claims[0]!.agrees, 'inconclusive');
  assert.match(claims[0]!.evidence, /paired bootstrap 95% CI/);
  assert.match(claims[0]!.evidence, /Wilcoxon signed-rank/);
  assert.match(claims[0]!.evidence, /Holds in 2 of 4 checks, fails in 0, open in 2/);
  assert.equal(claims[2]!.agrees, 'not-measured');

  // Without CLRP, SGLRP's lead over LRP is clear at both patch sizes: yes.
  const clear = collector({ sglrp: base.map((b) => b + 0.05), lrp: base.map((b, i) => b + (i % 2 ? 0.01 : -0.01)) });
  const claims2 = evaluateClaims(pairedComparisons(clear, { seed: 0 }), clear);
  assert.equal(claims2[0]!.agrees, 'yes');
  assert.match(claims2[0]!.evidence, /CLRP not measured/);
  // LRP clearly better than SGLRP: no.
  const worse = collector({ sglrp: base, lrp: base.map((b) => b + 0.05) });
  assert.equal(evaluateClaims(pairedComparisons(worse, { seed: 0 }), worse)[0]!.agrees, 'no');
});

test('method pairs: rivals against SGLRP by default, every pair in the full matrix', () => {
  assert.deepEqual(methodPairs(['random', 'sglrp', 'lrp'], false), [
    ['sglrp', 'lrp'],
    ['sglrp', 'random'],
  ]);
  assert.equal(methodPairs(['lrp', 'clrp', 'sglrp', 'random'], true).length, 6);
  assert.deepEqual(methodPairs(['lrp', 'clrp'], false), []);
});

test('claim 5 uses the one-sample interval of the drop: clearly negative LRP and Random → yes', () => {
  const data = collector(
    { lrp: Array.from({ length: 20 }, (_, i) => -0.1 - 0.001 * i), random: Array.from({ length: 20 }, (_, i) => -0.05 - 0.001 * i) },
    'top2',
  );
  const claims = evaluateClaims(pairedComparisons(data, { seed: 3 }), data);
  assert.equal(claims[4]!.agrees, 'yes');
  assert.match(claims[4]!.evidence, /bootstrap 95% CI of the mean per-image drop/);
});

test('example choice: biggest wins and losses by advantage, seeded random ones, union of shards holds the global choice', () => {
  assert.ok(
    Math.abs(
      sglrpAdvantage([
        { method: 'sglrp', targetKind: 'gt', patchSize: 1, drop: 0.5 },
        { method: 'lrp', targetKind: 'gt', patchSize: 1, drop: 0.1 },
        { method: 'clrp', targetKind: 'gt', patchSize: 1, drop: 0.3 },
        { method: 'sglrp', targetKind: 'top2', patchSize: 1, drop: 0 },
        { method: 'lrp', targetKind: 'top2', patchSize: 1, drop: 0.2 },
      ]) -
        (0.3 + -0.2) / 2,
    ) < 1e-12,
  );
  const cands = Array.from({ length: 40 }, (_, i) => ({ imageId: `i${i}`, advantage: (i - 20) / 10, randomKey: (i * 7919) % 40 }));
  const global = chooseExamples(cands, 2);
  assert.deepEqual(
    global.filter((c) => c.reason === 'win').map((c) => c.candidate.imageId),
    ['i39', 'i38'],
  );
  assert.deepEqual(
    global.filter((c) => c.reason === 'loss').map((c) => c.candidate.imageId),
    ['i0', 'i1'],
  );
  // Shards of 10 keep their own candidates; choosing among the union gives the same rows.
  const kept = [0, 1, 2, 3].flatMap((s) => {
    const k = new ExampleKeeper<null>(2);
    for (const c of cands.slice(s * 10, s * 10 + 10)) k.offer(c, null);
    return k.chosen();
  });
  assert.ok(kept.length <= 4 * 6);
  assert.deepEqual(
    chooseExamples(kept, 2).map((c) => [c.candidate.imageId, c.reason]),
    global.map((c) => [c.candidate.imageId, c.reason]),
  );
});

test('classifier top-1 / top-5 accuracy over labelled images only', () => {
  const f = (label: number, top: number[]) => ({ imageIndex: 0, label, top, pTop: [0.5, 0.2, 0.1, 0.1, 0.1], pGt: 0.5 });
  const acc = classifierAccuracy([f(1, [1, 2, 3, 4, 5]), f(3, [1, 2, 3, 4, 5]), f(9, [1, 2, 3, 4, 5]), f(-1, [1, 2, 3, 4, 5]), undefined]);
  assert.deepEqual(acc, { labelled: 3, top1: 1 / 3, top5: 2 / 3 });
});
