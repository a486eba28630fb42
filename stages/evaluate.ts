import type { ExplainEngine, ExplainGroup } from '../engine/explain-engine.js';
import { runAsync, runSync, type Reads } from '../engine/reads.js';
import type { Explanation, MethodName, Variant } from '../engine/types.js';
import type { Sample } from '../data/types.js';
import type { AnyMetric, MaskedInput, MetricItem } from '../metrics/metric.js';
import { registeredMetrics, type MetricConfigs } from '../metrics/registry.js';
import { forwardRow, runTargets, type RunTargetKind } from './forward.js';
import { relevanceRow } from './relevance.js';
import { mergeRows, pushRows, type TableRows } from './rows.js';

export interface EvaluateOptions {
  methods: MethodName[];
  variant: Variant;
  /** LRP composite by name (default: the variant's). */
  composite?: string;
  targets: RunTargetKind[];
  seed: number;
  gradcamLayer?: string;
  /** Each metric's config slice under its key (RunConfig's `masking`, `pointing`, …; metrics/registry.ts). */
  metricConfigs: MetricConfigs;
  /** The image masked regions are filled from (H×W×C, preprocessed space). */
  fill: Float32Array;
  /** The metrics to compute; default: every registered metric. */
  metrics?: readonly AnyMetric[];
}

export interface BatchResult {
  rows: TableRows;
  /** Explanations per sample id (for example heatmaps and --keep-maps). */
  explanations: Map<string, Explanation[]>;
}

/**
 * The main phase for one batch, as data flows: forward → relevance (all methods × targets in one
 * shared pass) → each registered metric (metrics/registry.ts): its `onGroup` stage inside the
 * relevance pass, on the forward cache of each micro-batch (masking: deduplicated masked inputs,
 * re-classified incrementally), then its `onBatch` stage on the finished maps (pointing).
 * Pure apart from the engine calls; rows go back to the writers. Sync: host backends only (wasm,
 * cpu, tensorflow); evaluateBatchAsync runs on every backend (webgpu under Node cannot read
 * tensors synchronously; see engine/reads.ts).
 */
export function evaluateBatch(explainer: ExplainEngine, samples: Sample[], opts: EvaluateOptions): BatchResult {
  return runSync(evaluateSteps(explainer, samples, opts));
}

/** evaluateBatch on every backend (what the pipeline's shard workers call). */
export function evaluateBatchAsync(explainer: ExplainEngine, samples: Sample[], opts: EvaluateOptions): Promise<BatchResult> {
  return runAsync(evaluateSteps(explainer, samples, opts));
}

function* evaluateSteps(explainer: ExplainEngine, samples: Sample[], opts: EvaluateOptions): Reads<BatchResult> {
  const rows: TableRows = {};
  const explanations = new Map<string, Explanation[]>();
  const needsLabel = opts.targets.includes('gt');
  const labelled = samples.filter((s) => !needsLabel || s.label >= 0);
  const unlabeled = samples.filter((s) => needsLabel && s.label < 0);
  // Targets an image without a ground-truth label can still have (top2 needs only the logits).
  const withoutLabel = opts.targets.filter((k) => k !== 'gt');

  // An image without a label still gets every target that does not need it; only its gt rows are
  // missing, and an errors row says so. With no such target it gets just its forward row.
  if (unlabeled.length > 0) {
    const missing =
      withoutLabel.length > 0
        ? `target gt is not evaluated (no relevance, masking or pointing rows for it); ${withoutLabel.join(', ')} is`
        : "the run's only target is gt, so only its forward row is written";
    for (const s of unlabeled) {
      pushRows(rows, 'errors', [
        { image_id: s.id, image_index: s.index, stage: 'forward', reason: `no ground-truth label for this image: ${missing}` },
      ]);
    }
    if (withoutLabel.length === 0) {
      const f = yield* explainer.forwardSteps(unlabeled.map((s) => s.input));
      unlabeled.forEach((s, i) => pushRows(rows, 'forward', [forwardRow(s, f.logits[i]!, f.probs[i]!)]));
    }
  }
  // The engine takes one target list per call, so labelled and unlabelled images go separately.
  if (labelled.length > 0) yield* evaluateGroup(explainer, labelled, opts.targets, opts, rows, explanations);
  if (unlabeled.length > 0 && withoutLabel.length > 0) yield* evaluateGroup(explainer, unlabeled, withoutLabel, opts, rows, explanations);
  return { rows, explanations };
}

/** Forward, maps and every metric of images that share one target list; rows are added to `rows`. */
function* evaluateGroup(
  explainer: ExplainEngine,
  evaluable: Sample[],
  targets: RunTargetKind[],
  opts: EvaluateOptions,
  rows: TableRows,
  explanations: Map<string, Explanation[]>,
): Reads<void> {
  const metrics = opts.metrics ?? registeredMetrics();
  const metricConfig = (m: AnyMetric) => (opts.metricConfigs as Record<string, unknown>)[m.config.key];
  // Metrics with a group stage run per micro-batch inside `explain`, on the forward cache the maps came from.
  const groupRows: TableRows = {};
  const onGroup = function* (g: ExplainGroup): Reads<void> {
    const items: MetricItem[] = evaluable.slice(g.offset, g.offset + g.count).map((sample, i) => ({
      sample,
      explanations: g.explanations.filter((e) => e.imageIndex === g.offset + i),
      probs: g.probs[i]!,
    }));
    const classifyMasked = (masks: readonly MaskedInput[]) => explainer.classifyMaskedSteps(g.cache, [...masks], opts.fill);
    for (const m of metrics) {
      if (!m.stage.onGroup) continue;
      mergeRows(groupRows, yield* m.stage.onGroup({ items, config: metricConfig(m), classifyMasked }));
    }
  };
  const res = yield* explainer.explainSteps(
    evaluable.map((s) => s.input),
    (i, _probs, logits) => {
      const t = runTargets(evaluable[i]!, logits, targets);
      if (typeof t === 'string') throw new Error(`internal: ${t}`); // split by label above
      return t;
    },
    {
      methods: opts.methods,
      variant: opts.variant,
      ...(opts.composite !== undefined ? { composite: opts.composite } : {}),
      seed: opts.seed,
      imageIds: evaluable.map((s) => s.id),
      targetsPerImage: targets.length,
      ...(opts.gradcamLayer !== undefined ? { gradcamLayer: opts.gradcamLayer } : {}),
      withRaw: false,
      onGroup,
    },
  );
  evaluable.forEach((s, i) => {
    pushRows(rows, 'forward', [forwardRow(s, res.forward.logits[i]!, res.forward.probs[i]!)]);
    explanations.set(s.id, []);
  });
  for (const e of res.explanations) explanations.get(evaluable[e.imageIndex]!.id)!.push(e);

  const items: MetricItem[] = evaluable.map((s, i) => ({ sample: s, explanations: explanations.get(s.id)!, probs: res.forward.probs[i]! }));
  for (const it of items)
    pushRows(
      rows,
      'relevance',
      it.explanations.map((e) => relevanceRow(it.sample, e)),
    );

  mergeRows(rows, groupRows);
  for (const m of metrics) if (m.stage.onBatch) mergeRows(rows, m.stage.onBatch({ items, config: metricConfig(m) }));
}
