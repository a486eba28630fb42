/** Reductions from signed input relevance (H×W×C) to the final H×W map (docs/PROTOCOL.md §2, §3). */

/** Σ_c max(R, 0): the paper's map (positive part per pixel and channel, then channel sum). */
export function positiveChannelSum(raw: Float32Array, channels: number): Float32Array {
  const out = new Float32Array(raw.length / channels);
  for (let p = 0, i = 0; p < out.length; p++) {
    let s = 0;
    for (let c = 0; c < channels; c++, i++) if (raw[i]! > 0) s += raw[i]!;
    out[p] = s;
  }
  return out;
}

/** Σ_c R: the authors' heatmap (signed, nothing clipped). */
export function channelSum(raw: Float32Array, channels: number): Float32Array {
  const out = new Float32Array(raw.length / channels);
  for (let p = 0, i = 0; p < out.length; p++) {
    let s = 0;
    for (let c = 0; c < channels; c++, i++) s += raw[i]!;
    out[p] = s;
  }
  return out;
}

export function sum64(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

/** Reference CLRP/SGLRP: T − D·ΣT/ΣD (the dual scaled to the target's total). ΣD = 0 → T. */
export function contrast(target: Float32Array, dual: Float32Array): Float32Array {
  const sd = sum64(dual);
  const scale = sd === 0 ? 0 : sum64(target) / sd;
  const out = new Float32Array(target.length);
  for (let i = 0; i < out.length; i++) out[i] = target[i]! - dual[i]! * scale;
  return out;
}
