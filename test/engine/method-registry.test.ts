import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../engine/backend.js';
import { ExplainEngine } from '../../engine/explain-engine.js';
import { disposeGraph } from '../../engine/graph.js';
import { graphFromLayersModel } from '../../engine/model-loader.js';
import {
  BUILTIN_METHODS,
  METHOD_NAMES,
  methodSpec,
  registerMethod,
  rowsPerTarget,
  withDependencies,
  type HostMethod,
  type RelevanceMethod,
} from '../../engine/methods/index.js';
import { runSync } from '../../engine/reads.js';
import type { MethodName } from '../../engine/types.js';
import { METHODS } from '../../pipeline/config.js';
import { RAW_METHODS } from '../../pipeline/explain-outputs.js';
import { parseExplainArgs } from '../../pipeline/explain-options.js';
import { METHOD_COLORS, METHOD_LABELS, methodLabel } from '../../stages/report/method-order.js';
import { buildTinyCnn, randomImage } from '../util/models.js';
import { assertClose } from '../util/numeric.js';

test('every method list derives from the registry: config enum, CLI choices, report labels and colours, raw methods', () => {
  const names = BUILTIN_METHODS.map((m) => m.name);
  assert.deepEqual([...METHOD_NAMES], ['lrp', 'clrp', 'sglrp', 'gbp', 'gradcam', 'ggcam', 'random']);
  assert.deepEqual([...METHODS], names, 'run config enum');
  assert.deepEqual(Object.keys(METHOD_LABELS), names, 'report labels');
  assert.deepEqual(Object.keys(METHOD_COLORS), names, 'report colours');
  assert.equal(new Set(Object.values(METHOD_COLORS)).size, names.length, 'one colour per method');
  // One label per method everywhere (the grid titles and the report used to say "Guided BP" and "Guided Backprop").
  assert.equal(methodLabel('gbp'), 'Guided Backprop');
  assert.equal(METHOD_LABELS['gbp'], methodSpec('gbp').label);
  assert.deepEqual([...RAW_METHODS], ['lrp', 'clrp', 'sglrp', 'gbp', 'ggcam'], 'methods with a raw H×W×C signal');
  assert.throws(
    () => parseExplainArgs({ inputs: ['a.png'], model: 'm', out: 'o', methods: 'lrp,nope' } as never),
    new RegExp(`unknown method 'nope'; choose from ${names.join(', ')}`),
  );
});

test("rows per target: each method's own rows, combined methods through the methods they use", () => {
  assert.equal(rowsPerTarget(METHOD_NAMES, 'paper'), 5, 'paper: 3 LRP-family seeds + GBP + Grad-CAM; Guided Grad-CAM and Random add none');
  assert.equal(rowsPerTarget(METHOD_NAMES, 'reference'), 7, 'reference: CLRP and SGLRP have a target and a dual seed');
  assert.equal(rowsPerTarget(['ggcam'], 'paper'), 2, 'Guided Grad-CAM alone still needs GBP and Grad-CAM rows');
  assert.deepEqual(
    withDependencies(['ggcam', 'lrp']).map((m) => m.name),
    ['lrp', 'gbp', 'gradcam', 'ggcam'],
  );
  assert.equal(rowsPerTarget(['random'], 'paper'), 0);
});

test('a method registered at run time flows through explain: a toy LRP-family seed and a toy host map', async () => {
  await initBackend('cpu');
  // 2·z_t at the target: by linearity of every rule its input relevance is twice LRP's.
  const doubleLrp: RelevanceMethod<'toy-double-lrp'> = {
    name: 'toy-double-lrp',
    label: 'Toy 2×LRP',
    color: '#000000',
    family: 'relevance',
    producesRaw: true,
    rowsPerTarget: () => 1,
    seeds: (_formulas, logits, t) => {
      const v = new Float32Array(logits.length);
      v[t] = 2 * logits[t]!;
      return { vectors: [v], combine: 'single' };
    },
  };
  // A map with the target class index at the top-left pixel.
  const corner: HostMethod<'toy-corner'> = {
    name: 'toy-corner',
    label: 'Toy corner',
    color: '#111111',
    family: 'host',
    producesRaw: false,
    rowsPerTarget: () => 0,
    compute: ({ height, width, classIndex }) => {
      const map = new Float32Array(height * width);
      map[0] = classIndex;
      return { map };
    },
  };
  registerMethod(doubleLrp);
  registerMethod(corner);
  assert.throws(() => registerMethod({ ...corner }), /a method named 'toy-corner' is already registered/);
  assert.equal(rowsPerTarget(['lrp', 'toy-double-lrp', 'toy-corner'], 'paper'), 2);

  const model = buildTinyCnn({ seed: 7 });
  const graph = graphFromLayersModel(model);
  const [h, w, c] = graph.inputShape;
  const ex = ExplainEngine.fromGraph(graph, { inputBounds: { low: -1, high: 2 } });
  const x = randomImage(h * w * c, 5, -1, 2);
  const methods = ['lrp', 'toy-double-lrp', 'toy-corner'] as MethodName[];
  const res = runSync(
    ex.explainSteps([x], () => [{ kind: 'index', classIndex: 2 }], { methods, variant: 'paper', seed: 0, imageIds: ['a'] }),
  );
  assert.deepEqual(
    res.explanations.map((e) => e.method),
    methods,
  );
  const [lrp, twice, cornerMap] = res.explanations;
  assert.ok(
    lrp!.raw!.some((v) => v !== 0),
    'LRP is not all zero',
  );
  assertClose(
    twice!.raw!,
    Array.from(lrp!.raw!, (v) => 2 * v),
    1e-5,
    'toy 2×LRP = 2·LRP',
  );
  assert.equal(cornerMap!.map[0], 2);
  assert.equal(cornerMap!.raw, undefined);
  assert.throws(
    () => runSync(ex.explainSteps([x], () => [], { methods: ['nope' as MethodName], variant: 'paper', seed: 0, imageIds: ['a'] })),
    /unknown method 'nope'; choose from lrp, clrp/,
  );
  ex.dispose();
  disposeGraph(graph);
  model.dispose();
});
