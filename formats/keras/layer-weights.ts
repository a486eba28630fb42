/**
 * Weights read from a Keras file, layer by layer, and their assignment to a TF.js model. Every
 * Keras layout (Keras 2 full model, application weight file, Keras 3 archive) reduces to an
 * ordered list of layers, each with its weights in the layer's own order (kernel, bias; gamma,
 * beta, moving mean, moving variance): Keras itself reads weights by position within a layer,
 * whatever they are called (`block1_conv1_W_1:0` in the released application files, `kernel:0`
 * in newer saves), and so does this.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelLoadError } from '../../engine/model-loader.js';

/** One layer's weights in a file: names and shapes known up front, values read on demand. */
export interface FileLayer {
  /** The layer's name in the file (Keras 3: the model config's name, not the storage path). */
  name: string;
  weights: { name: string; shape: number[] }[];
  /** The values, in the order of `weights`. */
  read(): Float32Array[];
}

type Pair = { file: FileLayer; layer: tf.layers.Layer };

const shapeText = (s: readonly (number | null)[]) => `[${s.join(', ')}]`;

/**
 * Pairs the file's layers with the model's by name. When names differ but the weighted layers are
 * as many (an application file saved by a Keras whose automatic names counted from 1), they are
 * paired by position instead, as Keras' own `load_weights` does; the shape check below then
 * catches any architecture mismatch.
 */
function pairLayers(model: tf.LayersModel, fileLayers: FileLayer[], source: string): Pair[] {
  const weighted = fileLayers.filter((l) => l.weights.length > 0);
  const modelWeighted = model.layers.filter((l) => l.weights.length > 0);
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const unknown = weighted.filter((l) => !byName.has(l.name));
  if (unknown.length === 0) return weighted.map((file) => ({ file, layer: byName.get(file.name)! }));
  if (weighted.length === modelWeighted.length) return weighted.map((file, i) => ({ file, layer: modelWeighted[i]! }));
  throw new ModelLoadError(
    `${source}: layer '${unknown[0]!.name}' of the weight file is not in the model, and the file has ${weighted.length} weighted layers where the model has ${modelWeighted.length}; the file is for another architecture`,
  );
}

/**
 * Loads `fileLayers` into `model`. Every shape is checked before any value is read, in the model's
 * layer order, so the error names the first layer that does not match.
 */
export function assignLayerWeights(model: tf.LayersModel, fileLayers: FileLayer[], source: string): void {
  const pairs = pairLayers(model, fileLayers, source);
  const fileOf = new Map(pairs.map((p) => [p.layer, p.file]));
  for (const layer of model.layers.filter((l) => l.weights.length > 0)) {
    const file = fileOf.get(layer);
    if (!file) {
      throw new ModelLoadError(
        `${source} has no weights for layer '${layer.name}' (${layer.getClassName()})${layer.getClassName() === 'Dense' ? '; a "notop" file lacks the classifier: use the full weight file' : '; the file is for another architecture'}`,
      );
    }
    const expected = layer.weights;
    const where = file.name === layer.name ? `layer '${layer.name}'` : `layer '${layer.name}' (stored as '${file.name}')`;
    if (file.weights.length !== expected.length) {
      throw new ModelLoadError(
        `${source}: ${where} (${layer.getClassName()}) has ${file.weights.length} weights in the file but the model's layer has ${expected.length} (${expected.map((w) => w.originalName).join(', ')}); the file is for another architecture`,
      );
    }
    file.weights.forEach((w, i) => {
      const want = expected[i]!.shape;
      if (w.shape.length !== want.length || w.shape.some((d, k) => d !== want[k])) {
        throw new ModelLoadError(
          `${source}: ${where} (${layer.getClassName()}): weight '${w.name}' has shape ${shapeText(w.shape)} in the file but the model expects ${shapeText(want)} (${expected[i]!.originalName}); the file is for another architecture, input size or class count`,
        );
      }
    });
  }
  const extra = pairs.find((p) => p.layer.weights.length === 0);
  if (extra)
    throw new ModelLoadError(
      `${source}: the file has weights for layer '${extra.file.name}', which has none in the model (${extra.layer.getClassName()}); the file is for another architecture`,
    );
  for (const { file, layer } of pairs) {
    const values = file.read();
    const tensors = values.map((v, i) => tf.tensor(v, file.weights[i]!.shape));
    try {
      layer.setWeights(tensors);
    } finally {
      tf.dispose(tensors);
    }
  }
}
