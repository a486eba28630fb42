import type { HostTensor } from './host-tensor.js';

/**
 * The Keras-vocabulary model an ONNX graph becomes, before any TF.js object exists: layers in
 * topological order, their weights already in Keras layout (NHWC, HWIO kernels).
 */
export type KerasClass =
  | 'Conv2D'
  | 'Dense'
  | 'ZeroPadding2D'
  | 'Cropping2D'
  | 'MaxPooling2D'
  | 'AveragePooling2D'
  | 'GlobalAveragePooling2D'
  | 'Flatten'
  | 'ReLU'
  | 'Add'
  | 'Concatenate'
  | 'BatchNormalization';

export interface PlannedLayer {
  cls: KerasClass;
  /** tf.layers constructor arguments, without the name. */
  config: Record<string, unknown>;
  /** Plan indices of the inputs; −1 is the model input. */
  inputs: number[];
  /** Keras weight order (Conv2D/Dense: kernel, bias; BatchNormalization: γ, β, mean, variance). */
  weights: HostTensor[];
  /** The ONNX node this layer comes from and its op type. */
  node: string;
  opType: string;
  /** A ZeroPadding2D made for the window of the next layer (named after it). */
  helper: boolean;
  /**
   * A helper ZeroPadding2D in front of a MaxPooling2D: PyTorch pads max pooling with −∞, so its
   * padded cells never win a window (docs/PROTOCOL.md §7); the engine is told so at load time.
   */
  maxPoolPad?: boolean;
  /** Filled by the naming pass. */
  name?: string;
}

export interface Plan {
  layers: PlannedLayer[];
  /** Per-sample input shape [H, W, C]. */
  inputShape: [number, number, number];
  /** Plan index of the layer producing the logits. */
  output: number;
  /** Extra names (ONNX node and output names, PyTorch module paths) → plan index. */
  aliases: Map<string, number>;
}
