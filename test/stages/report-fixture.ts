/** A hand-made run directory for the report tests (shared by report.test.ts and report-browser.test.ts). */
import { after } from 'node:test';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeTableAtomic } from '../../results/table-io.js';
import { TABLES, type Row, type TableName } from '../../results/schemas.js';
import { shardTag } from '../../pipeline/run-dir.js';
import { formatRecord, manifestSchema, type ManifestRecord } from '../../results/run-format.js';

// ---------- fixtures: a hand-made run directory ----------

export type Drops = Record<string, Record<string, Record<number, number[]>>>; // kind → method → p → drop per image
export type Pointing = Record<string, Record<number, { hits: number[]; misses: number[]; empty?: boolean[] }>>; // method → E → per image
export type Game = Record<string, { hit: boolean[]; tol: boolean[] }>;

export interface RunSpec {
  images: string[];
  drops: Drops;
  pointing: Pointing;
  game: Game;
  errors?: Row[];
  /** Which image indices each shard holds. */
  shards: number[][];
  plan?: { shardCount: number };
  /** Shards whose listed masking file is damaged after the manifest is written. */
  corruptMasking?: number[];
  configHash?: string;
}

const roots: string[] = [];
after(async () => {
  for (const r of roots) await fs.rm(r, { recursive: true, force: true });
});

export async function tempDir(): Promise<string> {
  const d = await fs.mkdtemp(join(tmpdir(), 'report-test-'));
  roots.push(d);
  return d;
}

function forwardRow(id: string, index: number): Row {
  return {
    image_id: id,
    image_index: index,
    label: 1,
    top1: 1,
    top2: 2,
    top3: 3,
    top4: 4,
    top5: 5,
    p_top1: 0.6,
    p_top2: 0.2,
    p_top3: 0.1,
    p_top4: 0.05,
    p_top5: 0.01,
    p_gt: 0.6,
    target_gt: 1,
    target_top2: 2,
    logits: Float32Array.from([0, 3, 2, 1, 0, -1]),
  };
}

export function tableRows(spec: RunSpec, imageIdx: number[]): Record<TableName, Row[]> {
  const t: Record<string, Row[]> = { forward: [], masking: [], pointing: [], pointing_game: [], errors: [] };
  for (const i of imageIdx) {
    const id = spec.images[i]!;
    t.forward!.push(forwardRow(id, i));
    for (const [kind, byMethod] of Object.entries(spec.drops)) {
      for (const [method, byP] of Object.entries(byMethod)) {
        for (const [p, drops] of Object.entries(byP)) {
          const drop = drops[i]!;
          t.masking!.push({
            image_id: id,
            image_index: i,
            method,
            target_kind: kind,
            target_class: kind === 'gt' ? 1 : 2,
            patch_size: Number(p),
            center_row: 3,
            center_col: 4,
            y_before: 0.9,
            y_after: 0.9 - drop,
            drop,
          });
        }
      }
    }
    for (const [method, byE] of Object.entries(spec.pointing)) {
      for (const [e, g] of Object.entries(byE)) {
        const hits = g.hits[i]!;
        const misses = g.misses[i]!;
        t.pointing!.push({
          image_id: id,
          image_index: i,
          method,
          energy: Number(e),
          hits,
          misses,
          accuracy: hits + misses > 0 ? hits / (hits + misses) : 0,
          empty: g.empty?.[i] ?? false,
          box_clipped: false,
        });
      }
    }
    for (const [method, g] of Object.entries(spec.game)) {
      t.pointing_game!.push({ image_id: id, image_index: i, method, hit: g.hit[i]!, hit_tolerance: g.tol[i]! });
    }
  }
  for (const e of spec.errors ?? []) if (imageIdx.includes(e.image_index as number)) t.errors!.push(e);
  return t as Record<TableName, Row[]>;
}

export async function writeRun(runDir: string, spec: RunSpec): Promise<void> {
  for (const [s, idx] of spec.shards.entries()) {
    const name = `shard-${shardTag(s)}.arrow`;
    const files = [];
    for (const [table, rows] of Object.entries(tableRows(spec, idx)) as [TableName, Row[]][]) {
      const w = await writeTableAtomic(join(runDir, 'tables', table, name), TABLES[table], rows);
      files.push({ table, path: `tables/${table}/${name}`, rows: w.rows, sha256: w.sha256, bytes: w.bytes });
    }
    // A record as `sglrp run` writes it (results/run-format.ts), under a fixed made-up identity.
    const identity = { configHash: 'c'.repeat(64), model: 'a'.repeat(64), annotations: null };
    const manifest: ManifestRecord = {
      phase: 'main',
      shard: s,
      identity,
      backend: 'cpu',
      seconds: 2,
      imageCount: idx.length,
      files,
      finishedAt: '2026-01-01T00:00:00.000Z',
      host: 'test',
    };
    await fs.mkdir(join(runDir, 'manifest'), { recursive: true });
    await fs.writeFile(join(runDir, 'manifest', `main-${shardTag(s)}.json`), formatRecord(manifest, manifestSchema, 'manifest'));
    if (spec.corruptMasking?.includes(s)) {
      const path = join(runDir, 'tables', 'masking', name);
      const bytes = await fs.readFile(path);
      bytes[bytes.length >> 1]! ^= 0xff;
      await fs.writeFile(path, bytes);
    }
  }
  const shardCount = spec.plan?.shardCount ?? spec.shards.length;
  await fs.writeFile(join(runDir, 'plan.json'), JSON.stringify({ datasetSize: spec.images.length, limit: null, shardSize: 2, shardCount }));
  await fs.writeFile(join(runDir, 'config.hash'), spec.configHash ?? 'abc123\n');
}

export async function writeExamples(runDir: string, id: string, names: string[]): Promise<void> {
  const dir = join(runDir, 'examples', id);
  await fs.mkdir(dir, { recursive: true });
  for (const [k, n] of names.entries()) {
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 30 * k, g: 100, b: 200 } } })
      .png()
      .toFile(join(dir, `${n}.png`));
  }
}

/** Built so every claim of the paper holds. */
export const AGREE: RunSpec = {
  images: ['img0', 'img1', 'img2', 'img3'],
  shards: [
    [0, 1],
    [2, 3],
  ],
  drops: {
    gt: {
      sglrp: { 1: [0.4, 0.5, 0.6, 0.7], 3: [0.5, 0.6, 0.7, 0.8] },
      clrp: { 1: [0.1, 0.2, 0.3, 0.4], 3: [0.2, 0.3, 0.4, 0.5] },
      lrp: { 1: [0, 0.1, 0.1, 0.2], 3: [0.1, 0.1, 0.2, 0.2] },
      random: { 1: [0, 0, 0.01, 0], 3: [0, 0.01, 0.01, 0] },
    },
    top2: {
      sglrp: { 1: [0.2, 0.3, 0.4, 0.5], 3: [0.3, 0.4, 0.5, 0.6] },
      clrp: { 1: [0.1, 0.1, 0.2, 0.2], 3: [0.1, 0.2, 0.2, 0.3] },
      lrp: { 1: [-0.1, -0.2, 0, -0.1], 3: [-0.2, -0.2, -0.1, -0.1] },
      random: { 1: [-0.05, -0.05, 0, 0], 3: [-0.01, -0.02, 0, -0.01] },
    },
  },
  pointing: {
    sglrp: { 0.5: { hits: [8, 3, 9, 7], misses: [2, 2, 1, 3] }, 1: { hits: [10, 6, 12, 9], misses: [10, 6, 8, 11] } },
    clrp: { 0.5: { hits: [6, 2, 6, 5], misses: [4, 3, 4, 5] }, 1: { hits: [8, 5, 10, 8], misses: [12, 7, 10, 12] } },
    lrp: { 0.5: { hits: [5, 2, 5, 4], misses: [5, 3, 5, 6] }, 1: { hits: [6, 4, 8, 6], misses: [14, 8, 12, 14] } },
    random: {
      0.5: { hits: [0, 0, 0, 0], misses: [10, 5, 0, 10], empty: [false, false, true, false] },
      1: { hits: [1, 0, 0, 1], misses: [19, 12, 20, 19] },
    },
  },
  game: {
    sglrp: { hit: [true, true, true, false], tol: [true, true, true, true] },
    lrp: { hit: [true, false, false, false], tol: [true, true, false, false] },
    random: { hit: [false, false, false, false], tol: [false, true, false, false] },
  },
  errors: [
    { image_id: 'img1', image_index: 1, stage: 'relevance', reason: 'NaN in the map' },
    { image_id: 'img3', image_index: 3, stage: 'read', reason: 'truncated JPEG, re-download it' },
    { image_id: 'img3', image_index: 3, stage: 'masking', reason: 'NaN in the map' },
  ],
};
