/**
 * Reproducible randomness for the Random baseline and the digits-pair generator: streams are
 * derived from a hash of their identity (run seed, image id, target), never from the order in
 * which work arrives, so results do not depend on sharding or the number of workers.
 */

/** 32-bit FNV-1a of a string. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A small, fast, well-distributed PRNG (sfc32) returning floats in [0, 1). */
export function rngFrom(key: string): () => number {
  let a = hash32(`a:${key}`), b = hash32(`b:${key}`), c = hash32(`c:${key}`), d = 1;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next(); // warm up away from the seeding pattern
  return next;
}

/** The Random method's map: uniform values, seeded by (run seed, image id, target class). */
export function randomMap(height: number, width: number, seed: number, imageId: string, targetClass: number): Float32Array {
  const rng = rngFrom(`random-map|${seed}|${imageId}|${targetClass}`);
  const m = new Float32Array(height * width);
  for (let i = 0; i < m.length; i++) m[i] = rng();
  return m;
}
