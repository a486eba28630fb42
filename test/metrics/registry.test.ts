import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../engine/backend.js';
import { ExplainEngine } from '../../engine/explain-engine.js';
import { graphFromLayersModel } from '../../engine/model-loader.js';
import type { Sample } from '../../data/types.js';
import {
  BUILTIN_METRICS,
  mainPhaseTables,
  registerMetric,
  registeredMetrics,
  tableSpec,
  unregisterMetric,
} from '../../metrics/registry.js';
import { ConfigError, configHash, parseConfig } from '../../pipeline/config.js';
import { readColumns, writeTableAtomic } from '../../results/table-io.js';
import { evaluateBatchAsync, type EvaluateOptions } from '../../stages/evaluate.js';
import { Accumulator, methodSummaries } from '../../stages/report/aggregate.js';
import { renderFigures, reportTables } from '../../stages/report/build-report.js';
import type { ReportModel } from '../../stages/report/model.js';
import { reportBlocks } from '../../stages/report/sections.js';
import { buildTinyCnn, randomImage } from '../util/models.js';
import { POSITIVE_SHARE_TABLE, positiveShareMetric, shareAbove } from './positive-share-metric.js';

const MINIMAL = {
  name: 't',
  dataset: { kind: 'digits-pair' },
  model: { path: 'model.json', preprocess: 'unit', geometry: 'resize', size: 16 },
};

const tmp = await mkdtemp(join(tmpdir(), 'metrics-'));
after(() => fs.rm(tmp, { recursive: true, force: true }));

// The one line a new metric needs (here in the test instead of metrics/registry.ts's list).
before(() => registerMetric(positiveShareMetric));
after(() => unregisterMetric(positiveShareMetric.name));

function sample(i: number, label: number): Sample {
  return {
    id: `img${i}`,
    index: i,
    height: 8,
    width: 8,
    channels: 3,
    input: randomImage(192, 300 + i, -1, 2),
    display: new Uint8Array(192),
    label,
    boxes: [{ x0: 0, y0: 0, x1: 3, y1: 3 }],
  };
}

function problemsOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected the config to be rejected');
}

test('the built-in metrics are masking then pointing, and names, tables and figure ids collide with nothing', () => {
  assert.deepEqual(
    BUILTIN_METRICS.map((m) => m.name),
    ['masking', 'pointing'],
  );
  assert.throws(() => registerMetric({ ...positiveShareMetric, name: 'other' }), /config key "positiveShare" is already used/);
  assert.throws(
    () =>
      registerMetric({ ...positiveShareMetric, name: 'other', config: { ...positiveShareMetric.config, key: 'seed' as 'positiveShare' } }),
    /config key "seed"/,
  );
  assert.throws(
    () =>
      registerMetric({
        ...positiveShareMetric,
        name: 'other',
        config: { ...positiveShareMetric.config, key: 'x' as 'positiveShare' },
        tables: [{ ...POSITIVE_SHARE_TABLE, name: 'errors' }],
      }),
    /table "errors" is already used/,
  );
  assert.throws(() => unregisterMetric('masking'), /built in/);
});

test('a registered metric gets its config field: defaults, validation with its field path, unknown-key help, hashed', () => {
  const c = parseConfig(MINIMAL, 'run.yaml') as unknown as Record<string, unknown>;
  assert.deepEqual(c['positiveShare'], { threshold: 0 });
  // The built-ins are unaffected by the extra metric.
  assert.deepEqual(c['masking'], { patchSizes: [1, 3, 5, 7, 9], fill: 'dataset-mean' });
  const set = parseConfig({ ...MINIMAL, positiveShare: { threshold: 0.5 } }, 'run.yaml');
  assert.deepEqual((set as unknown as Record<string, unknown>)['positiveShare'], { threshold: 0.5 });
  assert.notEqual(configHash(set), configHash(parseConfig(MINIMAL, 'run.yaml')), 'a metric field changes the result hash');

  const bad = problemsOf(() => parseConfig({ ...MINIMAL, positiveShare: { threshold: -1 } }, 'run.yaml'));
  assert.equal(bad[0]!.path, 'positiveShare.threshold');
  assert.match(bad[0]!.message, /expected a non-negative number, got -1/);
  const unknown = problemsOf(() => parseConfig({ ...MINIMAL, positiveShare: { treshold: 1 } }, 'run.yaml'));
  assert.equal(unknown[0]!.path, 'positiveShare.treshold');
  assert.match(unknown[0]!.message, /allowed here: threshold/);
  const top = problemsOf(() => parseConfig({ ...MINIMAL, positiveShares: {} }, 'run.yaml'));
  assert.match(top[0]!.message, /allowed here: .*masking, pointing, positiveShare/);
  // A built-in metric's cross-field check still runs (patch larger than the input).
  const tooBig = problemsOf(() => parseConfig({ ...MINIMAL, masking: { patchSizes: [17] } }, 'run.yaml'));
  assert.deepEqual(tooBig, [{ path: 'masking.patchSizes', message: 'patch sizes 17 exceed model.size 16' }]);
});

test('a registered metric flows through: main-phase tables, evaluate rows, table files, aggregation, report tables, figures and sections', async () => {
  // Its table is written by every main shard, before errors.
  assert.deepEqual(mainPhaseTables(), ['forward', 'relevance', 'masking', 'pointing', 'pointing_game', 'positive_share', 'errors']);
  assert.equal(tableSpec('positive_share'), POSITIVE_SHARE_TABLE);
  assert.equal(registeredMetrics().at(-1), positiveShareMetric);

  // Evaluate: its stage runs on the batch's maps, beside the built-ins, with its own config slice.
  await initBackend('wasm');
  const ex = ExplainEngine.fromGraph(graphFromLayersModel(buildTinyCnn({ seed: 4 })), { inputBounds: { low: -1, high: 2 } });
  const opts = {
    methods: ['lrp', 'sglrp', 'gbp'],
    variant: 'paper',
    targets: ['gt', 'top2'],
    seed: 0,
    metricConfigs: {
      masking: { patchSizes: [1, 3], fill: 'zero' },
      pointing: { energies: [0.5, 1], tolerance: 1 },
      positiveShare: { threshold: 0.001 },
    },
    fill: new Float32Array(192),
  } as EvaluateOptions;
  const samples = [sample(0, 1), sample(1, 2)];
  const { rows, explanations } = await evaluateBatchAsync(ex, samples, opts);
  ex.dispose();
  const shares = rows['positive_share']!;
  assert.equal(shares.length, 2 * 3 * 2, 'one row per image, method and target');
  for (const r of shares) {
    const e = explanations.get(r['image_id'] as string)!.find((x) => x.method === r['method'] && x.target.kind === r['target_kind'])!;
    assert.equal(r['share'], shareAbove(e.map, 0.001));
  }
  assert.ok(
    shares.some((r) => (r['share'] as number) > 0) && shares.some((r) => (r['share'] as number) < 1),
    'shares are not all 0 or all 1',
  );
  assert.equal(rows.masking!.length, 2 * 3 * 2 * 2, 'the built-in metrics still run');

  // Its table file round-trips through its own spec.
  const path = join(tmp, 'shard-00000.arrow');
  await writeTableAtomic(path, tableSpec('positive_share'), shares);
  const read = await readColumns(path, undefined, tableSpec('positive_share'));
  assert.equal(read.numRows, shares.length);

  // Report: the Accumulator hands its rows to its aggregator, and its numbers reach every output.
  const acc = new Accumulator();
  acc.add(
    'positive_share',
    read.columns,
    Array.from({ length: read.numRows }, (_, i) => i),
  );
  const aggregates = acc.finish() as ReturnType<Accumulator['finish']> & {
    positiveShare: { method: string; targetKind: string; mean: number; n: number }[];
  };
  const lrpGt = shares.filter((r) => r['method'] === 'lrp' && r['target_kind'] === 'gt').map((r) => r['share'] as number);
  const point = aggregates.positiveShare.find((p) => p.method === 'lrp' && p.targetKind === 'gt')!;
  assert.equal(point.n, 2);
  assert.ok(Math.abs(point.mean - (lrpGt[0]! + lrpGt[1]!) / 2) < 1e-12);
  assert.deepEqual(aggregates.masking, [], 'no masking rows were added');

  const methods = ['lrp', 'sglrp', 'gbp'];
  const summaries = methodSummaries(aggregates, methods);
  assert.equal(summaries[0]!.values['mean_positive_share_gt'], point.mean);
  assert.ok('mean_drop_gt' in summaries[0]!.values, 'built-in summary columns stay');

  const counts = { imagesByTable: {}, rowsByTable: {}, duplicateRows: 0, errorsByStage: [], errorImages: 0 };
  const tables = reportTables(aggregates, { summaries, counts, runs: [], claims: [] });
  assert.deepEqual(
    tables.map((t) => t.name),
    ['fig11a', 'fig11b', 'fig13', 'pointing-game', 'share', 'methods', 'counts', 'claims'],
  );
  assert.ok(tables.find((t) => t.name === 'methods')!.columns.some((c) => c.name === 'mean_positive_share_gt'));

  const { figures, dataFiles } = await renderFigures(aggregates, methods, tmp);
  assert.deepEqual(
    figures.map((f) => [f.id, f.png]),
    [
      ['fig11a', null],
      ['fig11b', null],
      ['fig13', null],
      ['share', 'share.png'],
    ],
  );
  assert.deepEqual(dataFiles, ['share.svg', 'share.png']);
  assert.match(await fs.readFile(join(tmp, 'share.svg'), 'utf8'), /<svg/);

  const model: ReportModel = {
    generatedAt: 'now',
    outDir: tmp,
    runs: [],
    notices: [],
    problems: [],
    counts,
    aggregates,
    methods,
    summaries,
    claims: [],
    figures,
    examples: { columns: [], rows: [], omitted: 0 },
    labelledExamples: [],
    provenance: {
      generatedAt: 'now',
      software: { sglrp: null, gitCommit: null, node: process.version, tfjs: null },
      classifier: { labelled: 0, top1: 0, top5: 0 },
      runs: [],
    },
    paired: { comparisons: [], resamples: 0, seed: 0, fullMatrix: false },
    differenceFigures: [],
    imageBrowser: { methods, methodLabels: methods, metrics: [], images: [] },
    dataFiles,
  };
  const blocks = reportBlocks(model, (p) => p);
  const headings = blocks.flatMap((b) => (b.kind === 'heading' ? [b.text] : []));
  assert.ok(headings.includes('Positive share by target kind'), 'its figure has a section');
  const summary = blocks.find((b) => b.kind === 'table' && b.header.includes('positive share (gt)'));
  assert.ok(summary, 'its summary column is in the per-method table');
  const columnsTable = blocks.find((b) => b.kind === 'table' && b.header[0] === 'table' && b.header[1] === 'column');
  assert.ok(
    columnsTable?.kind === 'table' && columnsTable.rows.some((r) => r[0] === 'positive_share' && r[1] === 'share'),
    'its columns are documented',
  );
});
