/**
 * BENCHMARKS.md measurement (c): the whole per-image benchmark work vs the naive sum.
 *
 * On the bench's VGG16-shaped model (224×224×3, random weights), for each image:
 *   - real:  `evaluateBatch` (stages/evaluate.ts, what a pipeline worker runs) with the paper's
 *            protocol: methods lrp, clrp, sglrp, gbp, gradcam, ggcam, random; targets gt (the
 *            sample is labelled with its own top1) and top2; patch sizes 1,3,5,7,9; 20 energies;
 *            one box. One forward, one batched LRP-family pass, GBP/Grad-CAM sharing it,
 *            deduplicated masked inputs re-classified incrementally, the pointing game.
 *   - naive: one forward; one separate explain call (its own forward + pass) per LRP-family map
 *            (3 methods × 2 targets = 6); GBP and Grad-CAM one call per target (Guided Grad-CAM
 *            is their product, Random is free); one full forward per masked input (7 methods ×
 *            2 targets × 5 patch sizes = 70, no deduplication: `ExplainEngine.logitsSteps` on the images
 *            built with `applyPatch`); the same pointing game.
 * Both are also given in forward-equivalents: seconds / seconds of one forward pass (median of
 * 3, timed here). The naive masked probabilities are checked against the real masking rows, so a
 * fast wrong answer cannot be timed.
 *
 * Library use (bench-worker.ts): `benchWholeImage(ex, images)` with the worker's warm ExplainEngine.
 */
import { argmaxFirst, applyPatch, patchBounds } from '../stages/masking-geometry.js';
import { evaluateBatchAsync, type EvaluateOptions } from '../stages/evaluate.js';
import { planMasking } from '../stages/masking.js';
import { pointingRows } from '../stages/pointing.js';
import { runTargets } from '../stages/forward.js';
import { rankClasses } from '../engine/targets.js';
import { softmax64 } from '../engine/seeds.js';
import type { ExplainEngine } from '../engine/explain-engine.js';
import { BUILTIN_METHODS, METHOD_NAMES } from '../engine/methods/index.js';
import { runAsync } from '../engine/reads.js';
import type { Explanation, MethodName, Target } from '../engine/types.js';
import type { Sample } from '../data/types.js';

// From the method registry (engine/methods/): every method, as the pipeline runs them.
export const WHOLE_METHODS: MethodName[] = [...METHOD_NAMES];
const LRP_FAMILY: MethodName[] = BUILTIN_METHODS.filter((m) => m.family === 'relevance').map((m) => m.name);
/** Methods with a backward pass of their own (Guided Backprop, Grad-CAM): naive = one call per target. */
const OWN_PASS = BUILTIN_METHODS.filter((m) => m.family === 'gradient' || m.family === 'cam');
export const WHOLE_PATCH_SIZES = [1, 3, 5, 7, 9];
export const WHOLE_ENERGIES = Array.from({ length: 20 }, (_, k) => (k + 1) / 20);
/** Performance targets for the whole per-image work. */
export const TARGET_FORWARD_EQUIVALENTS = 20;
export const TARGET_SECONDS_PER_IMAGE = 11.7;

export interface NaiveParts {
  forward: number;
  /** 6 separate LRP-family passes (each with its own forward). */
  lrpSeparate: number;
  /** GBP, one call per target. */
  gbpPerTarget: number;
  /** Grad-CAM, one call per target. */
  gradcamPerTarget: number;
  /** One full forward per masked input (no deduplication). */
  maskedFull: number;
  pointing: number;
}

export interface WholeImageResult {
  backend: string;
  images: number;
  /** Seconds of one forward pass of one image (median of 3). */
  forwardSeconds: number;
  real: {
    seconds: number;
    secondsPerImage: number;
    imagesPerSecond: number;
    forwardEquivalents: number;
    maskedInputs: number;
    maskingRows: number;
    pointingRows: number;
  };
  naive: {
    seconds: number;
    secondsPerImage: number;
    imagesPerSecond: number;
    forwardEquivalents: number;
    maskedInputs: number;
    parts: NaiveParts;
  };
  /** real images/s ÷ naive images/s. */
  speedup: number;
  /** Largest |y_after(real, incremental) − y_after(naive, full forward)| over the masking rows. */
  maxAfterDiff: number;
  targets: { forwardEquivalents: number; secondsPerImage: number; forwardEquivalentsMet: boolean; secondsPerImageMet: boolean };
}

export interface WholeImageOptions {
  log?: (s: string) => void;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const now = () => performance.now() / 1000;

/** A sample for `input`, labelled with its own top1 (random weights have no true class) and one box. */
export function benchSample(input: Float32Array, index: number, h: number, w: number, c: number, logits: ArrayLike<number>): Sample {
  return {
    id: `bench-whole-${index}`,
    index,
    height: h,
    width: w,
    channels: c,
    input,
    display: new Uint8Array(h * w * 3),
    label: rankClasses(logits)[0]!,
    boxes: [{ x0: Math.floor(w / 4), y0: Math.floor(h / 4), x1: Math.floor((3 * w) / 4), y1: Math.floor((3 * h) / 4) }],
  };
}

/** Forward-equivalents: seconds per image over seconds per forward. */
export function forwardEquivalents(secondsPerImage: number, forwardSeconds: number): number {
  return secondsPerImage / forwardSeconds;
}

/** The paper's protocol as `evaluateBatch` options; fill = zeros, the channel mean in caffe space. */
export function wholeProtocolOptions(h: number, w: number, c: number): EvaluateOptions {
  return {
    methods: WHOLE_METHODS,
    variant: 'paper',
    targets: ['gt', 'top2'],
    seed: 0,
    metricConfigs: { masking: { patchSizes: WHOLE_PATCH_SIZES, fill: 'zero' }, pointing: { energies: WHOLE_ENERGIES, tolerance: 15 } },
    fill: new Float32Array(h * w * c),
  };
}

export async function benchWholeImage(
  ex: ExplainEngine,
  images: Float32Array[],
  options: WholeImageOptions = {},
): Promise<WholeImageResult> {
  const log = options.log ?? ((s: string) => process.stderr.write(s));
  const [h, w, c] = ex.inputShape;
  const opts = wholeProtocolOptions(h, w, c);
  const fill = opts.fill;

  // The unit: one forward of one image (median of 3; kernels are warm in the bench worker).
  const fwd: number[] = [];
  let logits0: Float32Array[] = [];
  for (let i = 0; i < 3; i++) {
    const t = now();
    logits0 = (await runAsync(ex.forwardSteps([images[0]!]))).logits;
    fwd.push(now() - t);
  }
  const forwardSeconds = median(fwd);
  const samples: Sample[] = [];
  for (const [i, x] of images.entries())
    samples.push(benchSample(x, i, h, w, c, i === 0 ? logits0[0]! : (await runAsync(ex.forwardSteps([x]))).logits[0]!));
  log(`bench: whole image: forward ${forwardSeconds.toFixed(2)} s\n`);

  const parts: NaiveParts = { forward: 0, lrpSeparate: 0, gbpPerTarget: 0, gradcamPerTarget: 0, maskedFull: 0, pointing: 0 };
  let realSeconds = 0;
  let maskedInputs = 0;
  let maskingRows = 0;
  let pointingCount = 0;
  let naiveMasked = 0;
  let maxAfterDiff = 0;
  for (const s of samples) {
    // Real: the stage code, one image per call as a pipeline batch of 1.
    let t = now();
    const res = await evaluateBatchAsync(ex, [s], opts);
    const real = now() - t;
    realSeconds += real;
    const explanations = res.explanations.get(s.id) ?? [];
    const want = WHOLE_METHODS.length * 2;
    if (explanations.length !== want)
      throw new Error(`bench: evaluateBatch gave ${explanations.length} maps for ${s.id}, expected ${want}`);
    const masking = res.rows['masking'] ?? [];
    if (masking.length !== want * WHOLE_PATCH_SIZES.length)
      throw new Error(`bench: evaluateBatch gave ${masking.length} masking rows, expected ${want * WHOLE_PATCH_SIZES.length}`);
    maskingRows += masking.length;
    pointingCount += (res.rows['pointing'] ?? []).length;

    // Naive: every piece on its own.
    t = now();
    const f = await runAsync(ex.forwardSteps([s.input]));
    parts.forward += now() - t;
    // Untimed: the real run's distinct masked inputs, planned on the probabilities of that forward.
    maskedInputs += planMasking([{ sample: s, explanations, probs: f.probs[0]! }], WHOLE_PATCH_SIZES).masks.length;
    const targets = runTargets(s, f.logits[0]!, opts.targets) as Target[];
    const call = async (methods: MethodName[], target: Target) => {
      const r = await runAsync(
        ex.explainSteps([s.input], () => [target], { methods, variant: 'paper', seed: 0, imageIds: [s.id], withRaw: false }),
      );
      if (r.explanations.length !== methods.length || !r.explanations.every((e) => e.map.every(Number.isFinite)))
        throw new Error(`bench: naive ${methods.join('+')} call gave no finite map`);
    };
    t = now();
    for (const m of LRP_FAMILY) for (const target of targets) await call([m], target);
    parts.lrpSeparate += now() - t;
    for (const m of OWN_PASS) {
      t = now();
      for (const target of targets) await call([m.name], target);
      if (m.family === 'gradient') parts.gbpPerTarget += now() - t;
      else parts.gradcamPerTarget += now() - t;
    }

    // Masked inputs from the same maps (the stage's, which the naive calls reproduce exactly), one full forward each.
    t = now();
    const keys: { e: Explanation; p: number }[] = [];
    const inputs: Float32Array[] = [];
    for (const e of explanations) {
      const centre = argmaxFirst(e.map, h, w);
      for (const p of WHOLE_PATCH_SIZES) {
        keys.push({ e, p });
        inputs.push(applyPatch(s.input, h, w, c, patchBounds(centre.row, centre.col, p, h, w), fill));
      }
    }
    const z = await runAsync(ex.logitsSteps(inputs));
    parts.maskedFull += now() - t;
    naiveMasked += inputs.length;
    keys.forEach(({ e, p }, i) => {
      const after = softmax64(z[i]!)[e.target.classIndex]!;
      const row = masking.find(
        (r) =>
          r['method'] === e.method &&
          r['target_class'] === e.target.classIndex &&
          r['target_kind'] === e.target.kind &&
          r['patch_size'] === p,
      );
      if (!row) throw new Error(`bench: no masking row for ${e.method}/${e.target.kind}/p=${p}`);
      maxAfterDiff = Math.max(maxAfterDiff, Math.abs((row['y_after'] as number) - after));
    });
    t = now();
    pointingRows(s, explanations, opts.metricConfigs.pointing.energies, opts.metricConfigs.pointing.tolerance);
    parts.pointing += now() - t;
    log(
      `bench: whole image ${s.id}: real ${real.toFixed(1)} s; naive ${(parts.forward + parts.lrpSeparate + parts.gbpPerTarget + parts.gradcamPerTarget + parts.maskedFull + parts.pointing).toFixed(1)} s so far\n`,
    );
  }
  if (!(maxAfterDiff <= 1e-4)) throw new Error(`bench: incremental masking differs from the full forward by ${maxAfterDiff} in y_after`);
  const n = samples.length;
  const naiveSeconds = Object.values(parts).reduce((a, b) => a + b, 0);
  const realPer = realSeconds / n;
  const naivePer = naiveSeconds / n;
  const realFe = forwardEquivalents(realPer, forwardSeconds);
  return {
    backend: ex.backend,
    images: n,
    forwardSeconds,
    real: {
      seconds: realSeconds,
      secondsPerImage: realPer,
      imagesPerSecond: n / realSeconds,
      forwardEquivalents: realFe,
      maskedInputs,
      maskingRows,
      pointingRows: pointingCount,
    },
    naive: {
      seconds: naiveSeconds,
      secondsPerImage: naivePer,
      imagesPerSecond: n / naiveSeconds,
      forwardEquivalents: forwardEquivalents(naivePer, forwardSeconds),
      maskedInputs: naiveMasked,
      parts,
    },
    speedup: naiveSeconds / realSeconds,
    maxAfterDiff,
    targets: {
      forwardEquivalents: TARGET_FORWARD_EQUIVALENTS,
      secondsPerImage: TARGET_SECONDS_PER_IMAGE,
      forwardEquivalentsMet: realFe <= TARGET_FORWARD_EQUIVALENTS,
      secondsPerImageMet: realPer <= TARGET_SECONDS_PER_IMAGE,
    },
  };
}

/** Markdown table (pastes into BENCHMARKS.md). */
export function formatWholeImageTable(r: WholeImageResult): string {
  const fe = (s: number) => (s / r.forwardSeconds).toFixed(1);
  const p = r.naive.parts;
  const n = r.images;
  const lines = [
    `**(c) whole per-image benchmark work, ${r.backend}**: ${n} image(s), VGG16 224×224, 7 methods × (gt, top2) × patch sizes 1,3,5,7,9, 20 energies; one forward = ${r.forwardSeconds.toFixed(2)} s`,
    '',
    '| work per image | seconds/image | images/s | forward-equivalents |',
    '|---|---:|---:|---:|',
    `| real: \`evaluateBatch\` (${r.real.maskedInputs / n} distinct masked inputs, incremental) | ${r.real.secondsPerImage.toFixed(1)} | ${r.real.imagesPerSecond.toPrecision(3)} | ${r.real.forwardEquivalents.toFixed(1)} |`,
    `| naive sum | ${r.naive.secondsPerImage.toFixed(1)} | ${r.naive.imagesPerSecond.toPrecision(3)} | ${r.naive.forwardEquivalents.toFixed(1)} |`,
    `| — one forward | ${(p.forward / n).toFixed(1)} | | ${fe(p.forward / n)} |`,
    `| — 6 LRP-family maps, one pass each | ${(p.lrpSeparate / n).toFixed(1)} | | ${fe(p.lrpSeparate / n)} |`,
    `| — Guided Backprop, one call per target | ${(p.gbpPerTarget / n).toFixed(1)} | | ${fe(p.gbpPerTarget / n)} |`,
    `| — Grad-CAM, one call per target | ${(p.gradcamPerTarget / n).toFixed(1)} | | ${fe(p.gradcamPerTarget / n)} |`,
    `| — ${r.naive.maskedInputs / n} masked inputs, one full forward each | ${(p.maskedFull / n).toFixed(1)} | | ${fe(p.maskedFull / n)} |`,
    `| — pointing game | ${(p.pointing / n).toFixed(2)} | | ${fe(p.pointing / n)} |`,
    `| **ratio** real / naive | | **${r.speedup.toFixed(2)}×** | |`,
    '',
    `performance targets: ≤ ${r.targets.forwardEquivalents} forward-equivalents per image (${r.real.forwardEquivalents.toFixed(1)}: ${r.targets.forwardEquivalentsMet ? 'met' : 'NOT met'}), ` +
      `≤ ${r.targets.secondsPerImage} s per image on the 2-core machine (one worker on one core here: ${r.real.secondsPerImage.toFixed(1)} s, ` +
      `${r.targets.secondsPerImageMet ? 'met even so' : 'not met by one core alone; the pipeline run with 2 workers below is the measure'}); ` +
      `max |y_after incremental − full| = ${r.maxAfterDiff.toExponential(1)}`,
  ];
  return lines.join('\n');
}
