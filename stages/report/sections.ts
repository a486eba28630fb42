/**
 * The report's content as format-neutral blocks (headings, paragraphs, tables, figures), so the
 * HTML and Markdown renderers only differ in syntax.
 */
import { TABLES } from '../../results/schemas.js';
import type { AnyMetric, SummaryColumn } from '../../metrics/metric.js';
import { registeredMetrics } from '../../metrics/registry.js';
import { fmt, fmtPct } from './format.js';
import { columnTitle } from './examples.js';
import { methodLabel } from './method-order.js';
import { plannedImages, type Figure, type ReportModel } from './model.js';
import type { Verdict } from './types.js';

export type Block =
  | { kind: 'heading'; level: 2 | 3; text: string; anchor: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'notices'; items: string[] }
  | { kind: 'table'; header: string[]; rows: string[][]; verdictColumn?: number }
  | { kind: 'figure'; figure: Figure }
  | { kind: 'examples'; header: string[]; rows: { imageId: string; cells: (string | null)[] }[] };

export const VERDICT_TEXT: Record<Verdict, string> = { yes: 'yes', no: 'no', partly: 'partly', 'not-measured': 'not measured' };

function figureBlocks(fig: Figure): Block[] {
  const blocks: Block[] = [{ kind: 'heading', level: 3, text: fig.title, anchor: fig.id }, { kind: 'paragraph', text: fig.caption }];
  if (!fig.png) return [...blocks, { kind: 'paragraph', text: 'No data for this figure in this run.' }];
  return [...blocks, { kind: 'figure', figure: fig }, ...fig.blocks];
}

/** "target gt, images with a label and boxes" from a metric's `appliesTo`. */
function appliesText(m: AnyMetric): string {
  const { targetKinds, needs } = m.appliesTo;
  const targets = targetKinds === 'all' ? 'every target' : `target ${targetKinds.join(', ')}`;
  return needs.length === 0 ? `${targets}, every image` : `${targets}, images with ${needs.map((n) => (n === 'label' ? 'a label' : n)).join(' and ')}`;
}

/** A summary value as its column's format says. */
function summaryCell(value: number, format: SummaryColumn<object>['format']): string {
  return format === 'count' ? String(value) : format === 'percent' ? fmtPct(value) : fmt(value);
}

export function reportBlocks(model: ReportModel, exampleSrc: (path: string) => string): Block[] {
  const b: Block[] = [];
  b.push({ kind: 'paragraph', text: `Generated ${model.generatedAt} from ${model.runs.map((r) => r.runDir).join(', ')}.` });
  if (model.notices.length) b.push({ kind: 'notices', items: model.notices });

  b.push({ kind: 'heading', level: 2, text: "The paper's claims", anchor: 'claims' });
  b.push({ kind: 'paragraph', text: 'Iwana, Kuroki & Uchida (2019), §5.3. Verdicts compare means: yes = at every measured patch size or energy level, partly = at some, no = at none.' });
  b.push({
    kind: 'table',
    header: ['#', 'claim', 'paper', 'this run agrees', 'evidence'],
    rows: model.claims.map((c) => [String(c.id), c.statement, c.source, VERDICT_TEXT[c.agrees], c.evidence]),
    verdictColumn: 3,
  });

  b.push({ kind: 'heading', level: 2, text: 'Counts', anchor: 'counts' });
  const c = model.counts;
  b.push({
    kind: 'table',
    header: ['table', 'images', 'rows'],
    rows: Object.keys(c.rowsByTable).map((t) => [t, String(c.imagesByTable[t] ?? 0), String(c.rowsByTable[t] ?? 0)]),
  });
  if (c.errorsByStage.length === 0) b.push({ kind: 'paragraph', text: 'No errors recorded.' });
  else {
    b.push({ kind: 'paragraph', text: `Errors: ${c.errorsByStage.reduce((s, e) => s + e.count, 0)} rows for ${c.errorImages} image(s), by stage (most frequent reasons):` });
    b.push({
      kind: 'table',
      header: ['stage', 'errors', 'reasons'],
      rows: c.errorsByStage.map((e) => [e.stage, String(e.count), e.reasons.slice(0, 5).map((r) => `${r.count}× ${r.reason}`).join('; ')]),
    });
  }

  b.push({ kind: 'heading', level: 2, text: 'Backend and throughput', anchor: 'throughput' });
  b.push({
    kind: 'table',
    header: ['run', 'backend', 'main shards done / planned', 'images planned', 'images (manifests)', 'worker seconds', 'images per worker-second'],
    rows: model.runs.map((r) => [
      r.runDir,
      r.backends.join(', ') || 'unknown',
      `${r.mainShardsDone} / ${r.plan ? r.plan.shardCount : '?'}`,
      String(plannedImages(r) ?? '?'),
      String(r.imageCount),
      fmt(r.seconds, 1),
      r.seconds > 0 ? fmt(r.imageCount / r.seconds, 2) : 'n/a',
    ]),
  });
  b.push({ kind: 'paragraph', text: 'Seconds are summed over shards as their manifest records them; with several workers in parallel the wall-clock throughput is higher.' });

  b.push({ kind: 'heading', level: 2, text: 'Figures', anchor: 'figures' });
  b.push({
    kind: 'table',
    header: ['metric', 'better', 'computed for', 'defined in'],
    rows: registeredMetrics().map((m) => [m.title, m.direction === 'higher-is-better' ? 'higher' : 'lower', appliesText(m), m.protocol]),
  });
  for (const fig of model.figures) b.push(...figureBlocks(fig));

  // Sections a metric adds after the figures (the original pointing game).
  for (const m of registeredMetrics()) b.push(...(m.sections?.(model.aggregates, model.methods) ?? []));

  b.push({ kind: 'heading', level: 2, text: 'Per-method summary', anchor: 'methods' });
  const columns = registeredMetrics().flatMap((m) => m.summary);
  b.push({
    kind: 'table',
    header: ['method', ...columns.map((col) => col.title)],
    rows: model.summaries.map((s) => [methodLabel(s.method), ...columns.map((col) => summaryCell(s.values[col.name] ?? NaN, col.format))]),
  });

  b.push({ kind: 'heading', level: 2, text: 'Example heatmaps', anchor: 'examples' });
  const ex = model.examples;
  if (ex.rows.length === 0) b.push({ kind: 'paragraph', text: 'No example heatmaps in the run directory (RUN_DIR/examples/).' });
  else {
    if (ex.omitted > 0) b.push({ kind: 'paragraph', text: `${ex.omitted} more example image(s) are in the run directory but left out to keep this file small.` });
    b.push({
      kind: 'examples',
      header: ['image', ...ex.columns.map(columnTitle)],
      rows: ex.rows.map((r) => ({ imageId: r.imageId, cells: ex.columns.map((k) => (r.files.has(k) ? exampleSrc(r.files.get(k)!) : null)) })),
    });
  }

  b.push({ kind: 'heading', level: 2, text: 'Problems', anchor: 'problems' });
  if (model.problems.length === 0) b.push({ kind: 'paragraph', text: 'None: every table file is listed in a manifest and matches its checksum.' });
  else b.push({ kind: 'table', header: ['kind', 'file', 'detail'], rows: model.problems.map((p) => [p.kind, p.file, p.detail]) });

  b.push({ kind: 'heading', level: 2, text: 'Data files', anchor: 'data' });
  b.push({ kind: 'paragraph', text: `Beside this report: ${model.dataFiles.join(', ')}.` });
  b.push({ kind: 'heading', level: 3, text: 'What the columns mean', anchor: 'columns' });
  b.push({
    kind: 'table',
    header: ['table', 'column', 'meaning'],
    rows: [...registeredMetrics().flatMap((m) => m.tables), TABLES.errors].flatMap((t) => t.columns.filter((col) => col.doc).map((col) => [t.name, col.name, col.doc])),
  });
  return b;
}
