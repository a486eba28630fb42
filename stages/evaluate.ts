import type { ExplainEngine, ExplainGroup } from '../engine/explain-engine.js';
import { runAsync, runSync, type Reads } from '../engine/reads.js';
import type { Row } from '../results/schemas.js';
import type { Explanation, MethodName, Variant } from '../engine/types.js';
import type { Sample } from '../data/types.js';
import { forwardRow, runTargets, type RunTargetKind } from './forward.js';
import { finishMasking, planMasking } from './masking.js';
import { pointingRows } from './pointing.js';
import { relevanceRow } from './relevance.js';
import { pushRows, type TableRows } from './rows.js';

export interface EvaluateOptions {
  methods: MethodName[];
  variant: Variant;
  /** LRP composite by name (default: the variant's). */
  composite?: string;
  targets: RunTargetKind[];
  seed: number;
  gradcamLayer?: string;
  patchSizes: number[];
  energies: number[];
  tolerance: number;
  /** Masking fill image (H×W×C, preprocessed space). */
  fill: Float32Array;
}

export interface BatchResult {
  rows: TableRows;
  /** Explanations per sample id (for example heatmaps and --keep-maps). */
  explanations: Map<string, Explanation[]>;
}

/**
 * The main phase for one batch, as data flows: forward → relevance (all methods × targets in one
 * shared pass) → masking (deduplicated masked inputs, re-classified as batches) → pointing.
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
  const evaluable = samples.filter((s) => !needsLabel || s.label >= 0);
  const unlabeled = samples.filter((s) => needsLabel && s.label < 0);

  // Images that cannot be evaluated still get their forward row, and an errors row saying why.
  if (unlabeled.length > 0) {
    const f = yield* explainer.forwardSteps(unlabeled.map((s) => s.input));
    unlabeled.forEach((s, i) => {
      pushRows(rows, 'forward', [forwardRow(s, f.logits[i]!, f.probs[i]!)]);
      pushRows(rows, 'errors', [{ image_id: s.id, image_index: s.index, stage: 'forward', reason: runTargets(s, f.logits[i]!, opts.targets) as string }]);
    });
  }
  if (evaluable.length === 0) return { rows, explanations };

  // Masking runs per micro-batch inside `explain`, on the forward cache the maps came from.
  const masking: Row[] = [];
  const maskGroup = function* (g: ExplainGroup): Reads<void> {
    if (opts.patchSizes.length === 0) return;
    const items = evaluable.slice(g.offset, g.offset + g.count).map((sample, i) => ({
      sample,
      explanations: g.explanations.filter((e) => e.imageIndex === g.offset + i),
      probs: g.probs[i]!,
    }));
    const plan = planMasking(items, opts.patchSizes);
    masking.push(...finishMasking(plan, yield* explainer.classifyMaskedSteps(g.cache, plan.masks, opts.fill)));
  };
  const res = yield* explainer.explainSteps(
    evaluable.map((s) => s.input),
    (i, _probs, logits) => {
      const t = runTargets(evaluable[i]!, logits, opts.targets);
      if (typeof t === 'string') throw new Error(`internal: ${t}`); // filtered above
      return t;
    },
    {
      methods: opts.methods,
      variant: opts.variant,
      ...(opts.composite !== undefined ? { composite: opts.composite } : {}),
      seed: opts.seed,
      imageIds: evaluable.map((s) => s.id),
      targetsPerImage: opts.targets.length,
      ...(opts.gradcamLayer !== undefined ? { gradcamLayer: opts.gradcamLayer } : {}),
      withRaw: false,
      onGroup: maskGroup,
    },
  );
  evaluable.forEach((s, i) => {
    pushRows(rows, 'forward', [forwardRow(s, res.forward.logits[i]!, res.forward.probs[i]!)]);
    explanations.set(s.id, []);
  });
  for (const e of res.explanations) explanations.get(evaluable[e.imageIndex]!.id)!.push(e);

  const items = evaluable.map((s, i) => ({ sample: s, explanations: explanations.get(s.id)!, probs: res.forward.probs[i]! }));
  for (const it of items) pushRows(rows, 'relevance', it.explanations.map((e) => relevanceRow(it.sample, e)));

  pushRows(rows, 'masking', masking);
  for (const it of items) {
    const p = pointingRows(it.sample, it.explanations, opts.energies, opts.tolerance);
    pushRows(rows, 'pointing', p.pointing);
    pushRows(rows, 'pointing_game', p.pointing_game);
  }
  return { rows, explanations };
}
