import * as tf from '@tensorflow/tfjs';
import { BlockedMatrix, type Kernel } from './blocked.js';

/**
 * Per-model derived weights (W⁺, W⁻, rotated kernels, zB bound images), computed on first use
 * and kept for the model's lifetime, so repeated explanations never recompute them.
 */
export class WeightCache {
  private readonly tensors = new Map<string, tf.Tensor>();

  get<T extends tf.Tensor>(key: string, make: () => T): T {
    let t = this.tensors.get(key);
    if (!t) {
      // Cloned (cheap: the data is shared, not copied) because `make` may hand back one of the
      // graph's own weights (the 'all' weight part), which dispose() must not free.
      t = tf.keep(tf.tidy(() => tf.clone(make())));
      this.tensors.set(key, t);
    }
    return t as T;
  }

  /**
   * A weight derived from a layer's kernel by `f` (W⁺, W⁻, zB's stacked kernel), cached under
   * `key`. A blocked Dense kernel (engine/blocked.ts) is derived block by block, each block cached
   * under `${key}#${j}`, so no derived tensor is larger than a block either; the BlockedMatrix
   * returned is a view on cached tensors (never dispose it). A single tensor: get(key, f(k, 0)).
   */
  derived(key: string, k: Kernel, f: (block: tf.Tensor, j: number) => tf.Tensor): Kernel {
    if (!(k instanceof BlockedMatrix)) return this.get(key, () => f(k, 0));
    return new BlockedMatrix(k.blocks.map((b, j) => this.get(`${key}#${j}`, () => f(b, j) as tf.Tensor2D)));
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}
