import * as tf from '@tensorflow/tfjs';

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

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}
