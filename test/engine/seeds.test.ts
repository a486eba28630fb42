import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../engine/backend.js';
import { ExplainEngine } from '../../engine/explain-engine.js';
import { runSync } from '../../engine/reads.js';
import { contrast } from '../../engine/maps.js';
import { relevanceMethod } from '../../engine/methods/index.js';
import type { SeedFormulas } from '../../engine/methods/method.js';
import { softmax64 } from '../../engine/seeds.js';

const seedsFor = (method: string, formulas: SeedFormulas, logits: Float32Array, t: number) =>
  relevanceMethod(method).seeds(formulas, logits, t);
import { denseToyGraph } from '../util/engine-fixtures.js';

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);
const argmax = (a: ArrayLike<number>) => Array.from(a).reduce((b, v, i, arr) => (v > arr[b]! ? i : b), 0);

test('paper seeds: LRP = z_t at t; CLRP and SGLRP seeds sum to zero (Eq. 7, 8, 10)', () => {
  const z = Float32Array.from([2, -1, 0.5, 3]);
  const lrp = seedsFor('lrp', 'paper', z, 1);
  assert.deepEqual(Array.from(lrp.vectors[0]!), [0, -1, 0, 0]);
  const clrp = seedsFor('clrp', 'paper', z, 0).vectors[0]!;
  assert.equal(clrp[0], 2);
  for (const i of [1, 2, 3]) assert.ok(Math.abs(clrp[i]! - -2 / 3) < 1e-6);
  assert.ok(Math.abs(sum(clrp)) < 1e-6);
  const sg = seedsFor('sglrp', 'paper', z, 2).vectors[0]!;
  const y = softmax64(z);
  assert.ok(Math.abs(sg[2]! - y[2]! * (1 - y[2]!)) < 1e-7);
  assert.ok(Math.abs(sg[3]! - -y[2]! * y[3]!) < 1e-7);
  assert.ok(Math.abs(sum(sg)) < 1e-7, `SGLRP seed sums to ${sum(sg)}`);
});

test('reference seeds follow the authors code: max(z_t,0), duals only on positive logits, +1e-8 on the SGLRP target', () => {
  const z = Float32Array.from([2, -1, 0.5, -3]);
  assert.deepEqual(Array.from(seedsFor('lrp', 'reference', z, 3).vectors[0]!), [0, 0, 0, 0]);
  const c = seedsFor('clrp', 'reference', z, 0);
  assert.equal(c.combine, 'contrast');
  assert.deepEqual(Array.from(c.vectors[0]!), [2, 0, 0, 0]);
  assert.deepEqual(
    Array.from(c.vectors[1]!).map((v) => +v.toFixed(6)),
    [0, 0, +(2 / 3).toFixed(6), 0],
  );
  const s = seedsFor('sglrp', 'reference', z, 0);
  const yp = softmax64([2, 0, 0.5, 0]);
  assert.ok(Math.abs(s.vectors[0]![0]! - (yp[0]! * (1 - yp[0]!) + 1e-8)) < 1e-7);
  assert.ok(Math.abs(s.vectors[1]![2]! - yp[0]! * yp[2]!) < 1e-7);
  assert.equal(s.vectors[1]![1], 0);
  // T − D·ΣT/ΣD sums to zero.
  const m = contrast(Float32Array.from([1, 2, 3]), Float32Array.from([0.5, 0.1, 0.4]));
  assert.ok(Math.abs(sum(m)) < 1e-6);
});

async function toyExplain(layers: { w: number[][]; relu: boolean }[], x: number[], target: number) {
  await initBackend('cpu');
  const graph = denseToyGraph(layers, x.length);
  const ex = ExplainEngine.fromGraph(graph, { inputBounds: { low: 0, high: 2 } });
  const res = runSync(
    ex.explainSteps([Float32Array.from(x)], () => [{ kind: 'index', classIndex: target }], {
      methods: ['lrp', 'clrp', 'sglrp'],
      variant: 'paper',
      seed: 0,
      imageIds: ['toy'],
    }),
  );
  return Object.fromEntries(res.explanations.map((e) => [e.method, e.map]));
}

test("paper Fig. 3: LRP attributes the shared node's input x3, CLRP and SGLRP the discriminating x1", async () => {
  // Hidden z1 = x1, z2 = 0.2·x2 + 2·x3; outputs y1 = 0.1·z2, y2 = z1 + z2 (target), y3 = z2.
  const maps = await toyExplain(
    [
      {
        w: [
          [1, 0],
          [0, 0.2],
          [0, 2],
        ],
        relu: true,
      },
      {
        w: [
          [0, 1, 0],
          [0.1, 1, 1],
        ],
        relu: false,
      },
    ],
    [1, 1, 1],
    1,
  );
  assert.equal(argmax(maps['lrp']!), 2, `LRP map ${Array.from(maps['lrp']!)}`);
  assert.equal(argmax(maps['clrp']!), 0, `CLRP map ${Array.from(maps['clrp']!)}`);
  assert.equal(argmax(maps['sglrp']!), 0, `SGLRP map ${Array.from(maps['sglrp']!)}`);
  // Hand-computed: LRP gives x1: 1, x2: 0.2, x3: 2 (z⁺ shares of z_t = 3.2).
  assert.deepEqual(
    Array.from(maps['lrp']!).map((v) => +v.toFixed(4)),
    [1, 0.2, 2],
  );
  // CLRP: R(z2) = 2.2 − 1.6 − 1.6 < 0 is clipped away; x1 keeps R(z1) = 1.
  assert.deepEqual(
    Array.from(maps['clrp']!).map((v) => +v.toFixed(4)),
    [1, 0, 0],
  );
});

test('paper Fig. 5: uniform CLRP penalties misattribute to x3, SGLRP keeps the target evidence x2', async () => {
  // Hidden = identity; y1 = y3 = −5·z1 + z2 (improbable classes sharing z2), y2 = 2·z2 + 0.5·z3
  // (target), y4 = 2·z1 (a probable competitor that does not use z2).
  const maps = await toyExplain(
    [
      {
        w: [
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ],
        relu: true,
      },
      {
        w: [
          [-5, 0, -5, 2],
          [1, 2, 1, 0],
          [0, 0.5, 0, 0],
        ],
        relu: false,
      },
    ],
    [1, 1, 1],
    1,
  );
  assert.equal(argmax(maps['lrp']!), 1);
  assert.equal(argmax(maps['clrp']!), 2, `CLRP map ${Array.from(maps['clrp']!)}`);
  assert.equal(argmax(maps['sglrp']!), 1, `SGLRP map ${Array.from(maps['sglrp']!)}`);
  // CLRP hand-computed: R(z2) = 2 − 2·(2.5/3) = 1/3, R(z3) = 0.5.
  assert.ok(Math.abs(maps['clrp']![1]! - 1 / 3) < 1e-5 && Math.abs(maps['clrp']![2]! - 0.5) < 1e-5);
});
