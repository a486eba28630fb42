import * as tf from '@tensorflow/tfjs';
import { modulePath, NameBook, sanitizeName } from './names.js';
import type { Plan, PlannedLayer } from './plan.js';

/**
 * Plan → TF.js LayersModel. Names first: a PyTorch module's last layer takes the module path
 * (`layer4.1.relu_1`), earlier layers of the same module `<path>.<OpType>`, the zero padding
 * made for a window `<layer>_pad`; nodes without a scope keep their (sanitised) node name.
 */
export function nameLayers(plan: Plan): void {
  const book = new NameBook();
  const lastOfModule = new Map<string, number>();
  plan.layers.forEach((l, i) => {
    const m = modulePath(l.node);
    if (m && !l.helper) lastOfModule.set(m, i);
  });
  plan.layers.forEach((l, i) => {
    if (l.helper) return;
    const m = modulePath(l.node);
    const want = m ? (lastOfModule.get(m) === i ? m : `${m}.${l.opType}`) : l.node || l.opType.toLowerCase();
    l.name = book.take(sanitizeName(want));
  });
  plan.layers.forEach((l, i) => {
    if (!l.helper) return;
    const owner = plan.layers.slice(i + 1).find((x) => !x.helper && x.node === l.node);
    l.name = book.take(`${owner?.name ?? sanitizeName(l.node || 'pad')}_pad`);
  });
}

function makeLayer(l: PlannedLayer): tf.layers.Layer {
  const args = { ...l.config, name: l.name } as never;
  switch (l.cls) {
    case 'Conv2D':
      return tf.layers.conv2d(args);
    case 'Dense':
      return tf.layers.dense(args);
    case 'ZeroPadding2D':
      return tf.layers.zeroPadding2d(args);
    case 'Cropping2D':
      return tf.layers.cropping2D(args);
    case 'MaxPooling2D':
      return tf.layers.maxPooling2d(args);
    case 'AveragePooling2D':
      return tf.layers.averagePooling2d(args);
    case 'GlobalAveragePooling2D':
      return tf.layers.globalAveragePooling2d(args);
    case 'Flatten':
      return tf.layers.flatten(args);
    case 'ReLU':
      return tf.layers.reLU(args);
    case 'Add':
      return tf.layers.add(args);
    case 'Concatenate':
      return tf.layers.concatenate(args);
    case 'BatchNormalization':
      return tf.layers.batchNormalization(args);
  }
}

/** Builds the functional model of a named plan and sets its weights. */
export function buildLayersModel(plan: Plan, modelName: string): tf.LayersModel {
  const input = tf.input({ shape: plan.inputShape, name: 'input' });
  const layers = plan.layers.map(makeLayer);
  const outs: tf.SymbolicTensor[] = [];
  plan.layers.forEach((l, i) => {
    const ins = l.inputs.map((j) => (j < 0 ? input : outs[j]!));
    outs.push(layers[i]!.apply(ins.length === 1 ? ins[0]! : ins) as tf.SymbolicTensor);
  });
  const model = tf.model({ inputs: input, outputs: outs[plan.output]!, name: sanitizeName(modelName) });
  plan.layers.forEach((l, i) => {
    if (l.weights.length === 0) return;
    const ts = l.weights.map((w) => tf.tensor(w.data as Float32Array, w.dims, 'float32'));
    try {
      layers[i]!.setWeights(ts);
    } finally {
      tf.dispose(ts);
    }
  });
  return model;
}
