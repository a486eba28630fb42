/**
 * Small deterministic random numbers (the digits-pair generator, the Random baseline). Each image draws from its own
 * stream, keyed by a hash of (seed, stream name, index), so an image never depends on which
 * other images were generated before it (shards and threads see identical data).
 */

/** 32-bit finaliser of MurmurHash3: spreads every input bit over the output. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes integers and strings into one 32-bit key (order matters). */
export function hashKey(...parts: Array<number | string>): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    if (typeof part === 'number') {
      if (!Number.isSafeInteger(part)) throw new Error(`hashKey: ${part} is not a safe integer`);
      // Both 32-bit halves, so seeds above 2^32 are not folded onto smaller ones.
      h = fmix32(h ^ (part >>> 0));
      h = fmix32(h ^ Math.floor(part / 0x100000000) ^ 0x5bd1e995);
    } else {
      for (let i = 0; i < part.length; i++) h = fmix32(h ^ part.charCodeAt(i));
      h = fmix32(h ^ part.length ^ 0x27d4eb2f);
    }
  }
  return h;
}

/** A seeded PRNG (mulberry32): fast, 32-bit state, good enough for layouts and shuffles. */
export class Rng {
  private state: number;

  constructor(key: number) {
    this.state = key >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }
}
