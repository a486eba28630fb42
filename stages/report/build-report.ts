/**
 * `buildReport`: merge the verified shard tables of one or more run directories, aggregate the
 * paper's figures (11a, 11b, 13 and the original pointing game), check the paper's claims, and
 * write report.html (self-contained), report.md, the figures as SVG + PNG, and every curve and
 * summary as CSV + Arrow into the report folder.
 */
import { promises as fs } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { writeFileAtomic } from '../../results/atomic-file.js';
import { Accumulator, methodSummaries, type Aggregates } from './aggregate.js';
import { renderChart, type CurveDatum } from './charts.js';
import { evaluateClaims } from './claims.js';
import { exampleColumns, findExamples } from './examples.js';
import { renderHtml } from './html.js';
import { loadRuns } from './load-runs.js';
import { renderMarkdown } from './markdown.js';
import { sortMethods } from './method-order.js';
import { buildNotices, type Figure, type FigureId, type ReportModel } from './model.js';
import { writeReportTable, type ReportTable } from './report-tables.js';
import { reportBlocks } from './sections.js';
import type { Claim, Counts } from './types.js';
import { classNamer } from './class-names.js';
import { renderDifferenceChart } from './difference-charts.js';
import { LEGEND_FILE, legendPng } from './examples-section.js';
import { imageBrowserData, imagesTable } from './image-browser.js';
import { renderKeptMaps } from './kept-maps.js';
import { labelExamples } from './labelled-examples.js';
import { pairedComparisons } from './paired.js';
import { pairedTable } from './paired-section.js';
import { PerImageCollector } from './per-image.js';
import { collectProvenance } from './provenance.js';
import { readRunConfig } from './run-records.js';

export interface BuildReportOptions {
  /** Report folder; default: RUN_DIR/report/ of the first run directory. */
  outDir?: string;
  /** Example images embedded at most (the HTML inlines every PNG); default 50. */
  maxExampleImages?: number;
  /** Timestamp shown in the report (tests pin it); default now. */
  now?: Date;
  /** Paired comparisons of every pair of methods, not only each rival against SGLRP. */
  fullMatrix?: boolean;
  /** Bootstrap resamples per comparison (default 2,000, the protocol's minimum). */
  resamples?: number;
}

export interface BuildReportResult {
  htmlPath: string;
  mdPath: string;
  claims: Claim[];
}

const TITLE = 'SGLRP evaluation report';

const FIGURES: { id: FigureId; title: string; caption: string; xTitle: string; yTitle: string }[] = [
  {
    id: 'fig11a',
    title: 'Fig. 11a — maximal patch masking, ground-truth target',
    caption: 'Mean drop y_t(before) − y_t(after) when the p×p patch around the map maximum is replaced by the dataset mean (95% CI band). Higher is better (the paper plots the change, where lower is better).',
    xTitle: 'patch size p',
    yTitle: 'mean drop of y_t',
  },
  {
    id: 'fig11b',
    title: 'Fig. 11b — maximal patch masking, 2nd most probable class',
    caption: 'As Fig. 11a, targeting the second most probable class. A negative drop means masking increased y_t.',
    xTitle: 'patch size p',
    yTitle: 'mean drop of y_t',
  },
  {
    id: 'fig13',
    title: 'Fig. 13 — extended pointing game',
    caption: 'Mean per-image pointing accuracy hits / (hits + misses) of the pixels holding the top E share of the positive relevance (95% CI band). Higher is better.',
    xTitle: 'energy E',
    yTitle: 'pointing accuracy',
  },
];

function curveData(a: Aggregates, id: FigureId): CurveDatum[] {
  if (id === 'fig13') return a.pointing.map((p) => ({ method: p.method, x: p.energy, mean: p.mean, lo: p.lo, hi: p.hi }));
  const kind = id === 'fig11a' ? 'gt' : 'top2';
  return a.masking.filter((m) => m.targetKind === kind).map((m) => ({ method: m.method, x: m.patchSize, mean: m.mean, lo: m.lo, hi: m.hi }));
}

const CI_COLUMNS = [
  { name: 'n', type: 'int' },
  { name: 'mean', type: 'number' },
  { name: 'lo', type: 'number' },
  { name: 'hi', type: 'number' },
  { name: 'sd', type: 'number' },
  { name: 'ignored', type: 'int' },
] as const;

function reportTables(a: Aggregates, model: Pick<ReportModel, 'summaries' | 'counts' | 'runs' | 'claims'>): ReportTable[] {
  const masking = (name: string, kind: string): ReportTable => ({
    name,
    columns: [{ name: 'target_kind', type: 'string' }, { name: 'method', type: 'string' }, { name: 'patch_size', type: 'int' }, ...CI_COLUMNS],
    rows: a.masking.filter((m) => m.targetKind === kind).map((m) => ({ target_kind: m.targetKind, method: m.method, patch_size: m.patchSize, n: m.n, mean: m.mean, lo: m.lo, hi: m.hi, sd: m.sd, ignored: m.ignored })),
  });
  const c: Counts = model.counts;
  return [
    masking('fig11a', 'gt'),
    masking('fig11b', 'top2'),
    {
      name: 'fig13',
      columns: [
        { name: 'method', type: 'string' },
        { name: 'energy', type: 'number' },
        ...CI_COLUMNS,
        { name: 'pooled', type: 'number' },
        { name: 'hits', type: 'number' },
        { name: 'misses', type: 'number' },
        { name: 'empty', type: 'int' },
      ],
      rows: a.pointing.map((p) => ({ method: p.method, energy: p.energy, n: p.n, mean: p.mean, lo: p.lo, hi: p.hi, sd: p.sd, ignored: p.ignored, pooled: p.pooled, hits: p.hits, misses: p.misses, empty: p.empty })),
    },
    {
      name: 'pointing-game',
      columns: [
        { name: 'method', type: 'string' },
        { name: 'n', type: 'int' },
        { name: 'hit_rate', type: 'number' },
        { name: 'hit_lo', type: 'number' },
        { name: 'hit_hi', type: 'number' },
        { name: 'tolerance_rate', type: 'number' },
        { name: 'tolerance_lo', type: 'number' },
        { name: 'tolerance_hi', type: 'number' },
      ],
      rows: a.pointingGame.map((g) => ({ method: g.method, n: g.n, hit_rate: g.hitRate, hit_lo: g.hitLo, hit_hi: g.hitHi, tolerance_rate: g.toleranceRate, tolerance_lo: g.toleranceLo, tolerance_hi: g.toleranceHi })),
    },
    {
      name: 'methods',
      columns: [
        { name: 'method', type: 'string' },
        { name: 'images_masking_gt', type: 'int' },
        { name: 'mean_drop_gt', type: 'number' },
        { name: 'mean_drop_top2', type: 'number' },
        { name: 'mean_pointing_accuracy', type: 'number' },
        { name: 'pooled_pointing', type: 'number' },
        { name: 'pointing_game_hit_rate', type: 'number' },
        { name: 'pointing_game_tolerance_rate', type: 'number' },
      ],
      rows: model.summaries.map((s) => ({
        method: s.method,
        images_masking_gt: s.imagesMasking,
        mean_drop_gt: s.meanDropGt,
        mean_drop_top2: s.meanDropTop2,
        mean_pointing_accuracy: s.meanPointingAccuracy,
        pooled_pointing: s.pooledPointing,
        pointing_game_hit_rate: s.pointingGameHitRate,
        pointing_game_tolerance_rate: s.pointingGameToleranceRate,
      })),
    },
    {
      name: 'counts',
      columns: [
        { name: 'item', type: 'string' },
        { name: 'value', type: 'number' },
      ],
      rows: [
        ...Object.keys(c.rowsByTable).flatMap((t) => [
          { item: `images.${t}`, value: c.imagesByTable[t] ?? 0 },
          { item: `rows.${t}`, value: c.rowsByTable[t] ?? 0 },
        ]),
        { item: 'duplicate_rows', value: c.duplicateRows },
        ...c.errorsByStage.map((e) => ({ item: `errors.${e.stage}`, value: e.count })),
        ...model.runs.flatMap((r, i) => [
          { item: `run${i}.main_shards_done`, value: r.mainShardsDone },
          { item: `run${i}.main_shards_planned`, value: r.plan ? r.plan.shardCount : NaN },
          { item: `run${i}.seconds`, value: r.seconds },
          { item: `run${i}.images`, value: r.imageCount },
        ]),
      ],
    },
    {
      name: 'claims',
      columns: [
        { name: 'id', type: 'int' },
        { name: 'source', type: 'string' },
        { name: 'statement', type: 'string' },
        { name: 'agrees', type: 'string' },
        { name: 'evidence', type: 'string' },
      ],
      rows: model.claims.map((cl) => ({ id: cl.id, source: cl.source, statement: cl.statement, agrees: cl.agrees, evidence: cl.evidence })),
    },
  ];
}

/** Relative link from the report folder, with forward slashes (Markdown on any OS). */
function linkFrom(outDir: string, path: string): string {
  return relative(outDir, path).split(sep).join('/');
}

export async function buildReport(runDirs: string[], opts: BuildReportOptions = {}): Promise<BuildReportResult> {
  if (runDirs.length === 0) throw new Error('buildReport needs at least one run directory');
  const dirs = runDirs.map((d) => resolve(d));
  for (const d of dirs) {
    const stat = await fs.stat(d).catch(() => null);
    if (!stat?.isDirectory()) throw new Error(`run directory ${d} does not exist; pass the folder a run wrote (it holds tables/ and manifest/)`);
  }
  const outDir = resolve(opts.outDir ?? join(dirs[0]!, 'report'));
  await fs.mkdir(outDir, { recursive: true });

  const acc = new Accumulator();
  const perImage = new PerImageCollector();
  const loaded = await loadRuns(dirs, (table, columns, rows) => {
    acc.add(table, columns, rows);
    perImage.add(table, columns, rows);
  });
  // Seed, example count and class names come from the first run's resolved config.
  const runConfig = await readRunConfig(dirs[0]!);
  const seed = typeof runConfig?.seed === 'number' ? runConfig.seed : 0;
  const examplesPerKind = typeof runConfig?.examples === 'number' ? runConfig.examples : 4;
  const names = classNamer((runConfig?.model as Record<string, unknown> | undefined)?.classes);
  const aggregates = acc.finish();
  const counts: Counts = {
    imagesByTable: loaded.imagesByTable,
    rowsByTable: loaded.rowsByTable,
    duplicateRows: loaded.duplicateRows,
    errorsByStage: aggregates.errorsByStage,
    errorImages: loaded.imagesByTable.errors ?? 0,
  };
  const methods = sortMethods([...aggregates.masking, ...aggregates.pointing, ...aggregates.pointingGame].map((p) => p.method));
  const paired = pairedComparisons(perImage, { seed, fullMatrix: opts.fullMatrix ?? false, ...(opts.resamples ? { resamples: opts.resamples } : {}) });
  const claims = evaluateClaims(paired, perImage);
  const summaries = methodSummaries(aggregates, methods);

  const figures: Figure[] = [];
  const dataFiles: string[] = [];
  for (const f of FIGURES) {
    const data = curveData(aggregates, f.id);
    if (!data.some((d) => Number.isFinite(d.mean))) {
      figures.push({ id: f.id, title: f.title, caption: f.caption, svg: '', png: null });
      continue;
    }
    const chart = await renderChart(data, {
      title: f.title,
      xTitle: f.xTitle,
      yTitle: f.yTitle,
      zeroRule: f.id !== 'fig13',
      yDomain: f.id === 'fig13' ? [0, 1] : undefined,
      tickAtData: f.id !== 'fig13',
    });
    await writeFileAtomic(join(outDir, `${f.id}.svg`), chart.svg);
    await writeFileAtomic(join(outDir, `${f.id}.png`), chart.png);
    dataFiles.push(`${f.id}.svg`, `${f.id}.png`);
    figures.push({ id: f.id, title: f.title, caption: f.caption, svg: chart.svg, png: `${f.id}.png` });
  }

  const differenceFigures: Figure[] = [];
  for (const f of FIGURES) {
    const title = `${f.title.split(' — ')[0]} — SGLRP minus each rival, paired 95% CI`;
    const chart = await renderDifferenceChart(paired, f.id, title, f.xTitle, `difference of ${f.yTitle}`);
    if (!chart) continue;
    const id = `${f.id}-diff` as const;
    await writeFileAtomic(join(outDir, `${id}.svg`), chart.svg);
    await writeFileAtomic(join(outDir, `${id}.png`), chart.png);
    dataFiles.push(`${id}.svg`, `${id}.png`);
    differenceFigures.push({ id, title, caption: '', svg: chart.svg, png: `${id}.png` });
  }

  const runsInfo = loaded.runs;
  for (const t of reportTables(aggregates, { summaries, counts, runs: runsInfo, claims })) {
    await writeReportTable(outDir, t);
    dataFiles.push(`${t.name}.csv`, `${t.name}.arrow`);
  }
  await writeFileAtomic(join(outDir, 'claims.json'), JSON.stringify(claims, null, 2) + '\n');
  dataFiles.push('claims.json');

  const generatedAt = (opts.now ?? new Date()).toISOString();
  const provenance = await collectProvenance({ runs: runsInfo, counts, forward: perImage.forward, generatedAt });
  await writeFileAtomic(join(outDir, 'provenance.json'), JSON.stringify(provenance, null, 2) + '\n');
  dataFiles.push('provenance.json');
  await writeReportTable(outDir, pairedTable(paired));
  dataFiles.push('paired-comparisons.csv', 'paired-comparisons.arrow');

  const allExamples = await findExamples(dirs);
  const maxExamples = opts.maxExampleImages ?? 50;
  const labelledExamples = labelExamples(allExamples, perImage, names, seed, examplesPerKind).slice(0, maxExamples);
  const exampleRows = labelledExamples;
  await writeFileAtomic(join(outDir, LEGEND_FILE), await legendPng());
  const keptMaps = await renderKeptMaps(dirs, perImage.ids, outDir);
  const browser = imageBrowserData(perImage, methods, names, new Map(exampleRows.map((r) => [r.imageId, [...r.files.keys()]])), keptMaps);
  await writeReportTable(outDir, imagesTable(browser));
  dataFiles.push('images.csv', 'images.arrow');
  const model: ReportModel = {
    generatedAt,
    outDir,
    runs: runsInfo,
    notices: buildNotices(runsInfo, loaded.problems, counts),
    problems: loaded.problems,
    counts,
    aggregates,
    methods,
    summaries,
    claims,
    figures,
    examples: { columns: exampleColumns(exampleRows), rows: exampleRows, omitted: allExamples.length - exampleRows.length },
    labelledExamples,
    provenance,
    paired,
    differenceFigures,
    imageBrowser: browser,
    dataFiles,
  };

  // HTML inlines each example PNG; Markdown links to it where it lies.
  const inlined = new Map<string, string>();
  for (const row of exampleRows) {
    for (const path of row.files.values()) inlined.set(path, `data:image/png;base64,${(await fs.readFile(path)).toString('base64')}`);
  }
  const html = renderHtml(TITLE, reportBlocks(model, (p) => inlined.get(p)!));
  const md = renderMarkdown(TITLE, reportBlocks(model, (p) => linkFrom(outDir, p)));
  const htmlPath = join(outDir, 'report.html');
  const mdPath = join(outDir, 'report.md');
  await writeFileAtomic(htmlPath, html);
  await writeFileAtomic(mdPath, md);
  return { htmlPath, mdPath, claims };
}
