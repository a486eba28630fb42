import * as tf from '@tensorflow/tfjs';

/**
 * Relevance tensors hold K seeds per image, image-major ([B·K, …]); activations hold one row per
 * image ([B, …]). These helpers combine the two without copying activations K times, by viewing
 * both as rank-3 ([B, K, n] and [B, 1, n]) so broadcasting does the repeat.
 */
export function perImage(seeded: tf.Tensor, perImg: tf.Tensor, f: (s: tf.Tensor3D, a: tf.Tensor3D) => tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const b = perImg.shape[0]!;
    const k = seeded.shape[0]! / b;
    if (!Number.isInteger(k)) throw new Error(`relevance batch ${seeded.shape[0]} is not a multiple of the image batch ${b}`);
    const n = perImg.size / b;
    const s = tf.reshape(seeded, [b, k, seeded.size / (b * k)]) as tf.Tensor3D;
    const a = tf.reshape(perImg, [b, 1, n]) as tf.Tensor3D;
    const out = f(s, a);
    return tf.reshape(out, [b * k, ...seeded.shape.slice(1)]);
  });
}

/** seeded ⊙ perImg (shapes must agree after the batch axis). */
export const mulPerImage = (seeded: tf.Tensor, perImg: tf.Tensor) => perImage(seeded, perImg, (s, a) => tf.mul(s, a));
/** seeded / perImg. */
export const divPerImage = (seeded: tf.Tensor, perImg: tf.Tensor) => perImage(seeded, perImg, (s, a) => tf.div(s, a));
