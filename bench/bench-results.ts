/** The bench's JSON result shapes and the table printed from them (Markdown, so it pastes into BENCHMARKS.md). */
import type { CaseName } from './bench-cases.js';
import type { MachineInfo } from './bench-machine.js';
import { formatIncrementalTable, type IncrementalBenchResult } from './incremental.js';
import {
  formatMemoryTable,
  formatScalingTable,
  formatVgg16PipelineTable,
  type MemoryResult,
  type ScalingResult,
  type Vgg16PipelineResult,
} from './pipeline-bench.js';
import { formatWholeImageTable, type WholeImageResult } from './whole-image.js';

/** A measurement that could not be made, and why. */
export interface FailedMeasurement {
  status: 'failed';
  reason: string;
}

/** BENCHMARKS.md measurement (c): the whole per-image work, stage code vs the naive sum. */
export type WholeOutcome = (WholeImageResult & { status?: 'ok' }) | FailedMeasurement;

/** BENCHMARKS.md measurements (c), (d), (e) through the real pipeline (run from bench.ts, wasm): VGG16 on synthetic ImageNet images, and the digits-pair config. */
export interface PipelineBench {
  /** `sglrp run configs/imagenet-vgg16.yaml` with 1 then 2 workers. */
  vgg16?: (Vgg16PipelineResult & { status?: 'ok' }) | FailedMeasurement;
  scaling?: (ScalingResult & { status?: 'ok' }) | FailedMeasurement;
  memory?: (MemoryResult & { status?: 'ok' }) | FailedMeasurement;
}

export interface MemorySnapshot {
  rssBytes: number;
  /** `process.resourceUsage().maxRSS`: the process's high-water mark so far. */
  peakRssBytes: number;
  /** Bytes held by live TF.js tensors. */
  tensorBytes: number;
  /** wasm only: the heap's size, its high-water mark (it never shrinks; the limit is 4 GiB). */
  wasmHeapBytes?: number;
}

/** A case that could not run (e.g. its pass did not fit in memory). */
export interface FailedCase {
  name: CaseName;
  label: string;
  status: 'failed';
  reason: string;
}

export interface CaseResult {
  name: CaseName;
  status?: 'ok';
  label: string;
  images: number;
  imagesPerCall: number;
  maps: number;
  seconds: number;
  imagesPerSecond: number;
  mapsPerSecond: number | null;
  memoryAfter: MemorySnapshot;
}

export type BackendResult =
  | {
      backend: string;
      status: 'ok';
      engineBackend: string;
      threads?: number;
      maxRowsPerPass: number;
      loadSeconds: number;
      warmupSeconds: number;
      cases: (CaseResult | FailedCase)[];
      memory: MemorySnapshot;
      /** Masked re-classification, full vs incremental, per patch size (BENCHMARKS.md measurement (b)). */
      incremental?: IncrementalBenchResult;
      /** The whole per-image work vs the naive sum (BENCHMARKS.md measurement (c)). */
      whole?: WholeOutcome;
    }
  | { backend: string; status: 'unavailable' | 'failed'; reason: string };

export interface BenchResults {
  date: string;
  machine: MachineInfo;
  model: { name: string; inputShape: number[]; classes: number; parameters: number };
  options: { images: number; batch: number; cases: CaseName[] };
  backends: BackendResult[];
  /** The real pipeline: VGG16 with 1 vs 2 workers; the digits-pair config, 1 vs 2 workers and memory over a long run (BENCHMARKS.md measurement (c), (d), (e)). */
  pipeline?: PipelineBench;
  /** 1-minute load average sampled during the run (the bench itself adds about 1 per busy core it uses). */
  load: { before: number; max: number; mean: number; after: number };
  seconds: number;
}

/** images/s of the one-pass LRP family divided by that of six separate passes (> 1: batching pays). */
export function batchedOverSeparate(cases: readonly (CaseResult | FailedCase)[]): number | null {
  const ok = cases.filter((c): c is CaseResult => c.status !== 'failed');
  const b = ok.find((c) => c.name === 'lrp-family-batched');
  const s = ok.find((c) => c.name === 'lrp-family-separate');
  return b && s ? b.imagesPerSecond / s.imagesPerSecond : null;
}

/** True when `name` is the later of the two LRP-family cases in the order they ran. */
function isSecondOfPair(cases: readonly (CaseResult | FailedCase)[], name: CaseName): boolean {
  const i = cases.findIndex((c) => c.name === 'lrp-family-batched');
  const j = cases.findIndex((c) => c.name === 'lrp-family-separate');
  return cases[Math.max(i, j)]?.name === name;
}

const gib = (b: number | undefined) => (b === undefined ? '–' : `${(b / 2 ** 30).toFixed(2)} GiB`);

function fmt(v: number | null): string {
  if (v === null) return '–';
  return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

/** The printed table: one block per backend; unavailable ones with their reason. */
export function formatTable(r: BenchResults): string {
  const lines: string[] = [];
  for (const b of r.backends) {
    if (b.status !== 'ok') {
      lines.push(`**${b.backend}**: ${b.status} — ${b.reason}`, '');
      continue;
    }
    const threads = b.threads !== undefined ? `, ${b.threads} thread${b.threads === 1 ? '' : 's'}` : '';
    lines.push(
      `**${b.backend}**${threads} (model load ${b.loadSeconds.toFixed(1)} s, cold first call ${b.warmupSeconds.toFixed(1)} s, ≤ ${b.maxRowsPerPass} seed rows per pass)`,
      '',
    );
    lines.push('| case | images | images/call | seconds | images/s | maps/s | peak RSS so far | wasm heap |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
    const ratio = batchedOverSeparate(b.cases);
    for (const c of b.cases) {
      if (c.status === 'failed') {
        lines.push(`| ${c.label} | failed: ${c.reason.replace(/\|/g, '/')} | | | | | | |`);
        continue;
      }
      lines.push(
        `| ${c.label} | ${c.images} | ${c.imagesPerCall} | ${c.seconds.toFixed(1)} | ${fmt(c.imagesPerSecond)} | ${fmt(c.mapsPerSecond)} | ${gib(c.memoryAfter.peakRssBytes)} | ${gib(c.memoryAfter.wasmHeapBytes)} |`,
      );
      // The ratio goes right under the two rows it compares.
      if (ratio !== null && isSecondOfPair(b.cases, c.name)) {
        lines.push(`| **ratio** one pass / separate passes (6 LRP-family maps) | | | | **${ratio.toFixed(2)}×** | | | |`);
      }
    }
    if (b.incremental) lines.push('', formatIncrementalTable(b.incremental));
    if (b.whole)
      lines.push(
        '',
        b.whole.status === 'failed' ? `**(c) whole per-image benchmark work**: failed — ${b.whole.reason}` : formatWholeImageTable(b.whole),
      );
    lines.push(
      '',
      `peak RSS of the ${b.backend} process: ${gib(b.memory.peakRssBytes)}${b.memory.wasmHeapBytes !== undefined ? `; wasm heap high-water ${gib(b.memory.wasmHeapBytes)} of 4 GiB` : ''}`,
      '',
    );
  }
  if (r.pipeline) lines.push(formatPipeline(r.pipeline));
  return lines.join('\n');
}

/** The VGG16 pipeline, (d) and (e) tables, or why they are missing. */
export function formatPipeline(p: PipelineBench): string {
  const lines: string[] = [];
  if (p.vgg16)
    lines.push(
      p.vgg16.status === 'failed'
        ? `**(c)–(e) VGG16 through the pipeline**: failed — ${p.vgg16.reason}`
        : formatVgg16PipelineTable(p.vgg16),
      '',
    );
  if (p.scaling)
    lines.push(
      p.scaling.status === 'failed' ? `**(d) pipeline scaling**: failed — ${p.scaling.reason}` : formatScalingTable(p.scaling),
      '',
    );
  if (p.memory)
    lines.push(
      p.memory.status === 'failed' ? `**(e) resident memory over a long run**: failed — ${p.memory.reason}` : formatMemoryTable(p.memory),
      '',
    );
  return lines.join('\n');
}
