/**
 * Finds the example heatmaps the pipeline saved (RUN_DIR/examples/<image_id>/input.png and
 * <method>_<target_kind>.png) and orders them into a grid: one row per image, the input first,
 * then target kinds (gt, top2, …) and within each the fixed method order.
 */
import { join } from 'node:path';
import { listDir } from './manifest.js';
import { compareMethods, compareTargetKinds, methodLabel } from './method-order.js';
import type { ExampleRow } from './types.js';

const natural = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** Example rows of all run dirs; an image id found in several run dirs is taken from the first. */
export async function findExamples(runDirs: readonly string[]): Promise<ExampleRow[]> {
  const rows = new Map<string, ExampleRow>();
  for (const runDir of runDirs) {
    const root = join(runDir, 'examples');
    for (const imageId of (await listDir(root)).sort(natural)) {
      if (rows.has(imageId)) continue;
      const files = new Map<string, string>();
      for (const name of (await listDir(join(root, imageId))).sort(natural)) {
        if (!name.toLowerCase().endsWith('.png') || name.startsWith('.')) continue;
        files.set(name.slice(0, -4), join(root, imageId, name));
      }
      if (files.size > 0) rows.set(imageId, { imageId, files });
    }
  }
  return [...rows.values()];
}

/** Splits `<method>_<target_kind>`; the kind is the part after the last underscore. */
function parseColumn(key: string): { method: string; kind: string } | null {
  const i = key.lastIndexOf('_');
  return i > 0 ? { method: key.slice(0, i), kind: key.slice(i + 1) } : null;
}

/** Column keys present in any row, in display order. */
export function exampleColumns(rows: readonly ExampleRow[]): string[] {
  const keys = new Set<string>();
  for (const r of rows) for (const k of r.files.keys()) keys.add(k);
  const rank = (k: string) => (k === 'input' ? 0 : parseColumn(k) ? 1 : 2);
  return [...keys].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    if (ra !== rb) return ra - rb;
    if (ra === 1) {
      const pa = parseColumn(a)!;
      const pb = parseColumn(b)!;
      return compareTargetKinds(pa.kind, pb.kind) || compareMethods(pa.method, pb.method);
    }
    return natural(a, b);
  });
}

/** Header text of a grid column: "SGLRP (gt)". */
export function columnTitle(key: string): string {
  if (key === 'input') return 'input';
  const p = parseColumn(key);
  return p ? `${methodLabel(p.method)} (${p.kind})` : key;
}
