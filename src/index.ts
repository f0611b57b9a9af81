/**
 * amp-convert's library surface. The CLI calls only what is exported here.
 * One line per module; keep it a list of re-exports.
 */
export { AmpError } from './errors.js';
export { loadModel, saveModel, encodeModel, modelFromBytes, type SaveOptions, type SaveResult } from './onnx/io.js';
export { Model, Graph, Node, Value, type TensorType, type Dim } from './ir/graph.js';
export { Tensor } from './ir/tensor.js';
export { DataType, dtypeName } from './ir/dtype.js';
export * from './ir/half.js';
export { inspectModel, formatInspect, type InspectReport } from './inspect.js';
export { inferTypes } from './ir/infer.js';
export { convert, convertSync, type ConvertOptions, type ConvertSummary } from './convert.js';
export { formatSummary } from '../passes/summary.js';
export { run, type RunResult } from './run.js';
export { CpuExecutor, executeNode, type RunOptions } from '../runtime/cpu/executor.js';
export { createExecutor, type Executor, type BackendName } from '../runtime/backend.js';
export { readInputs, randomInputs, parseShapes } from './inputs.js';
export { readTensorFile, writeTensorFile } from './onnx/tensor-io.js';
export type { RTensor } from '../runtime/tensor.js';
export { diff, type DiffReport, type TensorDiff } from './diff.js';
export { renderText, renderMarkdown, renderJson, renderHtml } from './report/render.js';
export { tensorStats, type TensorStats, type Tolerance } from './report/stats.js';
export { calibrate } from '../passes/calibrate.js';
export { fallback } from '../passes/fallback.js';
export { trainCheck, formatTrainCheck, type TrainCheckReport } from './train-check.js';
export { LossScaler } from '../runtime/train/loss-scaler.js';
export { buildTrainingGraph } from '../runtime/train/autodiff.js';
