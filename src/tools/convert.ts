/**
 * `convert()`: the library entry point of the mixed-precision conversion (the CLI's default command is one
 * call to it). Accepts a Model (converted in place), a file path or ONNX bytes. By default it proves its
 * result (docs/verification.md):
 *   1. static rules — the pass; constants fp16 cannot hold keep their readers fp32 (passes/steps/02);
 *   2. range — the fp32 model runs on calibration inputs (given, or synthesized); nodes whose activations
 *      exceed `maxActivation` (and, if set, reductions deeper than `maxReduction`) stay fp32;
 *   3. verify — the converted model runs on the same inputs; every output is checked against its tolerance;
 *   4. repair — if an output misses it, the attribution-guided fallback keeps the fewest nodes fp32 until it
 *      passes (within `maxEvals` conversions), and the result is verified again;
 *   5. say what was proven — `verification` in the result.
 * A model whose inputs cannot be synthesized, or that the CPU executor cannot run, gets the static rules and
 * a note saying why it is unverified — never an exception. `verify: false` is the static path alone.
 */
import { Model } from '../ir/graph.js';
import { encodeModel, loadModel, modelFromBytes } from '../onnx/io.js';
import { runOrtIsolated } from '../../runtime/ort/isolated.js';
import { totalmem } from 'node:os';
import { f32ArrayToF16 } from '../core/half.js';
import { f32ToF16, rangeF16 } from '../../runtime/cpu/wasm/index.js';
import { AmpError, InvalidModelError, UnsupportedOpError } from '../core/errors.js';
import { isConvertibleFloat, DataType } from '../core/dtype.js';
import { runMixedPrecision, resolveOptions, RangeCache, type ConvertOptions } from '../../passes/index.js';
import { withConfig } from './config.js';
import type { ScanF32 } from '../../passes/options.js';
import type { ConvertSummary } from '../../passes/context.js';
import type { RTensor } from '../ir/rtensor.js';
import { calibrate, type CalibrateOptions, type CalibrationResult } from './calibrate.js';
import { fallback, type FallbackResult } from './fallback.js';
import { diff, TOLERANCES, type DiffReport } from './diff.js';
import { formatTolerance, type Tolerance } from './report/stats.js';
import { checkOutputs, compareOutputs, feedsFor, formatDecode, synthesizeInputs, type OutputCheck, type Verification } from './verify.js';
import { decodeCheck, decoderIo } from './decode.js';
import { cloneModel } from '../onnx/io.js';

export type { Verification };

export type { ConvertOptions, ConvertSummary };

/** Options of convert: the pass options plus calibration, verification, repair and reporting. */
export interface ConvertRunOptions extends ConvertOptions {
  /** Prove the result by running it (default true); false is the static path alone. */
  verify?: boolean;
  /** Calibration / verification input sets (feeds by input name); default: `samples` synthesized sets. */
  inputs?: Record<string, RTensor>[];
  /** How many input sets to synthesize when none are given (default 2), from `seed` (default 0). */
  samples?: number;
  seed?: number;
  /** Concrete dims for inputs with symbolic dims, for synthesized inputs (default 1 for each symbolic dim). */
  shapes?: Record<string, number[]>;
  /** Keep fp32 the nodes whose activations exceed this on the inputs (default 8192 for fp16: 8× headroom below 65504; none for bf16). */
  maxActivation?: number;
  /** Keep fp32 the reductions deeper than this many elements (default: no limit). */
  maxReduction?: number;
  /**
   * Output tolerance: the fields given replace those of TOLERANCES[target] (cos alone keeps the default atol/rtol/
   * scale); `outputTolerance` overrides fields of it per output name.
   */
  tolerance?: Tolerance;
  outputTolerance?: Record<string, Tolerance>;
  /** Conversions the repair may try (default 2·log2(nodes), at least 4). */
  maxEvals?: number;
  /** Range-calibrate without verifying (the calibration options), e.g. with `verify: false`. */
  calibrate?: boolean | CalibrateOptions;
  /** Compare the converted model with the original on the first input set (a DiffReport in the result). */
  report?: boolean;
  /**
   * For a KV-cache decoder (past_key_values / present I/O): greedy decode steps checked after the forward pass
   * (default 8; 0 turns it off) — next-token agreement and the logits' error at each step (src/tools/decode.ts).
   */
  decodeSteps?: number;
  /** Called as each phase starts ('calibrating', 'converting', 'verifying', 'repairing', 'reporting'), for progress. */
  onPhase?: (phase: string) => void;
}

/** The converted model and what was done (summary), proven (verification), calibrated and repaired. */
/**
 * `amp-convert model.onnx --json` (one line): files and sizes (external data included), time, notes, the
 * pass's summary and what verification proved.
 */
export interface ConvertJson extends ConvertSummary {
  input: string; output: string | null; bytesBefore: number; bytesAfter: number | null; ms: number; notes: string[]; verification: Verification;
}

/** The converted model and what was done (summary), proven (verification), calibrated and repaired. */
export interface ConvertResult {
  model: Model;
  summary: ConvertSummary;
  verification: Verification;
  calibration?: CalibrationResult & { inputSets: number };
  fallback?: Omit<FallbackResult, 'report'>;
  report?: DiffReport;
  /** One line per step that ran beyond the pass (calibration, verification, repair, report), for a summary. */
  notes: string[];
}

/** Per-output tolerances as complete ones: each names only what it changes from the run's tolerance. */
function mergeOutputTolerances(tol: Tolerance | undefined, perOutput: Record<string, Tolerance> | undefined, target: 'fp16' | 'bf16'): Record<string, Tolerance> | undefined {
  if (!perOutput) return undefined;
  const base = { ...TOLERANCES[target], ...tol };
  return Object.fromEntries(Object.entries(perOutput).map(([k, t]) => [k, { ...base, ...t }]));
}

const toModel = (input: Model | string | Uint8Array): Model =>
  input instanceof Model ? input : typeof input === 'string' ? loadModel(input) : modelFromBytes(input);
const message = (e: unknown) => (e instanceof AmpError ? e.message : (e as Error).message);

/** The pass's f32 → fp16 codec: the executor's WebAssembly SIMD one for large arrays (bit-identical to half.ts). */
const wasmHalf = (src: Float32Array, dst: Uint16Array): void => { if (src.length >= 4096) dst.set(f32ToF16(src)); else f32ArrayToF16(src, dst as Uint16Array<ArrayBuffer>); };
/** The pass's range scan and streamed fp16 conversion of weights on disk: the executor's WebAssembly one. */
const wasmScan: ScanF32 = (t, tinyBits, emit) => rangeF16(t.byteLength, (offset, into) => t.readInto(offset, into), tinyBits, emit);

/**
 * Converts a model to fp16/bf16 and, by default, proves it: calibrates on input sets, verifies every output
 * against the tolerance, repairs with the fallback. The model (a Model is converted in place) and what was
 * done and proven.
 */
export async function convert(input: Model | string | Uint8Array, runOptions: ConvertRunOptions = {}): Promise<ConvertResult> {
  const t0 = performance.now();
  // The config file is read once, here: its keys hold where no option is given (keepFp32 among them).
  const options = withConfig(runOptions) as ConvertRunOptions;
  const { verify = true, inputs, samples = 2, seed = 0, shapes, maxActivation, maxReduction, tolerance: tolIn,
    maxEvals, calibrate: cal, report, onPhase, decodeSteps = 8, outputTolerance: _perOutput, ...passOptions } = options;
  const outputTolerance = mergeOutputTolerances(options.tolerance, options.outputTolerance, resolveOptions(passOptions).target);
  const model = toModel(input);
  const target = resolveOptions(passOptions).target;
  const tolerance = { ...TOLERANCES[target], ...tolIn };
  const notes: string[] = [];
  const keepFp32 = [...(passOptions.keepFp32 ?? [])];
  const keepReasons: Record<string, string> = { ...passOptions.keepReasons };
  const verification: Verification = {
    status: verify ? 'unverified' : 'skipped', inputs: { source: inputs ? 'given' : 'synthesized', sets: 0 }, tolerance,
    outputs: [], calibrated: {}, rangeProven: [], repaired: [], evaluations: 0, ms: 0,
  };
  const result: Omit<ConvertResult, 'model' | 'summary'> = { notes, verification };
  const finish = (summary: ConvertSummary): ConvertResult => { verification.ms = performance.now() - t0; return { model, summary, ...result }; };
  const rangeProven: string[] = [];
  // Inputs/outputs the repair keeps fp32 (their own rounding or range is the cause), on top of the options' keepIoTypes.
  const keptIo: string[] = [];
  const keepIoTypes = (): ConvertOptions['keepIoTypes'] =>
    (!keptIo.length || passOptions.keepIoTypes === true ? passOptions.keepIoTypes : [...(Array.isArray(passOptions.keepIoTypes) ? passOptions.keepIoTypes : []), ...keptIo]);
  // One range cache for every conversion of this model (restarts, the fallback's trials): weights scanned once.
  const ranges = new RangeCache();
  const runStatic = () => runMixedPrecision(model, resolveOptions({ halfCodec: wasmHalf, scanF32: wasmScan, ranges, ...passOptions, keepIoTypes: keepIoTypes(), keepFp32, keepReasons, rangeProven }));
  /** The original converted again from scratch with the options as they now stand. */
  const restart = (): ConvertSummary => {
    const fresh = cloneModel(original);
    model.graph = fresh.graph;
    model.proto = fresh.proto;
    return runStatic();
  };
  /** The repair's last resort: every node fp32 (the fp32 model meets any tolerance). */
  const keepEveryNode = (): void => {
    for (const n of original.graph.allNodes()) { const k = n.name || n.label; if (!keepFp32.includes(k)) { keepFp32.push(k); keepReasons[k] = 'repair: nothing less met the tolerance'; } }
    verification.repaired.push('(every node)');
  };

  if (!verify && !cal && !report) return finish(runStatic());
  // Verification runs both precisions in memory: a model whose weights take a large share of this machine's
  // memory (an LLM-sized one) gets the static rules, streamed tensor by tensor, and a note saying so.
  const weights = [...model.graph.allGraphs()].reduce((a, g) => a + [...g.initializers.values()].reduce((s, t) => s + t.byteLength, 0), 0);
  if (weights > totalmem() / 4 && !inputs) {
    verification.note = `not verified: the weights (${(weights / 2 ** 30).toFixed(1)} GiB) take more than a quarter of this machine's memory, and verification holds both precisions; static rules only (give --inputs to verify anyway, or --no-verify to skip this check)`;
    notes.push(verification.note);
    return finish(runStatic());
  }
  if ((report || cal) && !verify && !inputs) throw new AmpError('calibrate and report without verification need input sets (options.inputs)');

  /**
   * Verification on onnxruntime-node when the CPU executor has no kernel for `ops`: the original and the converted
   * model both run there; if an output misses the tolerance, every node stays fp32 (which meets any). No range
   * calibration (onnxruntime gives no intermediates here), and its CPU provider computes many fp16 ops in fp32 —
   * both said in the note. undefined when onnxruntime-node is missing or cannot run the model.
   */
  const verifyOnOrt = async (ops: string[], sets: Record<string, RTensor>[]): Promise<ConvertSummary | undefined> => {
    // In a process of its own: onnxruntime crashes on some hostile models, which must not take this one down.
    const hasExternal = (m: Model) => [...m.graph.allGraphs()].some((g) => [...g.initializers.values()].some((t) => t.external));
    if (hasExternal(original)) return undefined;
    let ref: Record<string, RTensor>[];
    try { ref = await runOrtIsolated(encodeModel(original), sets); } catch { return undefined; }
    const attempt = async (): Promise<{ summary: ConvertSummary; checks: OutputCheck[] }> => {
      const summary = restart();
      const gots = await runOrtIsolated(encodeModel(model), sets.map((s) => feedsFor(model, s)));
      verification.evaluations++;
      return { summary, checks: compareOutputs(gots, ref, tolerance, outputTolerance) };
    };
    onPhase?.('verifying on onnxruntime-node');
    let r: { summary: ConvertSummary; checks: OutputCheck[] };
    try {
      r = await attempt();
      if (!r.checks.every((c) => c.pass)) {
        keepEveryNode();
        r = await attempt();
      }
    } catch { return undefined; }
    verification.outputs = r.checks;
    verification.status = r.checks.every((c) => c.pass) ? 'verified' : 'failed';
    verification.note = `verified on onnxruntime-node, as the CPU executor has no kernel for ${ops.join(', ')}: no range calibration, and onnxruntime's CPU provider computes many fp16 ops through fp32 (overflow it hides is not ruled out)`;
    notes.push(verification.note);
    return r.summary;
  };

  // 1–2. Inputs and the fp32 reference run, which also records every activation's range.
  let sets: Record<string, RTensor>[];
  let calib: CalibrationResult;
  const original = cloneModel(model);
  try {
    sets = inputs ?? synthesizeInputs(model, samples, seed, shapes);
    verification.inputs = { source: inputs ? 'given' : 'synthesized', sets: sets.length, ...(inputs ? {} : { seed }) };
    const calOpts = typeof cal === 'object' ? cal : {};
    onPhase?.(`calibrating on ${sets.length} input set${sets.length > 1 ? 's' : ''}`);
    calib = calibrate(original, sets, {
      maxActivation: maxActivation ?? calOpts.maxActivation ?? (target === 'fp16' ? 8192 : Infinity),
      maxReduction: maxReduction ?? calOpts.maxReduction,
      liftBound: calOpts.liftBound ?? (target === 'fp16' ? undefined : Infinity),
    });
  } catch (e) {
    const feeds = model.graph.inputs.filter((i) => !model.graph.initializers.has(i)).map((i) => model.graph.values.get(i)?.type);
    const symbolic = inputs ? [] : model.graph.inputs.filter((i) => !model.graph.initializers.has(i) && model.graph.values.get(i)?.type?.shape?.some((d) => typeof d !== 'number'));
    // Inputs exactly as declared (given, or float/bool tensors of fully static shapes): a model that cannot run
    // on them is malformed — bad input, not an unverifiable model. Symbolic dims or synthesized integer inputs
    // (indices, lengths) may be what does not fit, so those keep the note.
    const exact = inputs || feeds.every((t) => t?.shape && t.shape.every((d) => typeof d === 'number') && (isConvertibleFloat(t.elemType) || t.elemType === DataType.BOOL));
    // An op the executor has no kernel for says nothing about the model: static rules and a note, never a refusal.
    if ((exact && e instanceof AmpError && !(e instanceof UnsupportedOpError)) || e instanceof InvalidModelError) throw e;
    // The CPU executor lacks an op: onnxruntime-node (optional) runs both models instead, if it is installed.
    if (e instanceof UnsupportedOpError && verify && sets!) {
      const viaOrt = await verifyOnOrt(e.ops, sets);
      if (viaOrt) return finish(viaOrt);
    }
    const hint = symbolic.length ? `; give --inputs, or --shape for the symbolic dims of ${symbolic.join(', ')}` : '';
    verification.note = `not verified: the model could not run on ${inputs ? 'the given' : 'synthesized'} inputs (${message(e)}); static rules only${hint}`;
    notes.push(verification.note);
    if (!verify) throw e;
    return finish(runStatic());
  }
  for (const k of calib.keepFp32) { keepFp32.push(k); keepReasons[k] = 'activation range'; }
  rangeProven.push(...calib.proven);
  verification.rangeProven = calib.proven;
  verification.calibrated = calib.reasons;
  result.calibration = { ...calib, inputSets: sets.length };
  notes.push(`calibration (${sets.length} ${verification.inputs.source} input set${sets.length > 1 ? 's' : ''}): kept fp32 ${calib.keepFp32.length ? calib.keepFp32.map((k) => `${k} (${calib.reasons[k]})`).join(', ') : 'nothing'}`);

  // 3. Convert and verify.
  onPhase?.('converting');
  let summary = runStatic();
  if (verify) {
    onPhase?.('verifying');
    let checks = checkOutputs(model, sets, calib.outputs, tolerance, outputTolerance);
    verification.evaluations = 1;
    /** The original converted again with the options as they now stand, and checked on every set. */
    const reconvert = () => {
      summary = restart();
      checks = checkOutputs(model, sets, calib.outputs, tolerance, outputTolerance);
      verification.evaluations++;
    };
    // 4. Repair on the first failing input set, from the original model; verify again on all sets.
    for (let round = 0; round < 2 && !checks.every((c) => c.pass); round++) {
      const failing = Math.min(...checks.map((c) => c.failedOn ?? Infinity));
      onPhase?.('repairing');
      const { report: _r, ...fb } = await fallback(original, sets[Number.isFinite(failing) ? failing : 0], tolerance, { ranges, ...passOptions, keepIoTypes: keepIoTypes(), keepFp32, keepReasons, rangeProven }, maxEvals, { outputTolerance });
      verification.evaluations += fb.evaluations;
      result.fallback = fb;
      if (!fb.keepFp32.length) break;
      for (const k of fb.keepFp32) { keepFp32.push(k); keepReasons[k] = 'repair: outputs missed the tolerance'; }
      verification.repaired.push(...fb.keepFp32);
      reconvert();
    }
    // 4b. What node repair cannot fix, the I/O can: inputs whose own fp16 rounding moves the result, outputs whose
    // values fp16 cannot hold keep fp32. Last, every node fp32: the fp32 model meets any tolerance, so the repair
    // always ends with a model that passes — unless --max-evals stops it first.
    const budgetLeft = () => maxEvals === undefined || verification.evaluations < maxEvals;
    if (!checks.every((c) => c.pass) && budgetLeft() && passOptions.keepIoTypes !== true) {
      onPhase?.('repairing');
      const floatInputs = original.graph.inputs.filter((i) => !original.graph.initializers.has(i) && isConvertibleFloat(original.graph.values.get(i)?.type?.elemType ?? 0));
      keptIo.push(...floatInputs, ...checks.filter((c) => !c.pass).map((c) => c.name));
      reconvert();
      // Give back each one where the outputs still pass without it (the fewest kept, said by name).
      for (const name of [...keptIo]) {
        if (!checks.every((c) => c.pass) || !budgetLeft()) break;
        const saved = checks;
        keptIo.splice(keptIo.indexOf(name), 1);
        reconvert();
        if (!checks.every((c) => c.pass)) { keptIo.push(name); reconvert(); checks = checks.every((c) => c.pass) ? checks : saved; }
      }
    }
    if (!checks.every((c) => c.pass) && budgetLeft()) {
      keepEveryNode();
      reconvert();
    }
    verification.keptIo = [...keptIo];
    verification.outputs = checks;
    verification.status = checks.every((c) => c.pass) ? 'verified' : 'failed';
    if (verification.status === 'failed' && !budgetLeft()) verification.note = `the --max-evals budget (${maxEvals}) ran out before the repair met the tolerance; a larger budget (or --keep-io-types) would let it go on`;
    if (keptIo.length) notes.push(`kept fp32 at the model's edge (their own fp16 rounding or range missed the tolerance): ${keptIo.join(', ')}`);
    notes.push(`${verification.status === 'verified' ? 'verified' : 'NOT verified'}: ${checks.length} output(s) on ${sets.length} input set(s), tolerance ${formatTolerance(tolerance)}` +
      `${verification.repaired.length ? `; repair kept ${verification.repaired.join(', ')} fp32` : ''}`);
    const io = decodeSteps > 0 ? decoderIo(original) : undefined;
    if (io) {
      onPhase?.(`decoding ${decodeSteps} steps`);
      const d = decodeCheck(original, model, sets[0], decodeSteps, outputTolerance?.[io.logits] ?? tolerance);
      verification.decode = d;
      if (!d.pass) verification.status = 'failed';
      notes.push(formatDecode(d)[0]);
    }
  }
  if (report) {
    onPhase?.('reporting');
    result.report = await diff(original, model, sets[0], { tolerance, outputTolerance });
    notes.push(`outputs ${result.report.outputsMeet ? 'meet' : 'do not meet'} ${formatTolerance(tolerance)} on input set 1`);
  }
  return finish(summary);
}

/** The static pass alone: no inputs, no runs. */
export function convertSync(input: Model | string | Uint8Array, options: ConvertOptions = {}): { model: Model; summary: ConvertSummary } {
  const opts = resolveOptions({ halfCodec: wasmHalf, scanF32: wasmScan, ...withConfig(options) });
  const model = toModel(input);
  const summary = runMixedPrecision(model, opts);
  return { model, summary };
}
