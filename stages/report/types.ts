/** Vocabulary shared by the report's modules (loading, aggregation, claims, rendering). */
import type { MeanCI } from '../statistics.js';

/**
 * One point of a Fig. 11 curve: mean drop of y_t at one patch size (docs/PROTOCOL.md §4). `n` counts images
 * with a finite drop, `ignored` rows whose drop was NaN/±Infinity (left out of the mean).
 */
export interface MaskingPoint extends MeanCI {
  targetKind: string;
  method: string;
  patchSize: number;
}

/** One point of the Fig. 13 curve: mean per-image pointing accuracy at one energy (docs/PROTOCOL.md §5). */
export interface PointingPoint extends MeanCI {
  method: string;
  energy: number;
  /** Σhits / Σ(hits + misses) over the same images. */
  pooled: number;
  /** Σhits and Σmisses behind `pooled`. */
  hits: number;
  misses: number;
  /** Images whose map had no positive value (counted with accuracy 0). */
  empty: number;
}

/** The original pointing game per method: share of images whose arg-max hits the box union. */
export interface PointingGameRate {
  method: string;
  n: number;
  hitRate: number;
  hitLo: number;
  hitHi: number;
  toleranceRate: number;
  toleranceLo: number;
  toleranceHi: number;
}

/**
 * One line per method, condensing every figure: values by summary column name (each metric's
 * `summary` columns, e.g. `mean_drop_gt`, `pointing_game_hit_rate`; metrics/metric.ts).
 */
export interface MethodSummary {
  method: string;
  values: Record<string, number>;
}

/** docs/PROTOCOL.md §8: yes / no only where the paired intervals say so. */
export type Verdict = 'yes' | 'no' | 'inconclusive' | 'not-measured';

/** A claim of the paper (§5.3) and whether this run reproduces it. */
export interface Claim {
  id: number;
  /** Where the paper says it. */
  source: string;
  statement: string;
  agrees: Verdict;
  /** The numbers the verdict rests on, in words. */
  evidence: string;
}

/** Something found in a run directory that was not merged, or could not be read. */
export interface Problem {
  runDir: string;
  file: string;
  kind: 'corrupt' | 'missing' | 'unlisted' | 'bad-manifest' | 'bad-plan' | 'unknown-table';
  detail: string;
}

/** RUN_DIR/plan.json, written by the pipeline's shard planner. */
export interface Plan {
  datasetSize: number;
  limit: number | null;
  shardSize: number;
  shardCount: number;
}

/** What the manifests say about one run directory. */
export interface RunInfo {
  runDir: string;
  configHash: string | null;
  plan: Plan | null;
  /** Distinct `main` shards with a manifest record. */
  mainShardsDone: number;
  statsShardsDone: number;
  /** true: fewer main shards than planned; false: all there; null: no plan.json to tell. */
  partial: boolean | null;
  backends: string[];
  /** Σ seconds and Σ imageCount of the main-phase manifest records (worker time, not wall time). */
  seconds: number;
  imageCount: number;
}

export interface ErrorCount {
  stage: string;
  count: number;
  /** Most frequent reasons, most frequent first. */
  reasons: { reason: string; count: number }[];
}

export interface Counts {
  /** Distinct images per table after merging (duplicates across run dirs counted once). */
  imagesByTable: Record<string, number>;
  rowsByTable: Record<string, number>;
  /** Rows skipped because the image was already read from an earlier shard or run dir. */
  duplicateRows: number;
  errorsByStage: ErrorCount[];
  errorImages: number;
}

/** One example image: the input and the method heatmaps found in RUN_DIR/examples/<image_id>/. */
export interface ExampleRow {
  imageId: string;
  /** File by column key ('input', '<method>_<target_kind>', or another file stem). */
  files: Map<string, string>;
}
