import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { maxStorageBindingBytes } from './backend.js';
import { blockedFromHost, type DenseKernel } from './blocked.js';
import { canonize } from './canonize.js';
import { loadModelSource, type ModelSource } from '../formats/index.js';
import { withLayerAliases } from '../formats/layer-aliases.js';
import { nodeTensors, type Activation, type Graph, type GraphNode, type LayerOp, type Padding } from './graph.js';

/** A model file the engine cannot use: missing, malformed, or with an unsupported layer. */
export class ModelLoadError extends Error {}

interface LayerJson {
  class_name: string;
  config: Record<string, unknown> & { name?: string };
}

export const SUPPORTED_LAYERS = [
  'InputLayer',
  'Conv2D',
  'Dense',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'Flatten',
  'Reshape',
  'Activation',
  'ReLU',
  'Dropout',
  'BatchNormalization',
  'Add',
  'Concatenate',
  'ZeroPadding2D',
  'Cropping2D',
];

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
      `${path} is not a TF.js LayersModel (no modelTopology/weightsManifest); Keras .h5/.keras and .onnx files load directly: pass that file instead`,
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
  const spatial = ['MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D', 'ZeroPadding2D', 'Cropping2D'];
  if (spatial.includes(cls) && c['data_format'] && c['data_format'] !== 'channels_last') return 'only channels_last is supported';
  if (cls === 'GlobalAveragePooling2D' && c['keepdims'] === true) return 'keepdims=true is not supported';
  // The channel axis of an NHWC feature map is 3 (= −1); Dense outputs have it at 1.
  const axis = [c['axis'] ?? -1].flat();
  if ((cls === 'BatchNormalization' || cls === 'Concatenate') && (axis.length !== 1 || ![-1, 1, 3].includes(Number(axis[0])))) {
    return `axis ${JSON.stringify(c['axis'])} is not supported (only the channel axis, -1)`;
  }
  const maxValue = c['max_value'] ?? null;
  const maxOk = maxValue === null || (typeof maxValue === 'number' && maxValue > 0); // ReLU6: docs/PROTOCOL.md §7
  if (cls === 'ReLU' && (!maxOk || Number(c['negative_slope'] ?? 0) !== 0 || Number(c['threshold'] ?? 0) !== 0)) {
    return 'only a plain ReLU, or one clipped at a positive max_value (ReLU6), is supported (no negative_slope or threshold)';
  }
  return null;
}

/** Loads a model file and converts it to the engine's graph (weights are copied; the model is disposed). */
export async function loadGraph(modelPath: string | ModelSource, opts: GraphOptions = {}): Promise<Graph> {
  const model = await loadModelSource(modelPath);
  try {
    return withLayerAliases(graphFromLayersModel(model, opts), model);
  } finally {
    model.dispose();
  }
}

type AnyLayer = tf.layers.Layer & {
  inboundNodes: { inboundLayers: tf.layers.Layer[] }[];
  getConfig(): Record<string, unknown>;
};

export interface GraphOptions {
  /** Fold BatchNormalization into the preceding Conv2D/Dense (engine/canonize.ts); default true. */
  canonize?: boolean;
  /**
   * The largest tensor one shader may bind, in bytes (null: no limit). Default: the current
   * backend's (engine/backend.ts maxStorageBindingBytes; null on wasm, cpu, tensorflow). Dense
   * kernels over half of it are kept as column blocks, other weights over it are refused. Tests
   * pass a small value to run the blocked code paths on a host backend.
   */
  maxBindingBytes?: number | null;
}

/**
 * Converts a loaded LayersModel (Sequential or functional) to the engine graph. A functional
 * model's layers are ordered topologically from their inbound nodes; a multi-input layer (Add,
 * Concatenate) lists its inputs in call order. Layers called at several places (shared layers),
 * several model inputs or outputs, and nested models are refused.
 */
export function graphFromLayersModel(model: tf.LayersModel, opts: GraphOptions = {}): Graph {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new ModelLoadError(`the model must have one input and one output, it has ${model.inputs.length} and ${model.outputs.length}`);
  }
  const inputShape = model.inputs[0]!.shape.slice(1) as number[];
  if (inputShape.length !== 3 || inputShape.some((d) => d == null)) {
    throw new ModelLoadError(`the model's input must be a fixed H×W×C image, got [${inputShape.join(', ')}]`);
  }
  const nodes: GraphNode[] = [
    { id: 0, name: 'input', className: 'InputLayer', op: { kind: 'input' }, inputs: [], outputShape: inputShape },
  ];
  const idOf = new Map<tf.layers.Layer, number>();
  const outLayer = model.outputs[0]!.sourceLayer;
  let softmaxSplit = false;
  const bindingLimit = opts.maxBindingBytes !== undefined ? opts.maxBindingBytes : maxStorageBindingBytes();
  for (const layer of model.layers as AnyLayer[]) {
    if (layer.inboundNodes.length > 1) {
      throw new ModelLoadError(
        `layer '${layer.name}' (${layer.getClassName()}) is called at ${layer.inboundNodes.length} places; shared layers are not supported`,
      );
    }
  }

  try {
    addLayers();
  } catch (e) {
    for (const n of nodes) for (const t of nodeTensors(n)) t.dispose(); // weights copied before the refusal
    throw e;
  }
  const outputId = idOf.get(outLayer);
  if (outputId === undefined) throw new ModelLoadError('cannot find the output layer');
  const outShape = nodes[outputId]!.outputShape;
  if (outShape.length !== 1) throw new ModelLoadError(`the model's output must be a class vector, got shape [${outShape.join(', ')}]`);
  const graph: Graph = { nodes, outputId, inputShape: inputShape as [number, number, number], numClasses: outShape[0]!, softmaxSplit };
  return opts.canonize === false ? graph : canonize(graph);

  function addLayers(): void {
    for (const layer of topologicalLayers(model.layers as AnyLayer[])) {
      const cls = layer.getClassName();
      if (cls === 'InputLayer') {
        idOf.set(layer, 0);
        continue;
      }
      if (layer.inboundNodes.length !== 1) throw new ModelLoadError(`layer '${layer.name}' (${cls}) is never called`);
      const inputs = layer.inboundNodes[0]!.inboundLayers.map((l) => {
        const id = idOf.get(l);
        if (id !== undefined) return id;
        if (l.getClassName() === 'InputLayer') return 0; // Sequential models hide their InputLayer
        throw new ModelLoadError(
          `layer '${layer.name}' (${cls}) reads from '${l.name}', which is not a layer of this model (nested models are not supported)`,
        );
      });
      const cfg = layer.getConfig();
      const isOutput = layer === outLayer;
      const outputShape = (layer.outputShape as number[]).slice(1);
      const inShape = nodes[inputs[0] ?? 0]!.outputShape;
      let op: LayerOp;
      const w = layer.getWeights();
      if (bindingLimit !== null) checkBindable(layer.name, cls, layer.weights, w, bindingLimit);
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
          if (inShape.length !== 1) {
            throw new ModelLoadError(
              `layer '${layer.name}' (Dense) is applied to a [${inShape.join(', ')}] tensor; put a Flatten or GlobalAveragePooling2D before it`,
            );
          }
          op = {
            kind: 'dense',
            kernel: denseKernel(layer.name, w[0]! as tf.Tensor2D, bindingLimit),
            bias: cfg['useBias'] === false ? null : (tf.clone(w[1]!) as tf.Tensor1D),
            activation: act(cfg['activation']),
          };
          break;
        case 'MaxPooling2D':
          op = {
            kind: 'maxpool',
            poolSize: pair(cfg['poolSize']),
            strides: pair(cfg['strides'] ?? cfg['poolSize']),
            padding: cfg['padding'] as Padding,
          };
          break;
        case 'AveragePooling2D':
          op = {
            kind: 'avgpool',
            poolSize: pair(cfg['poolSize']),
            strides: pair(cfg['strides'] ?? cfg['poolSize']),
            padding: cfg['padding'] as Padding,
          };
          break;
        case 'GlobalAveragePooling2D':
          op = { kind: 'gap' };
          break;
        case 'ZeroPadding2D':
          op = { kind: 'pad', pads: pairs(cfg['padding']) };
          break;
        case 'Cropping2D':
          op = { kind: 'crop', crops: pairs(cfg['cropping']) };
          break;
        case 'Add':
          op = { kind: 'add' };
          break;
        case 'Concatenate': {
          const axis = Number(cfg['axis'] ?? -1);
          if (axis !== -1 && axis !== inShape.length) {
            throw new ModelLoadError(
              `layer '${layer.name}' (Concatenate) joins along axis ${axis}; only the channel axis (-1) is supported`,
            );
          }
          op = { kind: 'concat' };
          break;
        }
        case 'BatchNormalization':
          op = batchNormOp(layer, cfg, inShape.length);
          break;
        case 'Flatten':
        case 'Reshape':
          op = { kind: 'reshape', targetShape: outputShape };
          break;
        case 'ReLU': {
          const max = cfg['maxValue'] ?? cfg['max_value'];
          op = typeof max === 'number' ? { kind: 'relu', max } : { kind: 'relu' };
          break;
        }
        case 'Activation': {
          const a = cfg['activation'];
          if (a === 'softmax') {
            if (!isOutput)
              throw new ModelLoadError(`layer '${layer.name}' (Activation): softmax is only supported as the model's final activation`);
            softmaxSplit = true;
            op = { kind: 'identity' };
          } else if (a === 'relu') op = { kind: 'relu' };
          else if (a === 'linear') op = { kind: 'identity' };
          else
            throw new ModelLoadError(
              `layer '${layer.name}' (Activation): activation '${String(a)}' is not supported (relu, linear; softmax at the output)`,
            );
          break;
        }
        case 'Dropout':
          op = { kind: 'identity' };
          break;
        default:
          throw new ModelLoadError(`layer '${layer.name}' (${cls}) is not supported; supported: ${SUPPORTED_LAYERS.join(', ')}`);
      }
      const id = nodes.length;
      nodes.push({ id, name: layer.name, className: cls, op, inputs, outputShape });
      idOf.set(layer, id);
    }
  }
}

/** e.g. "392.0 MiB (411041792 bytes)"; small sizes in bytes only. */
const mib = (bytes: number) => (bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB (${bytes} bytes)` : `${bytes} bytes`);

/**
 * A Dense kernel as the engine keeps it: one tensor, or, where it exceeds half the device's
 * storage-binding limit (webgpu: engine/backend.ts maxStorageBindingBytes), column blocks of at
 * most half the limit (engine/blocked.ts). Half, because the zB rule of a Dense first layer
 * stacks [W; B] per block, twice a block; every other derived weight (W⁺, W⁻) is the size of a
 * block. The blocks are cut from host data: the whole kernel must never reach a shader (even a
 * slice of it would bind it whole). A loaded model's weights are still host-resident on webgpu
 * here (TF.js uploads a tensor on its first use), so dataSync reads them without a GPU read.
 */
function denseKernel(layer: string, w: tf.Tensor2D, limit: number | null): DenseKernel {
  const blockBytes = limit === null ? Infinity : Math.floor(limit / 2);
  if (w.size * 4 <= blockBytes) return tf.clone(w);
  let data: Float32Array;
  try {
    data = w.dataSync() as Float32Array;
  } catch (e) {
    throw new ModelLoadError(
      `layer '${layer}' (Dense): its kernel [${w.shape.join(', ')}] (${mib(w.size * 4)}) must be split into blocks for this device ` +
        `(storage-binding limit ${mib(limit!)}), but its values are no longer on the host (${(e as Error).message.split('\n')[0]}); ` +
        `load the model from its file on this backend (loadGraph / Explainer.load), or use --backend wasm`,
    );
  }
  return blockedFromHost(data, w.shape[0], w.shape[1], blockBytes);
}

/**
 * Refuses a layer weight larger than the device's storage-binding limit (the Dense kernel aside,
 * which is blocked): every shader reading it would fail validation and return garbage.
 */
function checkBindable(layer: string, cls: string, vars: { name: string; originalName?: string }[], w: tf.Tensor[], limit: number): void {
  w.forEach((t, i) => {
    if (cls === 'Dense' && i === 0) return;
    const bytes = t.size * 4;
    if (bytes <= limit) return;
    const v = vars[i];
    const what = v
      ? (v.originalName ?? v.name)
          .split('/')
          .pop()!
          .replace(/(_\d+)?(:\d+)?$/, '')
      : `weight ${i}`;
    throw new ModelLoadError(
      `layer '${layer}' (${cls}): its ${what} [${t.shape.join(', ')}] is ${mib(bytes)}, more than this device's storage-binding limit of ` +
        `${mib(limit)} (WebGPU maxStorageBufferBindingSize), so no shader can read it; only Dense kernels are split into blocks. ` +
        `Run this model with --backend wasm (or tensorflow), or on a GPU with a larger limit (NVIDIA allows 2–4 GiB).`,
    );
  });
}

/** Layers ordered so that each comes after every layer it reads from (stable otherwise). */
function topologicalLayers(layers: AnyLayer[]): AnyLayer[] {
  const inModel = new Set<tf.layers.Layer>(layers);
  const done = new Set<tf.layers.Layer>();
  const order: AnyLayer[] = [];
  const visit = (l: AnyLayer, stack: Set<tf.layers.Layer>) => {
    if (done.has(l)) return;
    if (stack.has(l)) throw new ModelLoadError(`layer '${l.name}' is part of a cycle`);
    stack.add(l);
    for (const n of l.inboundNodes) for (const p of n.inboundLayers) if (inModel.has(p)) visit(p as AnyLayer, stack);
    stack.delete(l);
    done.add(l);
    order.push(l);
  };
  for (const l of layers) visit(l, new Set());
  return order;
}

/**
 * A BatchNormalization at inference as y = a·x + c per channel: a = γ/σ, c = β − μ·a,
 * σ = √(moving variance + ε). γ is 1 without `scale`, β is 0 without `center` (InceptionV3's
 * BNs have no γ). Weights are found by name, so the order Keras stored them in does not matter.
 */
function batchNormOp(layer: AnyLayer, cfg: Record<string, unknown>, inRank: number): LayerOp {
  const axis = Number([cfg['axis'] ?? -1].flat()[0]);
  if (axis !== -1 && axis !== inRank) {
    throw new ModelLoadError(`layer '${layer.name}' (BatchNormalization) normalises axis ${axis}; only the channel axis (-1) is supported`);
  }
  const byName = new Map<string, tf.Tensor>();
  for (const v of layer.weights) {
    const m = /(gamma|beta|moving_mean|moving_variance)(_\d+)?(:\d+)?$/.exec(v.originalName ?? v.name);
    if (m) byName.set(m[1]!, v.read());
  }
  const mean = byName.get('moving_mean');
  const variance = byName.get('moving_variance');
  if (!mean || !variance) throw new ModelLoadError(`layer '${layer.name}' (BatchNormalization) has no moving mean/variance weights`);
  const eps = Number(cfg['epsilon'] ?? 1e-3);
  const gamma = cfg['scale'] === false ? undefined : byName.get('gamma');
  const beta = cfg['center'] === false ? undefined : byName.get('beta');
  const scale = tf.tidy(() => {
    const inv = tf.rsqrt(tf.add(variance, eps));
    return gamma ? tf.mul(gamma, inv) : inv;
  }) as tf.Tensor1D;
  const shift = tf.tidy(() => tf.sub(beta ?? tf.zerosLike(mean), tf.mul(mean, scale))) as tf.Tensor1D;
  return { kind: 'affine', scale, shift };
}

/** ZeroPadding2D/Cropping2D amounts in any Keras form (n, [h, w], [[t, b], [l, r]]). */
function pairs(v: unknown): [[number, number], [number, number]] {
  if (typeof v === 'number')
    return [
      [v, v],
      [v, v],
    ];
  const [a, b] = v as unknown[];
  return [pair(a), pair(b ?? a)];
}

function pair(v: unknown): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[1] ?? v[0])];
  return [Number(v), Number(v)];
}
