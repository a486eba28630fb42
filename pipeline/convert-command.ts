/**
 * `sglrp convert IN --out DIR`: writes any model the project loads (Keras .h5 / .keras, a Keras
 * application weight file with --arch, and every other format registered in formats/index.ts)
 * as a TF.js LayersModel (model.json + weights.bin), so a converted model can be copied to a
 * cluster once and loaded there with no converter. It goes through the same loadModelSource as
 * `explain` and `run`, so what it writes is exactly what they would have explained.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';

import { ARCHITECTURE_NAMES } from '../architectures/names.js';
import { saveLayersModel } from '../engine/model-saver.js';
import { formatOf, loadModelSource, type ModelSource } from '../formats/index.js';
import { ExplainUsageError } from './explain-options.js';

export const CONVERT_COMMAND = 'convert <input>';

/** A flag value `convert` cannot use (a usage error: exit code 2, like explain's). */
export class ConvertUsageError extends ExplainUsageError {}

export interface ConvertArgs {
  input: string;
  out: string;
  /** The input is a Keras application weight file for this architecture. */
  arch?: string;
}

export interface ConvertResult {
  /** Absolute path of the written model.json. */
  modelJson: string;
  /** The input's format (`keras-h5`, `keras`, …; `keras-application` with --arch). */
  format: string;
  layers: number;
  parameters: number;
}

export function convertCommandOptions(y: Argv): Argv<ConvertArgs> {
  return y
    .positional('input', {
      describe: 'model file: Keras .h5 (model.save) or .keras, any other supported format; with --arch a Keras application weight file',
      type: 'string',
      demandOption: true,
    })
    .option('out', {
      describe: 'output folder for model.json + weights.bin (created; must not hold a model.json already)',
      type: 'string',
      demandOption: true,
    })
    .option('arch', {
      describe: `the input holds weights only, for this architecture: ${ARCHITECTURE_NAMES.join(' | ')}`,
      type: 'string',
    }) as unknown as Argv<ConvertArgs>;
}

export async function runConvert(args: ConvertArgs): Promise<ConvertResult> {
  const input = resolve(args.input);
  const out = resolve(args.out);
  if (!existsSync(input)) throw new ConvertUsageError(`convert: ${input} does not exist`);
  if (existsSync(join(out, 'model.json')))
    throw new ConvertUsageError(`convert: ${join(out, 'model.json')} exists already; remove it or choose another --out`);
  let source: ModelSource = { path: input };
  if (args.arch !== undefined) {
    const arch = args.arch.toLowerCase();
    if (!(ARCHITECTURE_NAMES as readonly string[]).includes(arch))
      throw new ConvertUsageError(`--arch ${args.arch}: expected one of ${ARCHITECTURE_NAMES.join(', ')}`);
    source = { arch, weights: input };
  }
  const model = await loadModelSource(source);
  try {
    const modelJson = await saveLayersModel(model, out);
    return {
      modelJson,
      format: 'arch' in source ? 'keras-application' : formatOf(input).name,
      layers: model.layers.length,
      parameters: model.countParams(),
    };
  } finally {
    model.dispose();
  }
}
