/**
 * `convert()`: the library entry point of the mixed-precision conversion (the CLI's default command is one
 * call to it). Accepts a Model (converted in place), a file path or ONNX bytes. With input sets it also runs
 * the range-aware and tolerance steps, in this order: calibrate (keep fp32 what overflows) → fallback (keep
 * the fewest nodes fp32 so the outputs meet the tolerance) → the pass → a diff report of the result.
 * `convertSync` is the static pass alone. Deterministic and idempotent.
 */
import { Model } from '../ir/graph.js';
import { loadModel, modelFromBytes } from '../onnx/io.js';
import { runMixedPrecision, resolveOptions, type ConvertOptions } from '../../passes/index.js';
import type { ConvertSummary } from '../../passes/context.js';
import type { RTensor } from '../core/tensor.js';
import { calibrate, type CalibrateOptions, type CalibrationResult } from './calibrate.js';
import { fallback, type FallbackResult } from './fallback.js';
import { diff, type DiffReport } from './diff.js';
import type { Tolerance } from './report/stats.js';

export type { ConvertOptions, ConvertSummary };

/** What `convert()` does beyond the static pass; every step needs `inputs`. */
export interface ConvertRunOptions extends ConvertOptions {
  /** Input sets (feeds by input name) for calibration, the tolerance fallback and the report. */
  inputs?: Record<string, RTensor>[];
  /** Keep fp32 the nodes whose activations exceed `maxActivation` (default 65504) on `inputs`. */
  calibrate?: boolean | CalibrateOptions;
  /** Keep the fewest nodes fp32 so every output meets this tolerance on the first input set. */
  tolerance?: Tolerance;
  /** Compare the converted model with the original on the first input set (a DiffReport in the result). */
  report?: boolean;
}
export interface ConvertResult {
  model: Model;
  summary: ConvertSummary;
  calibration?: CalibrationResult & { inputSets: number };
  fallback?: Omit<FallbackResult, 'report'>;
  report?: DiffReport;
  /** One line per step that ran beyond the pass (calibration, tolerance, report), for a summary. */
  notes: string[];
}

const toModel = (input: Model | string | Uint8Array): Model =>
  input instanceof Model ? input : typeof input === 'string' ? loadModel(input) : modelFromBytes(input);

export async function convert(input: Model | string | Uint8Array, options: ConvertRunOptions = {}): Promise<ConvertResult> {
  const { inputs = [], calibrate: cal, tolerance, report, ...passOptions } = options;
  const model = toModel(input);
  if ((cal || tolerance || report) && !inputs.length) throw new Error('convert: calibrate, tolerance and report need input sets (options.inputs)');
  const notes: string[] = [];
  const keepFp32 = [...(passOptions.keepFp32 ?? [])];
  const result: Omit<ConvertResult, 'model' | 'summary'> = { notes };
  if (cal) {
    const c = calibrate(model, inputs, cal === true ? {} : cal);
    keepFp32.push(...c.keepFp32);
    result.calibration = { ...c, inputSets: inputs.length };
    notes.push(`calibration (${inputs.length} input set${inputs.length > 1 ? 's' : ''}): kept fp32 ${c.keepFp32.length ? c.keepFp32.map((k) => `${k} (${c.reasons[k]})`).join(', ') : 'nothing'}`);
  }
  const original = tolerance || report ? model.clone() : undefined;
  if (tolerance) {
    const { report: _r, ...fb } = await fallback(original!, inputs[0], tolerance, { ...passOptions, keepFp32 });
    keepFp32.push(...fb.keepFp32);
    result.fallback = fb;
    const spec = Object.entries(tolerance).map(([k, v]) => `${k}=${v}`).join(',');
    notes.push(`tolerance ${spec}: ${fb.met ? 'met' : 'NOT met'} keeping ${fb.keepFp32.length ? fb.keepFp32.join(', ') : 'no extra node'} fp32; ${fb.evaluations} evaluations in ${(fb.ms / 1000).toFixed(2)} s`);
  }
  const { summary } = convertSync(model, { ...passOptions, keepFp32 });
  if (report) {
    result.report = await diff(original!, model, inputs[0]);
    const t = result.report.tolerance;
    notes.push(`outputs ${result.report.outputsMeet ? 'meet' : 'do not meet'} rel=${t.rel}, cos=${t.cos}`);
  }
  return { model, summary, ...result };
}

/** The static pass alone: no inputs, no runs. */
export function convertSync(input: Model | string | Uint8Array, options: ConvertOptions = {}): { model: Model; summary: ConvertSummary } {
  const opts = resolveOptions(options);
  const model = toModel(input);
  const summary = runMixedPrecision(model, opts);
  return { model, summary };
}
