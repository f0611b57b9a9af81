/**
 * amp-convert's library surface, and the only module the CLI imports. One line per module; keep it a list
 * of re-exports (api/amp-convert.api.md is generated from it and checked by a test).
 */
export { AmpError, InvalidModelError, UnsupportedOpError } from './core/errors.js';
export { printable } from './core/text.js';
export { emitBindings, loadTsMorph } from './tools/bindings.js';
export { setMaxTensorBytes, getMaxTensorBytes } from '../runtime/cpu/limits.js';
export {
  loadModel,
  saveModel,
  encodeModel,
  cloneModel,
  modelFromBytes,
  modelToJson,
  modelFromJson,
  modelFiles,
  type SaveOptions,
  type SaveResult,
  type LoadOptions,
} from './onnx/io.js';
export { writeFileAtomic, readFiles, checkOutput } from './core/fs.js';
export { Model, Graph, Node, Value, type TensorType, type Dim } from './ir/graph.js';
export { Tensor } from './ir/tensor.js';
export { DataType, dtypeName } from './core/dtype.js';
export { ModelBuilder, GraphBuilder, makeAttr, type AttrValue } from './onnx/builder.js';
export * from './core/half.js';
export { inspectModel, formatInspect, fmtBytes, type InspectReport } from './tools/inspect.js';
export { inferTypes } from './ir/infer.js';
export {
  convert,
  convertSync,
  type ConvertOptions,
  type ConvertRunOptions,
  type ConvertResult,
  type ConvertNote,
  type ConvertSummary,
  type Verification,
  type ConvertJson,
} from './tools/convert.js';
export {
  formatVerification,
  formatDecode,
  synthesizeInputs,
  feedsFor,
  checkOutputs,
  type OutputCheck,
  type DecodeCheck,
  type DecodeStep,
} from './tools/verify.js';
/** The greedy decode check of KV-cache decoders: next-token agreement and logits error per step. */
export { decodeCheck, decoderIo, type DecoderIo } from './tools/decode.js';
export { formatSummary } from './tools/summary.js';
export { RUNTIMES, type RuntimeName, type RuntimeProfile } from '../passes/runtimes.js';
export { run, type RunResult, type RunJson } from './tools/run.js';
export { CpuExecutor, executeNode, type RunOptions } from '../runtime/cpu/executor.js';
export {
  createExecutor,
  parseBackend,
  BACKENDS,
  type Executor,
  type BackendName,
  type BackendOptions,
} from '../runtime/backend.js';
export { readInputs, readInputSets, readOutputSets, randomInputs, parseShapes } from './tools/inputs.js';
export { readTensorFile, writeTensorFile } from './onnx/tensor-io.js';
export { toFloat32, type RTensor } from './ir/rtensor.js';
export {
  diff,
  diffSets,
  defaultTolerance,
  DEFAULT_TOLERANCE,
  TOLERANCES,
  type DiffReport,
  type TensorDiff,
  type DiffOptions,
  type DiffSetsResult,
  type SetOutcome,
} from './tools/diff.js';
export { renderText, renderMarkdown, renderJson, renderHtml, type DiffJson } from './tools/report/render.js';
export {
  tensorStats,
  parseTolerance,
  formatTolerance,
  type TensorStats,
  type Tolerance,
  type Histogram,
} from './tools/report/stats.js';
export { calibrate, type CalibrateOptions, type CalibrationResult } from './tools/calibrate.js';
export { fallback, type FallbackResult } from './tools/fallback.js';
export {
  trainCheck,
  formatTrainCheck,
  trainCheckJson,
  type TrainCheckReport,
  type TrainCheckOptions,
  type TrainCheckJson,
  type ModeSummary,
} from './tools/train-check.js';
export { renderTrainHtml } from './tools/report/train-html.js';
export { LossScaler } from '../runtime/train/loss-scaler.js';
export type { Dataset } from '../runtime/train/data.js';
export { buildTrainingGraph } from './tools/trainer.js';
