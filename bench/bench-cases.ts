/**
 * What the bench times. Every case explains the same random 224×224 inputs through the public
 * `Explainer` API, exactly as the pipeline and `sglrp explain` call it, so a case's images/s is
 * what a user gets. Targets are top1 and top2 (top2 is the paper's "second most probable class").
 */
import type { ExplainEngine } from '../engine/explain-engine.js';
import { BUILTIN_METHODS, METHOD_NAMES, methodLabel } from '../engine/methods/index.js';
import { runAsync } from '../engine/reads.js';
import { resolveTarget } from '../engine/targets.js';
import type { MethodName, Target } from '../engine/types.js';

export const CASE_NAMES = [
  'forward',
  'lrp-1',
  'lrp-family-batched',
  'lrp-family-separate',
  'gbp-2',
  'gradcam-2',
  'all-b1',
  'all-b4',
  'all-b4-one-pass',
] as const;
export type CaseName = (typeof CASE_NAMES)[number];

type TargetSpec = 'top1' | 'top2';

interface Call {
  methods: MethodName[];
  targets: TargetSpec[];
}

export interface CaseSpec {
  name: CaseName;
  label: string;
  /** Maps produced per image (0 for the forward pass). */
  mapsPerImage: number;
  /** `single`: one call per image (batch 1); `batch`: one call holding `--batch` images. */
  batching: 'single' | 'batch';
  /** The explain calls made per image (batch 1) or per batch; empty = forward only. */
  calls: Call[];
  /**
   * Lift the engine's per-pass memory budget so the whole batch goes through one relevance
   * pass (by default a VGG16 batch on wasm is split into one-image passes). Runs last, on an
   * ExplainEngine of its own: when the pass does not fit (the wasm heap stops at 4 GiB) the backend
   * aborts and cannot be used afterwards.
   */
  onePass?: boolean;
}

// From the method registry (engine/methods/): a new method is benched by the 'all' cases as it is.
const ALL: MethodName[] = [...METHOD_NAMES];
const LRP: MethodName[] = BUILTIN_METHODS.filter((m) => m.family === 'relevance').map((m) => m.name);
const BOTH: TargetSpec[] = ['top1', 'top2'];

export const CASES: Record<CaseName, CaseSpec> = {
  forward: { name: 'forward', label: 'forward pass only', mapsPerImage: 0, batching: 'single', calls: [] },
  'lrp-1': {
    name: 'lrp-1',
    label: 'LRP, one map (top1)',
    mapsPerImage: 1,
    batching: 'single',
    calls: [{ methods: ['lrp'], targets: ['top1'] }],
  },
  'lrp-family-batched': {
    name: 'lrp-family-batched',
    label: `${LRP.map(methodLabel).join('+')} × 2 targets = ${LRP.length * 2} maps, one pass`,
    mapsPerImage: LRP.length * 2,
    batching: 'single',
    calls: [{ methods: LRP, targets: BOTH }],
  },
  'lrp-family-separate': {
    name: 'lrp-family-separate',
    label: `the same ${LRP.length * 2} maps as ${LRP.length * 2} separate passes`,
    mapsPerImage: LRP.length * 2,
    batching: 'single',
    calls: LRP.flatMap((m) => BOTH.map((t) => ({ methods: [m], targets: [t] }))),
  },
  'gbp-2': {
    name: 'gbp-2',
    label: 'Guided Backprop × 2 targets',
    mapsPerImage: 2,
    batching: 'single',
    calls: [{ methods: ['gbp'], targets: BOTH }],
  },
  'gradcam-2': {
    name: 'gradcam-2',
    label: 'Grad-CAM × 2 targets',
    mapsPerImage: 2,
    batching: 'single',
    calls: [{ methods: ['gradcam'], targets: BOTH }],
  },
  'all-b1': {
    name: 'all-b1',
    label: `all ${ALL.length} methods × 2 targets = ${ALL.length * 2} maps, batch 1`,
    mapsPerImage: ALL.length * 2,
    batching: 'single',
    calls: [{ methods: ALL, targets: BOTH }],
  },
  'all-b4': {
    name: 'all-b4',
    label: `all ${ALL.length} methods × 2 targets = ${ALL.length * 2} maps, batch B`,
    mapsPerImage: ALL.length * 2,
    batching: 'batch',
    calls: [{ methods: ALL, targets: BOTH }],
  },
  'all-b4-one-pass': {
    name: 'all-b4-one-pass',
    label: `all ${ALL.length} methods × 2 targets, batch B in ONE pass (memory budget lifted)`,
    mapsPerImage: ALL.length * 2,
    batching: 'batch',
    calls: [{ methods: ALL, targets: BOTH }],
    onePass: true,
  },
};

function resolver(specs: TargetSpec[]): (i: number, probs: Float32Array) => Target[] {
  return (_i, probs) => specs.map((s) => resolveTarget(s, probs, -1));
}

/** One explain call, checked so that a silently empty result can never be timed as fast. */
export async function explainCall(ex: ExplainEngine, inputs: Float32Array[], ids: string[], call: Call): Promise<void> {
  const res = await runAsync(
    ex.explainSteps(inputs, resolver(call.targets), { methods: call.methods, variant: 'paper', seed: 0, imageIds: ids, withRaw: false }),
  );
  const want = inputs.length * call.methods.length * call.targets.length;
  if (res.explanations.length !== want) throw new Error(`bench: explain returned ${res.explanations.length} maps, expected ${want}`);
  for (const e of res.explanations) {
    if (!e.map.every(Number.isFinite)) throw new Error(`bench: the ${e.method} map has non-finite values`);
  }
}

/**
 * Runs a case over `inputs` (all of them: one call each, or one call for the whole batch). Async
 * API throughout: it runs on every backend (webgpu cannot read synchronously under Node) and on
 * host backends reads with dataSync, so wasm timings are the sync API's.
 */
export async function runCase(ex: ExplainEngine, spec: CaseSpec, inputs: Float32Array[]): Promise<void> {
  const ids = inputs.map((_, i) => `bench-${i}`);
  if (spec.calls.length === 0) {
    for (const x of inputs) {
      const f = await runAsync(ex.forwardSteps([x]));
      if (!f.logits[0]!.every(Number.isFinite)) throw new Error('bench: the forward pass gave non-finite logits');
    }
    return;
  }
  if (spec.batching === 'batch') {
    for (const call of spec.calls) await explainCall(ex, inputs, ids, call);
    return;
  }
  for (const [i, x] of inputs.entries()) {
    for (const call of spec.calls) await explainCall(ex, [x], [ids[i]!], call);
  }
}
