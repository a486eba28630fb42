/**
 * How an ONNX sliding window (Conv, MaxPool, AveragePool: kernel, strides, explicit pads,
 * ceil_mode) maps onto Keras' two paddings. Keras 'same' pads ⌊total/2⌋ before and the rest
 * after; PyTorch pads symmetrically and may leave the last rows of padding unused. When the
 * windows coincide (same first pad, same output size) the layer uses 'same'; otherwise the
 * padding becomes an explicit ZeroPadding2D in front of a 'valid' layer.
 */
export interface WindowPlan {
  padding: 'same' | 'valid';
  /** Explicit zero padding [[top, bottom], [left, right]] before a 'valid' layer, or null. */
  zeroPad: [[number, number], [number, number]] | null;
  out: [number, number];
}

export interface WindowSpec {
  input: [number, number];
  kernel: [number, number];
  strides: [number, number];
  /** ONNX order: [top, left, bottom, right]. */
  pads: [number, number, number, number];
  ceilMode: boolean;
}

/** Output size of one axis, as ONNX (and PyTorch) compute it. */
export function onnxOutSize(size: number, k: number, s: number, begin: number, end: number, ceil: boolean): number {
  const span = size + begin + end - k;
  if (span < 0) return 0;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // PyTorch's rule: the last window must start inside the input or the leading padding.
  if (ceil && (out - 1) * s >= size + begin) out--;
  return out;
}

export function planWindow(w: WindowSpec, sameAllowed: boolean): WindowPlan {
  const [t, l, b, r] = w.pads;
  const out: [number, number] = [
    onnxOutSize(w.input[0], w.kernel[0], w.strides[0], t, b, w.ceilMode),
    onnxOutSize(w.input[1], w.kernel[1], w.strides[1], l, r, w.ceilMode),
  ];
  if (t + l + b + r === 0 && !w.ceilMode) return { padding: 'valid', zeroPad: null, out };
  const begins = [t, l];
  const tfSame = [0, 1].every((i) => {
    const n = w.input[i]!;
    const outSame = Math.ceil(n / w.strides[i]!);
    const total = Math.max((outSame - 1) * w.strides[i]! + w.kernel[i]! - n, 0);
    return outSame === out[i] && Math.floor(total / 2) === begins[i];
  });
  if (sameAllowed && tfSame) return { padding: 'same', zeroPad: null, out };
  // The trailing padding the windows actually reach (ceil_mode may need more than `pads` says).
  const trail = [0, 1].map((i) => Math.max((out[i]! - 1) * w.strides[i]! + w.kernel[i]! - w.input[i]! - begins[i]!, 0));
  const zeroPad: [[number, number], [number, number]] = [
    [t, trail[0]!],
    [l, trail[1]!],
  ];
  if (t + l + trail[0]! + trail[1]! === 0) return { padding: 'valid', zeroPad: null, out };
  return { padding: 'valid', zeroPad, out };
}
