/**
 * The report's content as format-neutral blocks (headings, paragraphs, tables, figures), so the
 * HTML and Markdown renderers only differ in syntax.
 */
import { LISTED_FAILED_IMAGES } from './image-problems.js';
import { TABLES } from '../../results/schemas.js';
import type { AnyMetric, SummaryColumn } from '../../metrics/metric.js';
import { registeredMetrics } from '../../metrics/registry.js';
import { fmt, fmtPct } from './format.js';
import { exampleBlocks } from './examples-section.js';
import { imageBrowserBlocks } from './image-browser.js';
import { methodLabel } from './method-order.js';
import { pairedBlocks } from './paired-section.js';
import { provenanceBlocks } from './provenance-section.js';
import { plannedImages, type Figure, type ImageProblems, type ReportModel } from './model.js';
import type { Verdict } from './types.js';

export type Block =
  | { kind: 'heading'; level: 2 | 3; text: string; anchor: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'notices'; items: string[] }
  | { kind: 'table'; header: string[]; rows: string[][]; verdictColumn?: number }
  | { kind: 'figure'; figure: Figure }
  | {
      kind: 'examples';
      header: string[];
      /** Map key of each picture column ('input', 'sglrp_gt'). */ keys: string[];
      rows: { imageId: string; caption: string[]; cells: (string | null)[] }[];
      legend?: Legend;
    }
  /** Links to files beside the report (relative paths). */
  | { kind: 'links'; items: { text: string; href: string }[] }
  /** Preformatted text (the resolved config), folded away in HTML. */
  | { kind: 'code'; summary: string; language: string; text: string }
  /** Interactive HTML (the image browser); Markdown shows `markdown` instead. */
  | { kind: 'html'; html: string; markdown: string };

/** A colour scale: CSS gradient stops and the PNG drawn with the same colours (for Markdown). */
export interface Legend {
  /** `linear-gradient(...)` colour stops, low to high. */
  cssStops: string;
  png: string;
  low: string;
  high: string;
  note: string;
}

export const VERDICT_TEXT: Record<Verdict, string> = { yes: 'yes', no: 'no', inconclusive: 'inconclusive', 'not-measured': 'not measured' };

function figureBlocks(fig: Figure): Block[] {
  const blocks: Block[] = [
    { kind: 'heading', level: 3, text: fig.title, anchor: fig.id },
    { kind: 'paragraph', text: fig.caption },
  ];
  if (!fig.png) return [...blocks, { kind: 'paragraph', text: 'No data for this figure in this run.' }];
  return [...blocks, { kind: 'figure', figure: fig }, ...fig.blocks];
}

/** "target gt, images with a label and boxes" from a metric's `appliesTo`. */
function appliesText(m: AnyMetric): string {
  const { targetKinds, needs } = m.appliesTo;
  const targets = targetKinds === 'all' ? 'every target' : `target ${targetKinds.join(', ')}`;
  return needs.length === 0
    ? `${targets}, every image`
    : `${targets}, images with ${needs.map((n) => (n === 'label' ? 'a label' : n)).join(' and ')}`;
}

/** A summary value as its column's format says. */
function summaryCell(value: number, format: SummaryColumn<object>['format']): string {
  return format === 'count' ? String(value) : format === 'percent' ? fmtPct(value) : fmt(value);
}

export function reportBlocks(model: ReportModel, exampleSrc: (path: string) => string): Block[] {
  const b: Block[] = [];
  b.push({ kind: 'paragraph', text: `Generated ${model.generatedAt} from ${model.runs.map((r) => r.runDir).join(', ')}.` });
  if (model.notices.length) b.push({ kind: 'notices', items: model.notices });
  b.push({
    kind: 'paragraph',
    text: 'Every number is defined in docs/PROTOCOL.md of the sglrp repository (§4 masking, §5 pointing game, §8 paired comparisons and verdicts).',
  });
  b.push(...provenanceBlocks(model));

  b.push({ kind: 'heading', level: 2, text: "The paper's claims", anchor: 'claims' });
  b.push({
    kind: 'paragraph',
    text:
      'Iwana, Kuroki & Uchida (2019), §5.3, judged per image (docs/PROTOCOL.md §8). Each claim is checked at every patch size or energy level against every rival it names: ' +
      'yes = every paired 95% interval excludes 0 in the claimed direction; no = at least one excludes 0 the other way; inconclusive = otherwise. The evidence column names the test.',
  });
  b.push({
    kind: 'table',
    header: ['#', 'claim', 'paper', 'this run agrees', 'evidence'],
    rows: model.claims.map((c) => [String(c.id), c.statement, c.source, VERDICT_TEXT[c.agrees], c.evidence]),
    verdictColumn: 3,
  });

  b.push(...pairedBlocks(model));

  b.push({ kind: 'heading', level: 2, text: 'Counts', anchor: 'counts' });
  const c = model.counts;
  b.push({
    kind: 'table',
    header: ['table', 'images', 'rows'],
    rows: Object.keys(c.rowsByTable).map((t) => [t, String(c.imagesByTable[t] ?? 0), String(c.rowsByTable[t] ?? 0)]),
  });
  if (c.errorsByStage.length === 0) b.push({ kind: 'paragraph', text: 'No errors recorded.' });
  else {
    b.push({
      kind: 'paragraph',
      text: `Errors: ${c.errorsByStage.reduce((s, e) => s + e.count, 0)} rows for ${c.errorImages} image(s), by stage (most frequent reasons):`,
    });
    b.push({
      kind: 'table',
      header: ['stage', 'errors', 'reasons'],
      rows: c.errorsByStage.map((e) => [
        e.stage,
        String(e.count),
        e.reasons
          .slice(0, 5)
          .map((r) => `${r.count}× ${r.reason}`)
          .join('; '),
      ]),
    });
  }

  b.push(...imageProblemBlocks(model.imageProblems));

  b.push({ kind: 'heading', level: 2, text: 'Backend and throughput', anchor: 'throughput' });
  b.push({
    kind: 'table',
    header: [
      'run',
      'backend',
      'main shards done / planned',
      'images planned',
      'images (manifests)',
      'worker seconds',
      'images per worker-second',
    ],
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
  b.push({
    kind: 'paragraph',
    text: 'Seconds are summed over shards as their manifest records them; with several workers in parallel the wall-clock throughput is higher.',
  });

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

  b.push(...exampleBlocks(model, exampleSrc));
  b.push(...imageBrowserBlocks(model.imageBrowser));

  b.push({ kind: 'heading', level: 2, text: 'Problems', anchor: 'problems' });
  if (model.problems.length === 0)
    b.push({ kind: 'paragraph', text: 'None: every table file is listed in a manifest and matches its checksum.' });
  else b.push({ kind: 'table', header: ['kind', 'file', 'detail'], rows: model.problems.map((p) => [p.kind, p.file, p.detail]) });
  const datasetIssues = model.imageProblems?.datasetIssues ?? [];
  if (datasetIssues.length > 0) {
    b.push({ kind: 'paragraph', text: 'Problems in the dataset’s own files (the run went on; see docs/PROTOCOL.md §6):' });
    b.push({ kind: 'notices', items: datasetIssues.map((l) => l.trim().replace(/^- /, '')) });
  }

  b.push({ kind: 'heading', level: 2, text: 'Data files', anchor: 'data' });
  b.push({ kind: 'paragraph', text: 'Beside this report (CSV for spreadsheets, Arrow for notebooks, the figures as SVG and PNG):' });
  b.push({ kind: 'links', items: model.dataFiles.map((f) => ({ text: f, href: f })) });
  b.push({ kind: 'heading', level: 3, text: 'What the columns mean', anchor: 'columns' });
  b.push({
    kind: 'table',
    header: ['table', 'column', 'meaning'],
    rows: [...registeredMetrics().flatMap((m) => m.tables), TABLES.errors].flatMap((t) =>
      t.columns.filter((col) => col.doc).map((col) => [t.name, col.name, col.doc]),
    ),
  });
  return b;
}

/**
 * The images that could not be evaluated, named (image id, stage, reason; the first
 * LISTED_FAILED_IMAGES, the rest in failed-images.csv), and how many images had a ground-truth
 * box clipped to the image.
 */
function imageProblemBlocks(p: ImageProblems | undefined): Block[] {
  if (!p) return [];
  const b: Block[] = [];
  if (p.failed.length > 0) {
    b.push({ kind: 'heading', level: 3, text: 'Images with errors', anchor: 'failed-images' });
    b.push({
      kind: 'table',
      header: ['image', 'stage', 'reason'],
      rows: p.failed.slice(0, LISTED_FAILED_IMAGES).map((f) => [f.imageId, f.stage, f.reason]),
    });
    if (p.failed.length > LISTED_FAILED_IMAGES)
      b.push({ kind: 'paragraph', text: `… and ${p.failed.length - LISTED_FAILED_IMAGES} more — see failed-images.csv.` });
  }
  b.push({
    kind: 'paragraph',
    text:
      p.clippedBoxImages === 0
        ? 'No ground-truth box reached outside its image.'
        : `${p.clippedBoxImages} image(s) had a ground-truth box clipped to the image (column box_clipped of the pointing table; docs/PROTOCOL.md §6).`,
  });
  return b;
}
