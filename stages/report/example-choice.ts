/**
 * Which images become report examples (docs/PROTOCOL.md §8): SGLRP's biggest wins and losses by
 * paired difference, plus seeded random ones. The worker keeps a shard's candidates and writes
 * their heatmaps; the report picks the final rows among all shards' candidates with the same
 * functions. Because every shard keeps its own k best, k worst and k lowest-hash images, the
 * union of the shards' candidates holds the run's k best, k worst and k lowest-hash images, so
 * the report's choice is the one a single pass over the whole run would make.
 */
import { hashKey } from '../../engine/seeded-random.js';

/** One masking measurement of one image. */
export interface DropEntry {
  method: string;
  targetKind: string;
  patchSize: number;
  drop: number;
}

export type ExampleReason = 'win' | 'loss' | 'random';

/**
 * SGLRP's advantage on one image: for each target kind and patch size where SGLRP has a finite
 * drop, SGLRP's drop minus the mean drop of the other methods there; then the mean over those.
 * NaN when SGLRP or every rival is missing (the image can still be a random example).
 */
export function sglrpAdvantage(entries: readonly DropEntry[]): number {
  const groups = new Map<string, { sglrp: number; rivals: number[] }>();
  for (const e of entries) {
    if (!Number.isFinite(e.drop)) continue;
    const key = `${e.targetKind}\u0000${e.patchSize}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { sglrp: NaN, rivals: [] }));
    if (e.method === 'sglrp') g.sglrp = e.drop;
    else g.rivals.push(e.drop);
  }
  let sum = 0;
  let n = 0;
  for (const g of groups.values()) {
    if (!Number.isFinite(g.sglrp) || g.rivals.length === 0) continue;
    sum += g.sglrp - g.rivals.reduce((a, b) => a + b, 0) / g.rivals.length;
    n++;
  }
  return n > 0 ? sum / n : NaN;
}

/** The seeded draw of one image: the k images with the smallest key are the random examples. */
export function randomExampleKey(seed: number, imageId: string): number {
  return hashKey(seed, 'example', imageId);
}

export interface Candidate {
  imageId: string;
  advantage: number;
  randomKey: number;
}

/**
 * The k biggest wins (advantage > 0, largest first), k biggest losses (advantage < 0, most
 * negative first) and k random images among `candidates`; an image is listed once, under the
 * first of win, loss, random that takes it. Ties are broken by image id so the choice is stable.
 */
export function chooseExamples<C extends Candidate>(candidates: readonly C[], k: number): { candidate: C; reason: ExampleReason }[] {
  const byId = (a: C, b: C) => a.imageId.localeCompare(b.imageId);
  const wins = candidates
    .filter((c) => c.advantage > 0)
    .sort((a, b) => b.advantage - a.advantage || byId(a, b))
    .slice(0, k);
  const losses = candidates
    .filter((c) => c.advantage < 0)
    .sort((a, b) => a.advantage - b.advantage || byId(a, b))
    .slice(0, k);
  const taken = new Set([...wins, ...losses].map((c) => c.imageId));
  const random = [...candidates]
    .sort((a, b) => a.randomKey - b.randomKey || byId(a, b))
    .slice(0, k)
    .filter((c) => !taken.has(c.imageId));
  return [
    ...wins.map((candidate) => ({ candidate, reason: 'win' as const })),
    ...losses.map((candidate) => ({ candidate, reason: 'loss' as const })),
    ...random.map((candidate) => ({ candidate, reason: 'random' as const })),
  ];
}

/**
 * Keeps a shard's candidates while its batches go by: at most k wins, k losses and k random
 * images with their payload (the maps to draw), so memory stays bounded by 3k images.
 */
export class ExampleKeeper<P> {
  private kept: (Candidate & { payload: P })[] = [];

  constructor(private readonly k: number) {}

  offer(candidate: Candidate, payload: P): void {
    if (this.k <= 0) return;
    this.kept.push({ ...candidate, payload });
    const chosen = new Set(chooseExamples(this.kept, this.k).map((c) => c.candidate.imageId));
    this.kept = this.kept.filter((c) => chosen.has(c.imageId));
  }

  chosen(): (Candidate & { payload: P })[] {
    return [...this.kept];
  }
}
