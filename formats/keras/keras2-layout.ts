/**
 * Reads the Keras 2 weight layout (keras/src/legacy/saving/legacy_h5_format.py,
 * `save_weights_to_hdf5_group`): a group with attribute `layer_names` (every layer, model order)
 * and one subgroup per layer whose attribute `weight_names` lists its weights, each a dataset at
 * that (possibly nested) name. Full models keep it under `model_weights/`, application weight
 * files at the root.
 */
import { ModelLoadError } from '../../engine/model-loader.js';
import { childDataset, childGroup, readFloat32, stringListAttr, type Group } from './hdf5.js';
import type { FileLayer } from './layer-weights.js';

export function readKeras2Layers(group: Group, source: string): FileLayer[] {
  const names = stringListAttr(group, 'layer_names');
  if (names.length === 0) {
    throw new ModelLoadError(`${source}: no 'layer_names' attribute where Keras keeps its weights; not a Keras weight file`);
  }
  return names.map((name) => {
    const layerGroup = childGroup(group, name);
    if (!layerGroup)
      throw new ModelLoadError(`${source}: layer '${name}' is listed in layer_names but has no group; the file is truncated or damaged`);
    const weightNames = stringListAttr(layerGroup, 'weight_names');
    const datasets = weightNames.map((w) => {
      const ds = childDataset(layerGroup, w);
      if (!ds)
        throw new ModelLoadError(
          `${source}: weight '${w}' of layer '${name}' is listed in weight_names but missing; the file is truncated or damaged`,
        );
      return ds;
    });
    return {
      name,
      weights: datasets.map((ds, i) => ({ name: weightNames[i]!, shape: ds.shape ?? [] })),
      read: () => datasets.map((ds, i) => readFloat32(ds, `${source}: ${name}/${weightNames[i]}`)),
    };
  });
}
