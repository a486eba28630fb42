/**
 * `buildReport`: merge the verified shard tables of one or more run directories, aggregate every
 * registered metric (metrics/registry.ts: the paper's figures 11a, 11b, 13 and the original
 * pointing game), check the paper's claims, and
 * write report.html (self-contained), report.md, the figures as SVG + PNG, and every curve and
 * summary as CSV + Arrow into the report folder.
 */
import { datasetIssueLines } from '../../data/issues.js';
import { readStoredConfig } from '../../pipeline/run-dir.js';
import { RUN_FILES } from '../../results/run-format.js';
import { failedImagesTable, ImageProblemCollector } from './image-problems.js';
import { promises as fs } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { writeFileAtomic } from '../../results/atomic-file.js';
import { registeredMetrics } from '../../metrics/registry.js';
import { Accumulator, methodSummaries, methodsIn, type Aggregates } from './aggregate.js';
import { renderChart } from './charts.js';
import { evaluateClaims } from './claims.js';
import { exampleColumns, findExamples } from './examples.js';
import { renderHtml } from './html.js';
import { loadRuns } from './load-runs.js';
import { renderMarkdown } from './markdown.js';
import { sortMethods } from './method-order.js';
import { buildNotices, type Figure, type ImageProblems, type ReportModel } from './model.js';
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

/** CSV + Arrow tables beside the report: the metrics' own, then the per-method summary, counts and claims. */
export function reportTables(a: Aggregates, model: Pick<ReportModel, 'summaries' | 'counts' | 'runs' | 'claims'>): ReportTable[] {
  const c: Counts = model.counts;
  const summaryColumns = registeredMetrics().flatMap((m) => m.summary);
  return [
    // Each metric's curves and rates, in registry order.
    ...registeredMetrics().flatMap((m) => m.reportTables(a)),
    {
      name: 'methods',
      columns: [{ name: 'method', type: 'string' }, ...summaryColumns.map((col) => ({ name: col.name, type: col.type }))],
      rows: model.summaries.map((s) => ({ method: s.method, ...s.values })),
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

/**
 * Every registered metric's figures: SVG + PNG into `outDir` for those with data, and each with
 * the blocks (the curve's numbers) shown under it. Returns them and the files written.
 */
export async function renderFigures(
  aggregates: Aggregates,
  methods: readonly string[],
  outDir: string,
): Promise<{ figures: Figure[]; dataFiles: string[] }> {
  const figures: Figure[] = [];
  const dataFiles: string[] = [];
  for (const f of registeredMetrics().flatMap((m) => m.figures)) {
    const data = f.curve(aggregates);
    if (!data.some((d) => Number.isFinite(d.mean))) {
      figures.push({ id: f.id, title: f.title, caption: f.caption, svg: '', png: null, blocks: [] });
      continue;
    }
    const chart = await renderChart(data, { title: f.title, ...f.chart });
    await writeFileAtomic(join(outDir, `${f.id}.svg`), chart.svg);
    await writeFileAtomic(join(outDir, `${f.id}.png`), chart.png);
    dataFiles.push(`${f.id}.svg`, `${f.id}.png`);
    figures.push({
      id: f.id,
      title: f.title,
      caption: f.caption,
      svg: chart.svg,
      png: `${f.id}.png`,
      blocks: f.blocks(aggregates, methods),
    });
  }
  return { figures, dataFiles };
}

export async function buildReport(runDirs: string[], opts: BuildReportOptions = {}): Promise<BuildReportResult> {
  if (runDirs.length === 0) throw new Error('buildReport needs at least one run directory');
  const dirs = runDirs.map((d) => resolve(d));
  for (const d of dirs) {
    const stat = await fs.stat(d).catch(() => null);
    if (!stat?.isDirectory())
      throw new Error(`run directory ${d} does not exist; pass the folder a run wrote (it holds tables/ and manifest/)`);
  }
  const outDir = resolve(opts.outDir ?? join(dirs[0]!, 'report'));
  await fs.mkdir(outDir, { recursive: true });

  const acc = new Accumulator();
  const perImage = new PerImageCollector();
  const imageProblems = new ImageProblemCollector();
  const loaded = await loadRuns(dirs, (table, columns, rows) => {
    acc.add(table, columns, rows);
    perImage.add(table, columns, rows);
    imageProblems.add(table, columns, rows);
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
  const methods = sortMethods(methodsIn(aggregates));
  const paired = pairedComparisons(perImage, {
    seed,
    fullMatrix: opts.fullMatrix ?? false,
    ...(opts.resamples ? { resamples: opts.resamples } : {}),
  });
  const claims = evaluateClaims(paired, perImage);
  const summaries = methodSummaries(aggregates, methods);

  const { figures, dataFiles } = await renderFigures(aggregates, methods, outDir);

  const differenceFigures: Figure[] = [];
  for (const f of registeredMetrics().flatMap((m) => m.figures)) {
    const title = `${f.title.split(' — ')[0]} — SGLRP minus each rival, paired 95% CI`;
    const chart = await renderDifferenceChart(paired, f.id, title, f.chart.xTitle, `difference of ${f.chart.yTitle}`);
    if (!chart) continue;
    const id = `${f.id}-diff` as const;
    await writeFileAtomic(join(outDir, `${id}.svg`), chart.svg);
    await writeFileAtomic(join(outDir, `${id}.png`), chart.png);
    dataFiles.push(`${id}.svg`, `${id}.png`);
    differenceFigures.push({ id, title, caption: '', svg: chart.svg, png: `${id}.png`, blocks: [] });
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
  const failed = imageProblems.sortedFailures();
  await writeReportTable(outDir, failedImagesTable(failed));
  dataFiles.push('failed-images.csv', 'failed-images.arrow');
  const storedConfig = await readStoredConfig(join(dirs[0]!, RUN_FILES.config)).catch(() => null);
  const problemsNamed: ImageProblems = {
    failed,
    clippedBoxImages: imageProblems.clippedBoxImages,
    datasetIssues: storedConfig ? datasetIssueLines(storedConfig) : [],
  };
  const model: ReportModel = {
    imageProblems: problemsNamed,
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
  const html = renderHtml(
    TITLE,
    reportBlocks(model, (p) => inlined.get(p)!),
  );
  const md = renderMarkdown(
    TITLE,
    reportBlocks(model, (p) => linkFrom(outDir, p)),
  );
  const htmlPath = join(outDir, 'report.html');
  const mdPath = join(outDir, 'report.md');
  await writeFileAtomic(htmlPath, html);
  await writeFileAtomic(mdPath, md);
  return { htmlPath, mdPath, claims };
}
