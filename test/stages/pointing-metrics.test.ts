import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boxMask, energyCurve, pointingGameHit, selectionSize } from '../../stages/pointing-metrics.js';

const mask = (bits: number[]) => Uint8Array.from(bits);

test('boxMask: union of half-open boxes, clipped, fractional edges by x0 ≤ c < x1', () => {
  const m = boxMask(
    [
      { x0: 1, y0: 0, x1: 3, y1: 2 }, // rows 0-1, cols 1-2
      { x0: 2, y0: 1, x1: 9, y1: 3 }, // rows 1-2, cols 2-4 (clipped at w = 5)
      { x0: 0.5, y0: 2.2, x1: 1.5, y1: 4 }, // cols ⌈0.5⌉=1 … ⌈1.5⌉−1=1, rows 3 only
      { x0: NaN, y0: 0, x1: 5, y1: 4 }, // skipped
    ],
    4,
    5,
  );
  // prettier-ignore
  assert.deepEqual(Array.from(m), [
    0, 1, 1, 0, 0,
    0, 1, 1, 1, 1,
    0, 0, 1, 1, 1,
    0, 1, 0, 0, 0,
  ]);
  assert.deepEqual(Array.from(boxMask([], 2, 2)), [0, 0, 0, 0]);
});

test('selectionSize is ⌈E·|P|⌉ without floating-point overshoot', () => {
  assert.equal(selectionSize(0.35, 100), 35); // 0.35·100 = 35.00000000000001 in float64
  assert.equal(selectionSize(0.15, 20), 3); // 3.0000000000000004
  assert.equal(selectionSize(0.05, 7), 1); // ⌈0.35⌉
  assert.equal(selectionSize(0.5, 5), 3); // ⌈2.5⌉
  assert.equal(selectionSize(1, 7), 7);
});

test('energyCurve on distinct values: top ⌈E·|P|⌉ selected', () => {
  // values 5 4 3 / 2 1 -1 ; box pixels at 5, 3, 1 and the negative one
  const map = Float32Array.from([5, 4, 3, 2, 1, -1]);
  const inBox = mask([1, 0, 1, 0, 1, 1]);
  const curve = energyCurve(map, 2, 3, inBox, [0.2, 0.4, 0.5, 1]);
  assert.deepEqual(
    curve.map((p) => [p.energy, p.hits, p.misses, p.empty]),
    [
      [0.2, 1, 0, false], // {5}
      [0.4, 1, 1, false], // {5,4}
      [0.5, 2, 1, false], // k = 3: {5,4,3}
      [1, 3, 2, false], // all 5 positives; −1 is in the box but not positive
    ],
  );
  assert.deepEqual(
    curve.map((p) => p.accuracy),
    [1, 0.5, 2 / 3, 0.6],
  );
});

test('energyCurve tie rule: every value ≥ τ (the k-th largest) is selected', () => {
  // positives 3, 2, 2, 2, 1; the 2s sit at indices 1 (in box), 2, 3 (outside)
  const map = Float32Array.from([3, 2, 2, 2, 1, 0]);
  const inBox = mask([0, 1, 0, 0, 1, 1]);
  const curve = energyCurve(map, 1, 6, inBox, [0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(
    curve.map((p) => [p.hits, p.misses]),
    [
      [0, 1], // k=1, τ=3: {3}
      [1, 3], // k=2, τ=2: the three tied 2s all join → 4 selected, not 2
      [1, 3], // k=3, τ=2
      [1, 3], // k=4, τ=2
      [2, 3], // k=5, τ=1: everything positive; the 0 is not positive
    ],
  );
  assert.deepEqual(
    curve.map((p) => p.accuracy),
    [0, 0.25, 0.25, 0.25, 0.4],
  );
});

test('energyCurve: a map without positive values counts 0 and is flagged', () => {
  for (const map of [Float32Array.from([-1, -2, -0.5, -3]), new Float32Array(4), Float32Array.from([NaN, 0, -1, NaN])]) {
    const curve = energyCurve(map, 2, 2, mask([1, 1, 0, 0]), [0.05, 1]);
    assert.deepEqual(curve, [
      { energy: 0.05, hits: 0, misses: 0, accuracy: 0, empty: true },
      { energy: 1, hits: 0, misses: 0, accuracy: 0, empty: true },
    ]);
  }
});

test('energyCurve skips NaN and refuses energies outside (0, 1]', () => {
  const curve = energyCurve(Float32Array.from([NaN, 2, 1, NaN]), 2, 2, mask([1, 0, 1, 1]), [0.5, 1]);
  assert.deepEqual(
    curve.map((p) => [p.hits, p.misses]),
    [
      [0, 1],
      [1, 1],
    ],
  );
  assert.throws(() => energyCurve(new Float32Array(4), 2, 2, mask([0, 0, 0, 0]), [0]), RangeError);
  assert.throws(() => energyCurve(new Float32Array(4), 2, 2, mask([0, 0, 0, 0]), [1.5]), RangeError);
  assert.throws(() => energyCurve(new Float32Array(3), 2, 2, mask([0, 0, 0, 0]), [1]), RangeError);
});

test('energyCurve agrees with a brute-force count on a tie-heavy map', () => {
  // Deterministic pseudo-random integers in −2…5 on 30×30: many ties at every threshold.
  const h = 30;
  const w = 30;
  let s = 12345;
  const next = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) % 8;
  const map = Float32Array.from({ length: h * w }, () => next() - 2);
  const inBox = Uint8Array.from({ length: h * w }, (_, i) => (Math.floor(i / w) >= 10 && i % w < 15 ? 1 : 0));
  const energies = Array.from({ length: 20 }, (_, i) => (i + 1) * 0.05);
  const curve = energyCurve(map, h, w, inBox, energies);
  const positives = Array.from(map)
    .filter((v) => v > 0)
    .sort((a, b) => b - a);
  energies.forEach((e, j) => {
    const k = Math.ceil(Math.round(e * positives.length * 1e6) / 1e6);
    const tau = positives[k - 1]!;
    let hits = 0;
    let misses = 0;
    map.forEach((v, i) => {
      if (v > 0 && v >= tau) {
        if (inBox[i]) hits++;
        else misses++;
      }
    });
    assert.deepEqual([curve[j]!.hits, curve[j]!.misses], [hits, misses], `E = ${e}`);
  });
});

test('pointingGameHit: arg-max inside the box union, or within the tolerance', () => {
  const h = 5;
  const w = 5;
  const map = new Float32Array(h * w);
  map[0 * w + 4] = 9; // arg-max at (0, 4)
  // box: rows 3-4, cols 0-1; nearest box pixel (3, 1) at distance √(3² + 3²) = 4.2426
  const inBox = boxMask([{ x0: 0, y0: 3, x1: 2, y1: 5 }], h, w);
  assert.deepEqual(pointingGameHit(map, h, w, inBox, 0), { hit: false, hitTolerance: false });
  assert.deepEqual(pointingGameHit(map, h, w, inBox, 4.24), { hit: false, hitTolerance: false });
  assert.deepEqual(pointingGameHit(map, h, w, inBox, 4.25), { hit: false, hitTolerance: true });
  assert.deepEqual(pointingGameHit(map, h, w, inBox, 15), { hit: false, hitTolerance: true });
  map[4 * w + 0] = 10; // new arg-max inside the box
  assert.deepEqual(pointingGameHit(map, h, w, inBox, 0), { hit: true, hitTolerance: true });
});

test('pointingGameHit uses the first maximum on ties and misses an all-NaN map', () => {
  const inBox = mask([0, 0, 0, 1]);
  // equal maxima at (0,0) (outside) and (1,1) (inside): the first one decides
  assert.deepEqual(pointingGameHit(Float32Array.from([7, 0, 0, 7]), 2, 2, inBox, 0), { hit: false, hitTolerance: false });
  assert.deepEqual(pointingGameHit(Float32Array.from([7, 0, 0, 7]), 2, 2, inBox, 1.5), { hit: false, hitTolerance: true });
  assert.deepEqual(pointingGameHit(Float32Array.from([NaN, NaN, NaN, NaN]), 2, 2, inBox, 15), { hit: false, hitTolerance: false });
});
