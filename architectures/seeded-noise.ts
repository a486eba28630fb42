/**
 * Seeded uniform noise (one xorshift32 stream per seed): the builders' BatchNormalization
 * calibration image, and the tests' random images (test/util/models.ts re-exports it as
 * `randomImage`), so a model and its test inputs are the same on every machine.
 */
export function seededUniform(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = lo + ((x >>> 0) / 4294967296) * (hi - lo);
  }
  return out;
}
