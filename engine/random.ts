import { hashKey, Rng } from './seeded-random.js';

/**
 * The Random baseline's map (docs/PROTOCOL.md §3): uniform values from a stream keyed by (run seed, image
 * id, target class), never by the order in which work arrives, so results do not depend on
 * sharding or the number of workers. Its arg-max is a seeded random pixel (docs/PROTOCOL.md §4).
 */
export function randomMap(height: number, width: number, seed: number, imageId: string, targetClass: number): Float32Array {
  const rng = new Rng(hashKey('random-map', seed, imageId, targetClass));
  const m = new Float32Array(height * width);
  for (let i = 0; i < m.length; i++) m[i] = rng.next();
  return m;
}
