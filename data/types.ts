/**
 * What every dataset reader yields. Readers do the decoding and preprocessing; everything after
 * them (workers, stages) sees model-ready float32 tensors and boxes already in input pixels.
 */

/**
 * An axis-aligned box in the model input's pixel grid, half-open: a pixel at row r, column c is
 * inside iff x0 <= c < x1 and y0 <= r < y1. Readers map original boxes through the same
 * geometry (resize / center-crop) as the image and clip them to the input.
 */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** One model-ready image. */
export interface Sample {
  /** Stable identifier (file stem for ImageNet, e.g. `ILSVRC2012_val_00000001`). */
  id: string;
  /** Position in the dataset's fixed order; shards are ranges of this. */
  index: number;
  height: number;
  width: number;
  channels: number;
  /** Preprocessed input, row-major H×W×C float32 (what the model eats). */
  input: Float32Array;
  /** The same image as 8-bit RGB H×W×3 after geometry, for heatmap overlays. */
  display: Uint8Array;
  /** Ground-truth class index in the model's output order, or -1 when unknown. */
  label: number;
  /** Bounding boxes of the ground-truth class (union = the object region); empty if unknown. */
  boxes: Box[];
  /**
   * What the reader found wrong with this image's annotation, for datasets that read annotation
   * files (absent for generated datasets, which have nothing to report). The worker turns these
   * into `errors` rows and the pointing table's `box_clipped` column without knowing the format.
   */
  annotation?: AnnotationNotes;
}

/** A reader's account of one image's annotation (docs/PROTOCOL.md §6). */
export interface AnnotationNotes {
  /** Why the label is −1 or the annotation looked odd (empty when all is well). */
  issues: string[];
  /** Why ground-truth boxes were left out (inverted, outside the image, …), numbers as in the file. */
  droppedBoxes: string[];
  /** Some ground-truth box reached outside the image and was clipped to it. */
  boxClipped: boolean;
}

/** A reader failure that should become an `errors` row, not a crash. */
export interface SampleError {
  id: string;
  index: number;
  reason: string;
}

export type SampleOrError = { ok: true; sample: Sample } | { ok: false; error: SampleError };

/** The RangeError every reader's `idAt`/`read` throws for an index outside 0…size−1 (`where` names the reader). */
export function checkIndex(where: string, index: number, size: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= size) {
    throw new RangeError(`${where}: index ${index} is outside 0…${size - 1}`);
  }
}

/** A dataset in a fixed, deterministic order. Readers must be usable inside worker threads. */
export interface DatasetReader {
  /** Human-readable name for logs and reports. */
  readonly name: string;
  /** Number of images in the dataset (before any --limit). */
  size(): number;
  /** The identifier of the image at `index`, without decoding it. */
  idAt(index: number): string;
  /** Decode + preprocess one image; never throws for a bad image, returns an error instead. */
  read(index: number): Promise<SampleOrError>;
  /** Whether this dataset has bounding boxes (the pointing game needs them). */
  readonly hasBoxes: boolean;
  /**
   * Problems with the dataset's files as a whole, found when it was opened (unreadable lines of
   * an annotation file, a class list in another order), each a sentence naming the file. Not
   * tied to one image, so they cannot be `errors` rows; `formatDatasetIssues` (data/issues.ts)
   * words them for `run`, `status` and the report. Absent or empty: nothing to report.
   */
  readonly issues?: readonly string[];
}
