/**
 * Everything a rendered report shows, gathered once so the HTML and Markdown versions cannot
 * disagree. Also builds the warnings that go at the top (partial run, mixed configs, files that
 * were not merged).
 */
import type { FailedImage } from './image-problems.js';
import type { Aggregates } from './aggregate.js';
import type { Block } from './sections.js';
import type { ImageBrowserData } from './image-browser.js';
import type { LabelledExample } from './labelled-examples.js';
import type { PairedResults } from './paired.js';
import type { Provenance } from './provenance.js';
import type { Claim, Counts, ExampleRow, MethodSummary, Problem, RunInfo } from './types.js';

/** A figure's id: declared by its metric (metrics/*.ts `figures`), e.g. `fig11a`; names its files and anchor. */
export type FigureId = string;

export interface Figure {
  /** A curve figure, or its small multiples of paired differences (`<id>-diff`). */
  id: FigureId | `${FigureId}-diff`;
  title: string;
  caption: string;
  /** Inline SVG markup; empty when the run has no data for it. */
  svg: string;
  /** PNG file name inside the report folder (absent when there is no data). */
  png: string | null;
  /** The curve's numbers shown under it (empty when there is no data). */
  blocks: Block[];
}

export interface ReportModel {
  generatedAt: string;
  outDir: string;
  runs: RunInfo[];
  notices: string[];
  problems: Problem[];
  counts: Counts;
  aggregates: Aggregates;
  methods: string[];
  summaries: MethodSummary[];
  claims: Claim[];
  figures: Figure[];
  examples: { columns: string[]; rows: ExampleRow[]; omitted: number };
  /** The chosen example rows with their labels (reason, classes, probabilities). */
  labelledExamples: LabelledExample[];
  provenance: Provenance;
  paired: PairedResults;
  /** Small multiples: per figure, SGLRP minus each rival with its paired interval. */
  differenceFigures: Figure[];
  imageBrowser: ImageBrowserData;
  /** Per-image and dataset-file problems named one by one (image-problems.ts, data/issues.ts). */
  imageProblems?: ImageProblems;
  /** Files written beside the report (CSV/Arrow/PNG), by name. */
  dataFiles: string[];
}

export interface ImageProblems {
  /** Every errors-table row (image id, stage, reason), sorted by image id. */
  failed: FailedImage[];
  /** Images whose ground-truth box was clipped to the image (docs/PROTOCOL.md §6). */
  clippedBoxImages: number;
  /** File-level problems of the run's dataset, as `run` printed them (empty: none). */
  datasetIssues: string[];
}

/** Images the plan meant to process: min(datasetSize, limit). */
export function plannedImages(run: RunInfo): number | null {
  if (!run.plan || !Number.isFinite(run.plan.datasetSize)) return null;
  return run.plan.limit !== null ? Math.min(run.plan.datasetSize, run.plan.limit) : run.plan.datasetSize;
}

/** Images with any result row (the forward table may be absent from a partial or custom run). */
function imagesSeen(counts: Counts): number {
  return Math.max(
    0,
    ...Object.entries(counts.imagesByTable)
      .filter(([t]) => t !== 'errors')
      .map(([, n]) => n),
  );
}

export function buildNotices(runs: readonly RunInfo[], problems: readonly Problem[], counts: Counts): string[] {
  const notices: string[] = [];
  for (const run of runs) {
    if (run.partial === true) {
      notices.push(
        `Partial run: ${run.runDir} has ${run.mainShardsDone} of ${run.plan!.shardCount} planned main-phase shards finished; ` +
          `every number below covers only the finished shards (${imagesSeen(counts)} images in all).`,
      );
    } else if (run.partial === null) {
      notices.push(
        `${run.runDir} has no readable plan.json, so this report cannot tell whether every shard finished (${run.mainShardsDone} main-phase shards found).`,
      );
    }
  }
  const hashes = new Set(runs.map((r) => r.configHash));
  if (runs.length > 1 && hashes.size > 1) {
    notices.push(
      `The run directories have different configs (config.hash: ${[...hashes].map((h) => h ?? 'missing').join(', ')}); their rows are merged as if they were one run, and an image present in several is counted once, from the first.`,
    );
  }
  if (problems.length > 0) {
    const byKind = new Map<string, number>();
    for (const p of problems) byKind.set(p.kind, (byKind.get(p.kind) ?? 0) + 1);
    notices.push(
      `${problems.length} problem(s) found and left out of every number: ${[...byKind].map(([k, n]) => `${n} ${k}`).join(', ')} (listed under Problems).`,
    );
  }
  if (counts.duplicateRows > 0) {
    notices.push(
      `${counts.duplicateRows} row(s) belonged to images already read from an earlier shard or run directory and were counted once.`,
    );
  }
  return notices;
}
