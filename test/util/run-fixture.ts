import * as tf from '@tensorflow/tfjs';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { saveLayersModel } from '../../engine/model-saver.js';

/** The compiled CLI next to this build. */
export const CLI = fileURLToPath(new URL('../../pipeline/cli.js', import.meta.url));

/**
 * A small VGG-style model (random weights, fast), by default for the 64×64×1 digits-pair images
 * with 10 classes; `size`, `channels` and `classes` fit it to other test datasets.
 */
export async function saveDigitsLikeModel(dir: string, opts: { size?: number; channels?: number; classes?: number } = {}): Promise<string> {
  const { size = 64, channels = 1, classes = 10 } = opts;
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({
      name: 'block1_conv1',
      inputShape: [size, size, channels],
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: tf.initializers.heNormal({ seed: 1 }),
    }),
  );
  m.add(tf.layers.maxPooling2d({ name: 'block1_pool', poolSize: 2 }));
  m.add(
    tf.layers.conv2d({
      name: 'block2_conv1',
      filters: 8,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: tf.initializers.heNormal({ seed: 2 }),
    }),
  );
  m.add(tf.layers.maxPooling2d({ name: 'block2_pool', poolSize: 2 }));
  m.add(tf.layers.flatten({ name: 'flatten' }));
  m.add(tf.layers.dense({ name: 'fc1', units: 16, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 3 }) }));
  m.add(
    tf.layers.dense({
      name: 'predictions',
      units: classes,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
    }),
  );
  return saveLayersModel(m, dir);
}

/** Writes a digits-pair run config using `modelPath`. */
export function writeRunConfig(dir: string, modelPath: string, extra: Record<string, unknown> = {}): string {
  const cfg = {
    name: 'test-run',
    dataset: { kind: 'digits-pair', split: 'test', count: 24, seed: 3 },
    model: { path: modelPath, preprocess: 'unit', geometry: 'resize', size: 64, inputBounds: [0, 1], classes: 'digits' },
    shardSize: 6,
    batchSize: 3,
    workers: 1,
    backend: 'wasm',
    examples: 2,
    ...extra,
  };
  const path = join(dir, `run-${Object.keys(extra).join('-') || 'base'}.yaml`);
  writeFileSync(path, JSON.stringify(cfg)); // JSON is YAML
  return path;
}

export function runCli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function startCli(args: string[]) {
  return spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } });
}

/** Every row of every table of a run, sorted, as comparable JSON (results/run-tables.ts). */
export { mergedTables } from '../../results/run-tables.js';
