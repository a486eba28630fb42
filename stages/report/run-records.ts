/**
 * What the provenance block needs from a run directory beyond the tables: the resolved config
 * (config.yaml) and each finished shard's record (backend, device, host, seconds, finish time).
 * Read leniently: provenance describes what is there and never stops a report.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

export interface ShardRun {
  phase: string;
  shard: number;
  backend: string | null;
  /** The device behind the backend where the manifest names one (webgpu's adapter). */
  backendDetail: string | null;
  host: string | null;
  seconds: number | null;
  imageCount: number | null;
  finishedAt: string | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Every manifest record of `runDir` (manifest/<phase>-<shard>.json; rejected/ left out). */
export async function readShardRuns(runDir: string): Promise<ShardRun[]> {
  const dir = join(runDir, 'manifest');
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const out: ShardRun[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(await fs.readFile(join(dir, name), 'utf8')) as Record<string, unknown>;
    } catch {
      continue; // the table loader reports unreadable manifests as problems
    }
    out.push({
      phase: str(raw.phase) ?? name.replace(/-\d+\.json$/, ''),
      shard: num(raw.shard) ?? -1,
      backend: str(raw.backend),
      backendDetail: str(raw.backendDetail),
      host: str(raw.host),
      seconds: num(raw.seconds),
      imageCount: num(raw.imageCount),
      finishedAt: str(raw.finishedAt),
    });
  }
  return out;
}

/** The resolved config the run wrote (config.yaml), as plain data; null when absent or unreadable. */
export async function readRunConfig(runDir: string): Promise<Record<string, unknown> | null> {
  try {
    const parsed: unknown = parseYaml(await fs.readFile(join(runDir, 'config.yaml'), 'utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
