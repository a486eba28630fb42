/**
 * Every map of a run that kept them (`keepMaps: true` → RUN_DIR/maps/<image>_<method>_<kind>.npy),
 * drawn as heatmap PNGs into the report folder (maps/), so the image browser can show any image's
 * maps from file:// with relative links. Without kept maps there is nothing to do.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { encodePng, heatmapRgb } from '../../io/heatmap.js';
import { readNpy } from '../../io/npy.js';
import { writeFileAtomic } from '../../results/atomic-file.js';

/** The worker's file-name form of an image id (workers/shard-worker.ts). */
export function fileSafeId(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** `<image>_<method>_<kind>.npy` → its parts; the image part may itself hold underscores. */
export function parseMapFile(name: string): { image: string; key: string } | null {
  const m = /^(.+)_([^_]+)_([^_]+)\.npy$/.exec(name);
  return m ? { image: m[1]!, key: `${m[2]}_${m[3]}` } : null;
}

/**
 * Draws the kept maps of the images in `ids` into outDir/maps/; returns, per image id, map key →
 * path relative to the report folder.
 */
export async function renderKeptMaps(
  runDirs: readonly string[],
  ids: readonly string[],
  outDir: string,
): Promise<Map<string, Record<string, string>>> {
  const bySafe = new Map(ids.map((id) => [fileSafeId(id), id]));
  const out = new Map<string, Record<string, string>>();
  for (const runDir of runDirs) {
    const dir = join(runDir, 'maps');
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    if (names.length === 0) continue;
    await fs.mkdir(join(outDir, 'maps'), { recursive: true });
    for (const name of names.sort()) {
      const parsed = parseMapFile(name);
      const id = parsed ? bySafe.get(parsed.image) : undefined;
      if (!parsed || id === undefined) continue;
      const entry = out.get(id) ?? {};
      if (entry[parsed.key]) continue; // taken from an earlier run directory
      let npy;
      try {
        npy = await readNpy(join(dir, name));
      } catch {
        continue; // a damaged map file costs its picture, not the report
      }
      const [h, w] = npy.shape;
      if (npy.shape.length !== 2 || !h || !w) continue;
      const png = `maps/${name.slice(0, -'.npy'.length)}.png`;
      await writeFileAtomic(join(outDir, png), await encodePng(heatmapRgb(Float32Array.from(npy.data), h, w), h, w));
      entry[parsed.key] = png;
      out.set(id, entry);
    }
  }
  return out;
}
