import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Activation, Graph, GraphNode, LayerOp, Padding } from './graph.js';

/** A model file the engine cannot use: missing, malformed, or with an unsupported layer. */
export class ModelLoadError extends Error {}

interface LayerJson {
  class_name: string;
  config: Record<string, unknown> & { name?: string };
}

export const SUPPORTED_LAYERS = ['InputLayer', 'Conv2D', 'Dense', 'MaxPooling2D', 'Flatten', 'Reshape', 'Activation', 'ReLU', 'Dropout'];

interface ModelJson {
  modelTopology: unknown;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
}

/** Reads model.json, checks every layer is supported, and loads the weights from disk. */
export async function loadLayersModelFromFile(modelPath: string): Promise<tf.LayersModel> {
  const path = resolve(modelPath);
  if (!existsSync(path)) {
    throw new ModelLoadError(`model file not found: ${path} (pass the path of a TF.js LayersModel's model.json)`);
  }
  let json: ModelJson;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as ModelJson;
  } catch (e) {
    throw new ModelLoadError(`model file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new ModelLoadError(
      `${path} is not a TF.js LayersModel (no modelTopology/weightsManifest); convert Keras models with tensorflowjs_converter --input_format keras`,
    );
  }
  checkSupportedLayers(topologyLayers(json.modelTopology, path), path);

  const dir = dirname(path);
  const buffers: Buffer[] = [];
  const specs: tf.io.WeightsManifestEntry[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const shard = join(dir, p);
      if (!existsSync(shard)) {
        throw new ModelLoadError(`weight shard ${shard} listed in ${path} is missing; copy all weight files next to model.json`);
      }
      buffers.push(readFileSync(shard));
    }
    specs.push(...group.weights);
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  const expected = specs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1) * bytesPerElement(w), 0);
  if (expected !== weightData.byteLength) {
    throw new ModelLoadError(
      `weights of ${path} hold ${weightData.byteLength} bytes but the manifest needs ${expected}; a weight shard is truncated or from another model`,
    );
  }
  const handler: tf.io.IOHandler = {
    load: async () => ({
      modelTopology: json.modelTopology as object,
      weightSpecs: specs,
      weightData,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy ?? undefined,
    }),
  };
  try {
    return await tf.loadLayersModel(handler);
  } catch (e) {
    throw new ModelLoadError(`cannot build the model in ${path}: ${(e as Error).message}`);
  }
}

function bytesPerElement(w: tf.io.WeightsManifestEntry): number {
  if (w.quantization) return w.quantization.dtype === 'uint8' ? 1 : 2;
  return 4;
}

/** The layer list of a Keras topology, in either the converter's or Keras' own wrapping. */
function topologyLayers(topology: unknown, path: string): LayerJson[] {
  const t = topology as Record<string, unknown>;
  const model = (t['model_config'] ?? t) as { class_name?: string; config?: unknown };
  const cfg = model.config as { layers?: LayerJson[] } | LayerJson[] | undefined;
  const layers = Array.isArray(cfg) ? cfg : cfg?.layers;
  if (!Array.isArray(layers)) throw new ModelLoadError(`${path}: cannot find the layer list in modelTopology`);
  return layers;
}

/** Fails, naming the layer and its class, on anything the relevance rules do not cover. */
export function checkSupportedLayers(layers: LayerJson[], source: string): void {
  const problems: string[] = [];
  layers.forEach((l, i) => {
    const name = String(l.config?.name ?? `#${i}`);
    const c = l.config ?? {};
    const last = i === layers.length - 1;
    const why = unsupportedReason(l.class_name, c, last);
    if (why) problems.push(`layer '${name}' (${l.class_name}): ${why}`);
  });
  if (problems.length > 0) {
    throw new ModelLoadError(
      `${source} uses layers the relevance engine does not support:\n  ${problems.join('\n  ')}\n` +
        `Supported: ${SUPPORTED_LAYERS.join(', ')} (Conv2D/Dense with relu or linear activation; softmax only as the final activation).`,
    );
  }
}

function unsupportedReason(cls: string, c: Record<string, unknown>, last: boolean): string | null {
  if (!SUPPORTED_LAYERS.includes(cls)) return 'unsupported layer class';
  const act = c['activation'] as string | undefined;
  const actOk = (a: string | undefined) => a === undefined || a === 'relu' || a === 'linear' || (a === 'softmax' && last);
  if ((cls === 'Conv2D' || cls === 'Dense' || cls === 'Activation') && !actOk(act)) return `activation '${act}' is not supported here`;
  if (cls === 'Conv2D') {
    if (c['data_format'] && c['data_format'] !== 'channels_last') return 'only channels_last is supported';
    const d = c['dilation_rate'];
    if (d !== undefined && [d].flat().some((v) => v !== 1)) return 'dilated convolutions are not supported';
    if (c['groups'] !== undefined && c['groups'] !== 1) return 'grouped convolutions are not supported';
  }
  if (cls === 'MaxPooling2D' && c['data_format'] && c['data_format'] !== 'channels_last') return 'only channels_last is supported';
  if (cls === 'ReLU' && ((c['max_value'] ?? null) !== null || Number(c['negative_slope'] ?? 0) !== 0 || Number(c['threshold'] ?? 0) !== 0)) {
    return 'only a plain ReLU (no max_value, negative_slope or threshold) is supported';
  }
  return null;
}

/** Loads a model file and converts it to the engine's graph (weights are copied; the model is disposed). */
export async function loadGraph(modelPath: string): Promise<Graph> {
  const model = await loadLayersModelFromFile(modelPath);
  try {
    return graphFromLayersModel(model);
  } finally {
    model.dispose();
  }
}

type AnyLayer = tf.layers.Layer & {
  inboundNodes: { inboundLayers: tf.layers.Layer[] }[];
  getConfig(): Record<string, unknown>;
};

/** Converts a loaded LayersModel (Sequential or functional) to the engine graph. */
export function graphFromLayersModel(model: tf.LayersModel): Graph {
  const inputShape = model.inputs[0]!.shape.slice(1) as number[];
  if (inputShape.length !== 3 || inputShape.some((d) => d == null)) {
    throw new ModelLoadError(`the model's input must be a fixed H×W×C image, got [${inputShape.join(', ')}]`);
  }
  const nodes: GraphNode[] = [{ id: 0, name: 'input', className: 'InputLayer', op: { kind: 'input' }, inputs: [], outputShape: inputShape }];
  const idOf = new Map<tf.layers.Layer, number>();
  const outLayer = model.outputs[0]!.sourceLayer;
  let softmaxSplit = false;

  for (const layer of model.layers as AnyLayer[]) {
    const cls = layer.getClassName();
    if (cls === 'InputLayer') {
      idOf.set(layer, 0);
      continue;
    }
    if (layer.inboundNodes.length !== 1) {
      throw new ModelLoadError(`layer '${layer.name}' (${cls}) is shared by several inputs; shared layers are not supported`);
    }
    const inputs = layer.inboundNodes[0]!.inboundLayers.map((l) => {
      const id = idOf.get(l);
      if (id === undefined) return 0; // Sequential models hide their InputLayer
      return id;
    });
    const cfg = layer.getConfig();
    const isOutput = layer === outLayer;
    let op: LayerOp;
    const w = layer.getWeights();
    const act = (a: unknown): Activation => {
      if (a === 'softmax' && isOutput) {
        softmaxSplit = true;
        return 'linear';
      }
      return a === 'relu' ? 'relu' : 'linear';
    };
    switch (cls) {
      case 'Conv2D':
        op = {
          kind: 'conv2d',
          kernel: tf.clone(w[0]!) as tf.Tensor4D,
          bias: cfg['useBias'] === false ? null : (tf.clone(w[1]!) as tf.Tensor1D),
          strides: pair(cfg['strides']),
          padding: cfg['padding'] as Padding,
          activation: act(cfg['activation']),
        };
        break;
      case 'Dense':
        op = {
          kind: 'dense',
          kernel: tf.clone(w[0]!) as tf.Tensor2D,
          bias: cfg['useBias'] === false ? null : (tf.clone(w[1]!) as tf.Tensor1D),
          activation: act(cfg['activation']),
        };
        break;
      case 'MaxPooling2D':
        op = { kind: 'maxpool', poolSize: pair(cfg['poolSize']), strides: pair(cfg['strides'] ?? cfg['poolSize']), padding: cfg['padding'] as Padding };
        break;
      case 'Flatten':
      case 'Reshape':
        op = { kind: 'reshape', targetShape: (layer.outputShape as number[]).slice(1) };
        break;
      case 'ReLU':
        op = { kind: 'relu' };
        break;
      case 'Activation': {
        const a = cfg['activation'];
        if (a === 'softmax') {
          softmaxSplit = true;
          op = { kind: 'identity' };
        } else op = a === 'relu' ? { kind: 'relu' } : { kind: 'identity' };
        break;
      }
      case 'Dropout':
        op = { kind: 'identity' };
        break;
      default:
        throw new ModelLoadError(`layer '${layer.name}' (${cls}) is not supported`);
    }
    const id = nodes.length;
    nodes.push({ id, name: layer.name, className: cls, op, inputs, outputShape: (layer.outputShape as number[]).slice(1) });
    idOf.set(layer, id);
  }
  const outputId = idOf.get(outLayer);
  if (outputId === undefined) throw new ModelLoadError('cannot find the output layer');
  const outShape = nodes[outputId]!.outputShape;
  if (outShape.length !== 1) throw new ModelLoadError(`the model's output must be a class vector, got shape [${outShape.join(', ')}]`);
  return { nodes, outputId, inputShape: inputShape as [number, number, number], numClasses: outShape[0]!, softmaxSplit };
}

function pair(v: unknown): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[1] ?? v[0])];
  return [Number(v), Number(v)];
}
