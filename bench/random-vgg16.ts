/** The bench's model: a VGG16 (Keras layer names and shapes) with random weights, saved to a folder of the caller's. */
import { join } from 'node:path';

import { initBackend } from '../engine/backend.js';
import { saveLayersModel } from '../engine/model-saver.js';
import { buildVgg16 } from '../architectures/vgg.js';

/** Builds it on wasm (weights initialised and saved from the host) and saves it as `dir`/vgg16; the model.json path and the parameter count. */
export async function saveRandomVgg16(dir: string): Promise<{ modelPath: string; parameters: number }> {
  await initBackend('wasm');
  const model = buildVgg16();
  try {
    return { modelPath: await saveLayersModel(model, join(dir, 'vgg16')), parameters: model.countParams() };
  } finally {
    model.dispose();
  }
}
