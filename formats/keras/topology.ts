/**
 * A Keras model config (Keras 2's `model_config`, Keras 3's `config.json`) as the topology TF.js
 * deserialises. Keras 2 configs are what tensorflowjs_converter copies verbatim; Keras 3
 * (keras/src/saving/serialization_lib.py) differs in a few mechanical ways, undone here:
 * - every object carries `module` / `registered_name` (and layers `build_config`): dropped;
 * - dtypes are `DTypePolicy` objects (Keras 2 mixed precision: `Policy`): their `name`;
 * - InputLayer has `batch_shape` for `batch_input_shape`;
 * - a layer's `inbound_nodes` are `{args, kwargs}` call records whose tensors are
 *   `{"class_name": "__keras_tensor__", "config": {"keras_history": [layer, node, tensor]}}`,
 *   for Keras 2's `[[[layer, node, tensor, kwargs], …]]`;
 * - a single-input model's `input_layers` / `output_layers` may be one `[layer, node, tensor]`.
 * BatchNormalization's `axis` list (`[3]`, as tf.keras writes it) becomes the number TF.js expects.
 */
import { ModelLoadError } from '../../engine/model-loader.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
/** A JSON object: a model config, a layer, a layer's config. */
export type Obj = { [k: string]: Json };

const isObj = (v: Json | undefined): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The layer list of a model config, whatever its wrapping. */
export function configLayers(topology: Obj): Obj[] {
  const cfg = topology['config'];
  const layers = isObj(cfg) ? cfg['layers'] : Array.isArray(cfg) ? cfg : undefined;
  return Array.isArray(layers) ? layers.filter(isObj) : [];
}

/** Normalises a Keras 2 or 3 model config (`{class_name, config}`) for tf.models.modelFromJSON. */
export function tfjsTopology(modelConfig: unknown, source: string): Obj {
  const model = modelConfig as Json;
  if (!isObj(model) || typeof model['class_name'] !== 'string' || !isObj(model['config'])) {
    throw new ModelLoadError(
      `${source}: the model config is not a Keras model ({class_name, config}); it may hold a subclassed model, which has no config to rebuild from`,
    );
  }
  const cls = model['class_name'];
  if (!['Functional', 'Model', 'Sequential'].includes(cls)) {
    throw new ModelLoadError(`${source}: model class '${cls}' is not supported (Sequential or Functional models only)`);
  }
  const config = { ...model['config'] };
  const layers = configLayers(model).map((l) => normaliseLayer(l));
  config['layers'] = layers;
  for (const key of ['input_layers', 'output_layers']) {
    const v = config[key];
    if (Array.isArray(v) && typeof v[0] === 'string') config[key] = [v];
  }
  return { class_name: cls, config };
}

function normaliseLayer(layer: Obj): Obj {
  const out: Obj = { class_name: layer['class_name'] ?? null, config: stripSerialisation(layer['config'] ?? {}) };
  if (layer['name'] !== undefined) out['name'] = layer['name'];
  const cfg = out['config'] as Obj;
  if (layer['class_name'] === 'InputLayer' && cfg['batch_shape'] !== undefined && cfg['batch_input_shape'] === undefined) {
    cfg['batch_input_shape'] = cfg['batch_shape'];
    delete cfg['batch_shape'];
  }
  if (layer['class_name'] === 'BatchNormalization' && Array.isArray(cfg['axis']) && cfg['axis'].length === 1) cfg['axis'] = cfg['axis'][0]!;
  if (layer['inbound_nodes'] !== undefined) out['inbound_nodes'] = (layer['inbound_nodes'] as Json[]).map(keras2Node);
  return out;
}

/** Drops Keras 3's `module` / `registered_name` / `build_config`, and turns dtype policies into their name. */
function stripSerialisation(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripSerialisation);
  if (!isObj(v)) return v;
  if ((v['class_name'] === 'DTypePolicy' || v['class_name'] === 'Policy') && isObj(v['config'])) return v['config']['name'] ?? 'float32';
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === 'module' || k === 'registered_name' || k === 'build_config') continue;
    out[k] = stripSerialisation(x);
  }
  return out;
}

/** One inbound node in Keras 2's form: a list of [layer, node, tensor, kwargs]. */
function keras2Node(node: Json): Json {
  if (Array.isArray(node)) return node; // already Keras 2
  if (!isObj(node)) return node;
  const refs: Json[] = [];
  const collect = (v: Json | undefined): void => {
    if (Array.isArray(v)) v.forEach(collect);
    else if (isObj(v)) {
      if (v['class_name'] === '__keras_tensor__' && isObj(v['config']) && Array.isArray(v['config']['keras_history'])) {
        const [layer, n, t] = v['config']['keras_history'];
        refs.push([layer ?? null, n ?? 0, t ?? 0, {}]);
      } else Object.values(v).forEach(collect);
    }
  };
  collect(node['args']);
  return refs;
}
