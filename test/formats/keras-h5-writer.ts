/**
 * Writes a TF.js LayersModel (model.json + weights) as a Keras 2 full-model `.h5`, in the layout
 * tf.keras' `model.save("x.h5")` writes (keras/src/legacy/saving/legacy_h5_format.py
 * `save_model_to_hdf5` / `save_weights_to_hdf5_group`): root attributes `model_config`,
 * `keras_version`, `backend`; group `model_weights` with `layer_names` and, per layer,
 * `weight_names` (`block1_conv1/kernel:0`) and datasets at `model_weights/<layer>/<layer>/<name>:0`.
 * For tests that need a Keras file of a model only TF.js built (CI has no Python).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import h5wasm from 'h5wasm/node';

interface ModelJson {
  modelTopology: { model_config?: { class_name: string; config: { layers: { config: { name: string } }[] } } } & Record<string, unknown>;
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
}

export async function writeKeras2H5FromTfjs(modelJsonPath: string, h5Path: string): Promise<void> {
  const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as ModelJson;
  const config = (json.modelTopology.model_config ?? json.modelTopology) as {
    class_name: string;
    config: { layers: { config: { name: string } }[] };
  };
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const bytes = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(modelJsonPath), p)))));
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  await h5wasm.ready;
  const file = new h5wasm.File(h5Path, 'w');
  try {
    file.create_attribute('model_config', JSON.stringify(config));
    file.create_attribute('keras_version', '2.13.1');
    file.create_attribute('backend', 'tensorflow');
    const weights = file.create_group('model_weights');
    const layers = config.config.layers.map((l) => l.config.name);
    weights.create_attribute('layer_names', layers);
    weights.create_attribute('backend', 'tensorflow');
    weights.create_attribute('keras_version', '2.13.1');
    let offset = 0;
    const values = specs.map((s) => {
      if (s.dtype !== 'float32') throw new Error(`${modelJsonPath}: weight ${s.name} is ${s.dtype}; only float32 is written`);
      const n = s.shape.reduce((a, b) => a * b, 1);
      const v = data.subarray(offset, offset + n);
      offset += n;
      return v;
    });
    for (const layer of layers) {
      const group = weights.create_group(layer);
      const mine = specs.map((s, i) => ({ s, i })).filter(({ s }) => s.name.startsWith(`${layer}/`));
      if (mine.length === 0) {
        group.create_attribute('weight_names', new Float64Array(0), [0]);
        continue;
      }
      group.create_attribute(
        'weight_names',
        mine.map(({ s }) => `${s.name}:0`),
      );
      const inner = group.create_group(layer);
      for (const { s, i } of mine)
        inner.create_dataset({ name: `${s.name.slice(layer.length + 1)}:0`, data: values[i]!, shape: s.shape, dtype: '<f' });
    }
  } finally {
    file.close();
  }
}
