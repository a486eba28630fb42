import * as tf from '@tensorflow/tfjs';
import type { PoolGeometry } from '../../engine/pool-routing.js';

/**
 * Routing through TF.js's own MaxPoolGrad (autodiff of maxPool), the independent reference the
 * tests check engine/pool-routing.ts's routeByMask and routeByOffsets against (on the cpu
 * backend, whose MaxPoolGrad routes every window). The input is repeated per seed so
 * every seed routes through its image.
 */
export function routeByGradient(r: tf.Tensor4D, a: tf.Tensor4D, g: PoolGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const b = a.shape[0];
    const k = r.shape[0] / b;
    const [, h, w, c] = a.shape;
    const rep = k === 1 ? a : (tf.reshape(tf.tile(tf.expandDims(a, 1), [1, k, 1, 1, 1]), [b * k, h, w, c]) as tf.Tensor4D);
    const f = (x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, g.poolSize, g.strides, g.padding);
    return tf.grad(f)(rep, r) as tf.Tensor4D;
  });
}
