/**
 * Writes a Keras application weight file from Node (h5wasm), as the released
 * `vgg16_weights_tf_dim_ordering_tf_kernels.h5` is laid out (Keras 2 `save_weights_to_hdf5_group`,
 * keras/src/legacy/saving/legacy_h5_format.py): root attributes `layer_names`, `backend`,
 * `keras_version`; one group per layer with attribute `weight_names` (the released files use
 * Keras 1 names, `block1_conv1_W_1:0`, `block1_conv1_b_1:0`), each weight a dataset of that name
 * in the group; weight-less layers (input, pools, flatten) with an empty `weight_names`. Used by
 * the tests instead of a committed file: the real one is 528 MB, and CI has no Python.
 */
import h5wasm from 'h5wasm/node';

export interface ApplicationLayer {
  name: string;
  /** Weight shapes in Keras order (kernel, bias); empty for weight-less layers. */
  shapes: number[][];
}

/** VGG16's layers as keras.applications.vgg16 names them, with their weight shapes. */
export function vgg16Layers(): ApplicationLayer[] {
  const layers: ApplicationLayer[] = [{ name: 'input_1', shapes: [] }];
  const filters = [64, 128, 256, 512, 512];
  const convs = [2, 2, 3, 3, 3];
  let channels = 3;
  convs.forEach((n, b) => {
    for (let i = 1; i <= n; i++) {
      layers.push({ name: `block${b + 1}_conv${i}`, shapes: [[3, 3, channels, filters[b]!], [filters[b]!]] });
      channels = filters[b]!;
    }
    layers.push({ name: `block${b + 1}_pool`, shapes: [] });
  });
  layers.push({ name: 'flatten', shapes: [] });
  layers.push({ name: 'fc1', shapes: [[7 * 7 * 512, 4096], [4096]] });
  layers.push({ name: 'fc2', shapes: [[4096, 4096], [4096]] });
  layers.push({ name: 'predictions', shapes: [[4096, 1000], [1000]] });
  return layers;
}

/**
 * Writes `layers` to `path`; `values(layer, i, shape)` gives each weight (called once per weight,
 * so only one weight is held at a time). Weights are named as in the released files: `<layer>_W_1:0`
 * for the kernel, `<layer>_b_1:0` for the bias.
 */
export async function writeApplicationWeightFile(
  path: string,
  layers: ApplicationLayer[],
  values: (layer: string, index: number, shape: number[]) => Float32Array,
): Promise<void> {
  await h5wasm.ready;
  const file = new h5wasm.File(path, 'w');
  try {
    file.create_attribute(
      'layer_names',
      layers.map((l) => l.name),
    );
    file.create_attribute('backend', 'tensorflow');
    file.create_attribute('keras_version', '2.0.8');
    for (const layer of layers) {
      const group = file.create_group(layer.name);
      const names = layer.shapes.map((_, i) => `${layer.name}_${i === 0 ? 'W' : 'b'}_1:0`);
      // Keras stores an empty list as an empty float64 array.
      if (names.length === 0) group.create_attribute('weight_names', new Float64Array(0), [0]);
      else group.create_attribute('weight_names', names);
      layer.shapes.forEach((shape, i) => {
        group.create_dataset({ name: names[i]!, data: values(layer.name, i, shape), shape, dtype: '<f' });
      });
    }
  } finally {
    file.close();
  }
}
