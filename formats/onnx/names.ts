/**
 * Layer names for an imported ONNX graph. PyTorch (1.13+) names nodes by module scope, e.g.
 * `/layer4/layer4.1/relu_1/Relu` or `/features/features.29/Relu`; the module path a user knows
 * (`layer4.1.relu_1`, `features.29`) is recovered from it, and becomes the Keras layer name of
 * the module's last layer, so Grad-CAM layers can be named as in PyTorch code.
 */

/**
 * `/layer4/layer4.1/relu_1/Relu` → `layer4.1.relu_1`; `/features/features.29/Relu` →
 * `features.29`; null for names without a scope (`Relu_12`, `/Flatten`). Each scope segment is
 * either a full dotted path (`layer4.1`) or an attribute under the previous one (`relu_1`).
 */
export function modulePath(nodeName: string): string | null {
  if (!nodeName.startsWith('/')) return null;
  const segments = nodeName
    .split('/')
    .filter((s) => s.length > 0)
    .slice(0, -1);
  if (segments.length === 0) return null;
  let path = segments[0]!;
  for (const s of segments.slice(1)) path = s.startsWith(`${path}.`) ? s : `${path}.${s}`;
  return path;
}

/** A name TF.js accepts for a layer (and as its weights' prefix). */
export function sanitizeName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  return s.length > 0 ? s : 'layer';
}

/** Hands out unique names: `want`, else `want_2`, `want_3`, … */
export class NameBook {
  private readonly used = new Set<string>(['input']);
  take(want: string): string {
    let name = want;
    for (let i = 2; this.used.has(name); i++) name = `${want}_${i}`;
    this.used.add(name);
    return name;
  }
}
