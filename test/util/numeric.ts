import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { disposeCache, forwardWithCache } from '../../engine/forward.js';
import type { Graph } from '../../engine/graph.js';
import { propagateRelevance } from '../../engine/relevance.js';
import type { Composite } from '../../engine/rules.js';
import { disposeWalkState } from '../../engine/walk.js';
import { WeightCache } from '../../engine/weight-cache.js';

/** Element-wise |got − want| ≤ rel · max|want| (a relative tolerance on the array's scale). */
export function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, rel: number, what: string): void {
  assert.equal(got.length, want.length, what);
  let scale = 1e-12;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i]! - want[i]!) <= rel * scale, `${what}: element ${i}: ${got[i]} vs ${want[i]} (scale ${scale})`);
  }
}

/** Input relevance of each seed row (image-major: seeds.length / images.length seeds per image). */
export function relevanceOf(graph: Graph, images: Float32Array[], seeds: Float32Array[], rules: Composite): Float32Array[] {
  const [h, w, c] = graph.inputShape;
  const per = h * w * c;
  const x = tf.tensor4d(Float32Array.from(images.flatMap((a) => Array.from(a))), [images.length, h, w, c]);
  const cache = forwardWithCache(graph, x);
  const s = tf.tensor2d(Float32Array.from(seeds.flatMap((a) => Array.from(a))), [seeds.length, graph.numClasses]);
  const weights = new WeightCache();
  const r = propagateRelevance(cache, s, rules, weights);
  const data = r.dataSync() as Float32Array;
  disposeWalkState(cache);
  disposeCache(cache);
  weights.dispose();
  tf.dispose([x, s, r]);
  return seeds.map((_, i) => data.slice(i * per, (i + 1) * per));
}
