import type { RunConfig } from '../pipeline/config.js';
import { digitsPairDataset } from './digits-pair.js';
import type { DatasetReader } from './types.js';

/** Builds the dataset reader a run config names (in the main thread and in every worker). */
export function datasetFromConfig(config: RunConfig): DatasetReader {
  const d = config.dataset;
  switch (d.kind) {
    case 'digits-pair':
      return digitsPairDataset({ split: d.split, seed: d.seed, count: d.count ?? 2000 });
    default:
      throw new Error(`dataset kind '${d.kind}' is not available yet`);
  }
}
