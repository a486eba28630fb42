/**
 * The public API of the `sglrp` package (`import { Explainer } from 'sglrp'`): the explainer and
 * the image-file helper, relevance rules and composites, model sources, dataset readers' types,
 * the evaluation metrics, and the Arrow table schemas of a run. Everything else is internal and
 * may change.
 */

// Explaining images.
export {
  Explainer,
  type ExplainerOptions,
  type ExplainOptions,
  type ExplainOutput,
  type ImageInput,
  type MaskSpec,
  type TargetSpec,
} from './engine/explainer.js';
export { explainImageFile, type ImageExplainer, type ImageFileOptions, type ImageFileResult } from './library/image-file.js';
export {
  METHOD_NAMES,
  BACKEND_NAMES,
  type BackendName,
  type Explanation,
  type ForwardOutput,
  type InputBounds,
  type MethodName,
  type Target,
  type TargetKind,
  type Variant,
} from './engine/types.js';
export { resolveTarget, rankClasses, type ClassList } from './engine/targets.js';

// Relevance rules and composites (docs/PROTOCOL.md §1).
export {
  basicRule,
  composite,
  epsilonRule,
  zBRule,
  zPlusRule,
  type BasicRuleParts,
  type Composite,
  type CompositeExtras,
  type LinearRule,
  type RuleContext,
} from './engine/rules.js';
export {
  buildComposite,
  compositeNames,
  compositeSpec,
  registerComposite,
  paperComposite,
  referenceComposite,
  PAPER_COMPOSITE,
  REFERENCE_COMPOSITE,
  EPSILON_PLUS_COMPOSITE,
  type CompositeSpec,
  type CompositeParams,
  type RuleSpec,
} from './engine/composites.js';
export { VARIANT_PRESETS, variantPreset, type VariantPreset } from './engine/variants.js';
export { registerMethod, methodSpec, type MethodSpec } from './engine/methods/index.js';

// Models.
export { loadModelSource, formatOf, MODEL_FORMATS, type ModelFormat, type ModelSource } from './formats/index.js';

// Images: decoding, preprocessing (docs/PROTOCOL.md §6), heatmaps.
export { decodeImage, ImageReadError, type DecodeOptions, type DecodedImage, type Geometry, type Interpolation } from './io/image.js';
export { preprocess, presetBounds, deprocessToRgb, PRESETS, type PreprocessPreset } from './io/preprocess.js';
export { heatmapRgb, overlayRgb, encodePng } from './io/heatmap.js';

// Datasets.
export type { Box, DatasetReader, Sample, SampleError, SampleOrError } from './data/types.js';

// Metrics (docs/PROTOCOL.md §4–§5) and the tables a run writes.
export * from './metrics/index.js';
export { TABLES, TABLE_NAMES, type ColumnSpec, type ColumnType, type Row, type TableName, type TableSpec } from './results/schemas.js';
export { readColumns, readTableRows, type TableColumns } from './results/table-io.js';
