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
import { Model, type Node } from '../ir/graph.js';
import { encodeModel, loadModel, modelFromBytes } from '../onnx/io.js';
import { runOrtIsolated } from '../../runtime/ort/isolated.js';
import { totalmem } from 'node:os';
import { f32ArrayToF16 } from '../core/half.js';
import { f32ToF16, rangeF16 } from '../../runtime/cpu/wasm/index.js';
import { AmpError, InvalidModelError, UnsupportedOpError } from '../core/errors.js';
import { isConvertibleFloat, DataType } from '../core/dtype.js';
import { runMixedPrecision, resolveOptions, RangeCache, type ConvertOptions } from '../../passes/index.js';
import { opPolicy } from '../../passes/policy.js';
import { withConfig } from './config.js';
import type { ScanF32 } from '../../passes/options.js';
import type { ConvertSummary } from '../../passes/context.js';
import type { RTensor } from '../ir/rtensor.js';
import { calibrate, type CalibrateOptions, type CalibrationResult } from './calibrate.js';
import { fallback, type FallbackResult } from './fallback.js';
import { diff, TOLERANCES, type DiffReport } from './diff.js';
import { formatTolerance, type Tolerance } from './report/stats.js';
import {
  checkOutputs,
  compareOutputs,
  feedsFor,
  formatDecode,
  synthesizeInputs,
  type OutputCheck,
  type Verification,
} from './verify.js';
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
  input: string;
  output: string | null;
  bytesBefore: number;
  bytesAfter: number | null;
  ms: number;
  notes: string[];
  verification: Verification;
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
  notes: ConvertNote[];
}

/**
 * A line about a phase of the conversion. `kind` says which: `calibration`, `verification` (the verdict or why
 * there is none), `edge` (I/O the repair kept fp32), `decode` (the decoder check) — all of which the verification's
 * own text also shows — and `report`.
 */
export interface ConvertNote {
  kind: 'calibration' | 'verification' | 'edge' | 'decode' | 'report';
  text: string;
}

/** Per-output tolerances as complete ones: each names only what it changes from the run's tolerance. */
function mergeOutputTolerances(
  tol: Tolerance | undefined,
  perOutput: Record<string, Tolerance> | undefined,
  target: 'fp16' | 'bf16',
): Record<string, Tolerance> | undefined {
  if (!perOutput) return undefined;
  const base = { ...TOLERANCES[target], ...tol };
  return Object.fromEntries(Object.entries(perOutput).map(([k, t]) => [k, { ...base, ...t }]));
}

const toModel = (input: Model | string | Uint8Array): Model =>
  input instanceof Model ? input : typeof input === 'string' ? loadModel(input) : modelFromBytes(input);
const message = (e: unknown) => (e instanceof AmpError ? e.message : (e as Error).message);

/** The pass's f32 → fp16 codec: the executor's WebAssembly SIMD one for large arrays (bit-identical to half.ts). */
const wasmHalf = (src: Float32Array, dst: Uint16Array): void => {
  if (src.length >= 4096) dst.set(f32ToF16(src));
  else f32ArrayToF16(src, dst as Uint16Array<ArrayBuffer>);
};
/** The pass's range scan and streamed fp16 conversion of weights on disk: the executor's WebAssembly one. */
const wasmScan: ScanF32 = (t, tinyBits, emit) =>
  rangeF16(t.byteLength, (offset, into) => t.readInto(offset, into), tinyBits, emit);

/**
 * Converts a model to fp16/bf16 and, by default, proves it: calibrates on input sets, verifies every output
 * against the tolerance, repairs with the fallback. The model (a Model is converted in place) and what was
 * done and proven.
 */
export async function convert(
  input: Model | string | Uint8Array,
  runOptions: ConvertRunOptions = {},
): Promise<ConvertResult> {
  const t0 = performance.now();
  // The config file is read once, here: its keys hold where no option is given (keepFp32 among them).
  const options = withConfig(runOptions) as ConvertRunOptions;
  const run = new ConversionRun(toModel(input), options, t0);
  const { verify = true, inputs, calibrate: cal, report } = run.options;
  if (!verify && !cal && !report) return run.finish(run.runStatic());
  // Verification runs both precisions in memory: a model whose weights take a large share of this machine's
  // memory (an LLM-sized one) gets the static rules, streamed tensor by tensor, and a note saying so.
  const weights = [...run.model.graph.allGraphs()].reduce(
    (a, g) => a + [...g.initializers.values()].reduce((s, t) => s + t.byteLength, 0),
    0,
  );
  if (weights > totalmem() / 4 && !inputs) {
    run.say(
      'verification',
      `not verified: the weights (${(weights / 2 ** 30).toFixed(1)} GiB) take more than a quarter of this machine's memory, and verification holds both precisions; static rules only (give --inputs to verify anyway, or --no-verify to skip this check)`,
      true,
    );
    return run.finish(run.runStatic());
  }
  if ((report || cal) && !verify && !inputs)
    throw new AmpError('calibrate and report without verification need input sets (options.inputs)');
  const calibrated = await run.calibratePhase();
  if (!calibrated) return run.finish(run.fallbackSummary!);
  run.onPhase?.('converting');
  let summary = run.runStatic();
  if (verify) summary = await run.verifyPhase(calibrated, summary);
  if (report) await run.reportPhase(calibrated.sets);
  return run.finish(summary);
}

/**
 * Op types of the converted model's low-precision nodes (bodies included): first those the policy lowers for their
 * speed (allow: the products and recurrences, whose long sums a runtime may accumulate in f16), then by count.
 */
function lowOpTypes(model: Model): string[] {
  const counts = new Map<string, number>();
  const first = new Map<string, number>();
  for (const n of model.graph.allNodes()) {
    if (n.opType === 'Cast' || !writesLow(n)) continue;
    counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
    first.set(n.opType, opPolicy(n.opType, n.domain, model.opset(n.domain) ?? 1).cls === 'allow' ? 0 : 1);
  }
  return [...counts].sort((a, b) => first.get(a[0])! - first.get(b[0])! || b[1] - a[1]).map(([op]) => op);
}
/** The names (as keepFp32 takes them) of the low-precision nodes of one op type. */
const lowNodesOf = (model: Model, op: string): string[] =>
  [...model.graph.allNodes()].filter((n) => n.opType === op && writesLow(n)).map((n) => n.name || n.label);
const writesLow = (n: Node): boolean =>
  n.outputs.some((o) => {
    const t = o ? (n.graph.lookup(o)?.type?.elemType ?? n.graph.values.get(o)?.type?.elemType) : undefined;
    return t === DataType.FLOAT16 || t === DataType.BFLOAT16;
  });

/** Input sets and the fp32 reference run's ranges and outputs: what verification checks against. */
interface Calibrated {
  sets: Record<string, RTensor>[];
  calib: CalibrationResult;
}

/**
 * One verified conversion: the options as they stand (the repair adds nodes and I/O to keep fp32), the original
 * (every attempt converts a fresh copy of it), and what was proven so far. Its phases run in order: calibrate →
 * convert → verify (→ repair) → decode check → report.
 */
class ConversionRun {
  readonly original: Model;
  readonly passOptions: ConvertOptions;
  readonly target: 'fp16' | 'bf16';
  readonly tolerance: Tolerance;
  readonly outputTolerance?: Record<string, Tolerance>;
  readonly onPhase?: (phase: string) => void;
  readonly notes: ConvertNote[] = [];
  readonly verification: Verification;
  readonly result: Omit<ConvertResult, 'model' | 'summary'>;
  readonly keepFp32: NonNullable<ConvertOptions['keepFp32']>;
  readonly keepReasons: Record<string, string>;
  readonly rangeProven: string[] = [];
  /** Inputs/outputs the repair keeps fp32 (their own rounding or range is the cause), on top of the options' keepIoTypes. */
  readonly keptIo: string[] = [];
  /** One range cache for every conversion of this model (restarts, the fallback's trials): weights scanned once. */
  readonly ranges = new RangeCache();
  /** The summary when calibration could not run and the static rules (or onnxruntime's check) stand. */
  fallbackSummary?: ConvertSummary;

  constructor(
    readonly model: Model,
    readonly options: ConvertRunOptions,
    readonly t0: number,
  ) {
    const {
      verify = true,
      inputs,
      samples: _s,
      seed: _seed,
      shapes: _sh,
      maxActivation: _ma,
      maxReduction: _mr,
      tolerance: _t,
      maxEvals: _me,
      calibrate: _c,
      report: _r,
      onPhase,
      decodeSteps: _d,
      outputTolerance: _o,
      ...passOptions
    } = options;
    this.passOptions = passOptions;
    this.target = resolveOptions(passOptions).target;
    this.outputTolerance = mergeOutputTolerances(options.tolerance, options.outputTolerance, this.target);
    this.tolerance = { ...TOLERANCES[this.target], ...options.tolerance };
    this.onPhase = onPhase;
    this.keepFp32 = [...(passOptions.keepFp32 ?? [])];
    this.keepReasons = { ...passOptions.keepReasons };
    this.verification = {
      status: verify ? 'unverified' : 'skipped',
      inputs: { source: inputs ? 'given' : 'synthesized', sets: 0 },
      tolerance: this.tolerance,
      outputs: [],
      calibrated: {},
      rangeProven: [],
      repaired: [],
      evaluations: 0,
      ms: 0,
    };
    this.result = { notes: this.notes, verification: this.verification };
    this.original = cloneModel(model);
  }

  finish(summary: ConvertSummary): ConvertResult {
    this.verification.ms = performance.now() - this.t0;
    return { model: this.model, summary, ...this.result };
  }
  /** A note of this phase; `asVerdict`: it is also what the verification says (its `note`). */
  say(kind: ConvertNote['kind'], text: string, asVerdict = false): void {
    if (asVerdict) this.verification.note = text;
    this.notes.push({ kind, text });
  }
  private keepIoTypes(): ConvertOptions['keepIoTypes'] {
    const k = this.passOptions.keepIoTypes;
    return !this.keptIo.length || k === true ? k : [...(Array.isArray(k) ? k : []), ...this.keptIo];
  }
  /** The pass options as they now stand (what the repair has added included). */
  private current(): ConvertOptions {
    return {
      ranges: this.ranges,
      ...this.passOptions,
      keepIoTypes: this.keepIoTypes(),
      keepFp32: this.keepFp32,
      keepReasons: this.keepReasons,
      rangeProven: this.rangeProven,
    };
  }
  runStatic(): ConvertSummary {
    return runMixedPrecision(this.model, resolveOptions({ halfCodec: wasmHalf, scanF32: wasmScan, ...this.current() }));
  }
  /** The original converted again from scratch with the options as they now stand. */
  restart(): ConvertSummary {
    const fresh = cloneModel(this.original);
    this.model.graph = fresh.graph;
    this.model.proto = fresh.proto;
    return this.runStatic();
  }
  /** The repair's last resort: every node fp32 (the fp32 model meets any tolerance). */
  keepEveryNode(): void {
    for (const n of this.original.graph.allNodes()) {
      const k = n.name || n.label;
      if (!this.keepFp32.includes(k)) {
        this.keepFp32.push(k);
        this.keepReasons[k] = 'repair: nothing less met the tolerance';
      }
    }
    this.verification.repaired.push('(every node)');
  }

  /**
   * 1–2. Inputs and the fp32 reference run, which also records every activation's range. undefined when the model
   * cannot run here: then `fallbackSummary` holds the static rules' result (or onnxruntime's verified one).
   */
  async calibratePhase(): Promise<Calibrated | undefined> {
    const {
      inputs,
      samples = 2,
      seed = 0,
      shapes,
      maxActivation,
      maxReduction,
      calibrate: cal,
      verify = true,
    } = this.options;
    const model = this.model,
      v = this.verification;
    let sets: Record<string, RTensor>[] | undefined;
    let calib: CalibrationResult;
    try {
      sets = inputs ?? synthesizeInputs(model, samples, seed, shapes);
      v.inputs = { source: inputs ? 'given' : 'synthesized', sets: sets.length, ...(inputs ? {} : { seed }) };
      const calOpts = typeof cal === 'object' ? cal : {};
      this.onPhase?.(`calibrating on ${sets.length} input set${sets.length > 1 ? 's' : ''}`);
      calib = calibrate(this.original, sets, {
        maxActivation: maxActivation ?? calOpts.maxActivation ?? (this.target === 'fp16' ? 8192 : Infinity),
        maxReduction: maxReduction ?? calOpts.maxReduction,
        liftBound: calOpts.liftBound ?? (this.target === 'fp16' ? undefined : Infinity),
      });
    } catch (e) {
      this.fallbackSummary = await this.cannotRun(e, sets, verify);
      return undefined;
    }
    for (const k of calib.keepFp32) {
      this.keepFp32.push(k);
      this.keepReasons[k] = 'activation range';
    }
    this.rangeProven.push(...calib.proven);
    v.rangeProven = calib.proven;
    v.calibrated = calib.reasons;
    this.result.calibration = { ...calib, inputSets: sets.length };
    this.say(
      'calibration',
      `calibration (${sets.length} ${v.inputs.source} input set${sets.length > 1 ? 's' : ''}): kept fp32 ${calib.keepFp32.length ? calib.keepFp32.map((k) => `${k} (${calib.reasons[k]})`).join(', ') : 'nothing'}`,
    );
    return { sets, calib };
  }

  /** The model could not run on the inputs: bad input (rethrown), onnxruntime's verification, or the static rules with a note. */
  private async cannotRun(
    e: unknown,
    sets: Record<string, RTensor>[] | undefined,
    verify: boolean,
  ): Promise<ConvertSummary> {
    const { inputs } = this.options,
      g = this.model.graph;
    const feeds = g.inputs.filter((i) => !g.initializers.has(i)).map((i) => g.values.get(i)?.type);
    const symbolic = inputs
      ? []
      : g.inputs.filter(
          (i) => !g.initializers.has(i) && g.values.get(i)?.type?.shape?.some((d) => typeof d !== 'number'),
        );
    // Inputs exactly as declared (given, or float/bool tensors of fully static shapes): a model that cannot run
    // on them is malformed — bad input, not an unverifiable model. Symbolic dims or synthesized integer inputs
    // (indices, lengths) may be what does not fit, so those keep the note.
    const exact =
      inputs ||
      feeds.every(
        (t) =>
          t?.shape &&
          t.shape.every((d) => typeof d === 'number') &&
          (isConvertibleFloat(t.elemType) || t.elemType === DataType.BOOL),
      );
    // An op the executor has no kernel for says nothing about the model: static rules and a note, never a refusal.
    if ((exact && e instanceof AmpError && !(e instanceof UnsupportedOpError)) || e instanceof InvalidModelError)
      throw e;
    // The CPU executor lacks an op: onnxruntime-node (optional) runs both models instead, if it is installed.
    if (e instanceof UnsupportedOpError && verify && sets) {
      const viaOrt = await this.verifyOnOrt(e.ops, sets);
      if (viaOrt) return viaOrt;
    }
    const hint = symbolic.length ? `; give --inputs, or --shape for the symbolic dims of ${symbolic.join(', ')}` : '';
    this.say(
      'verification',
      `not verified: the model could not run on ${inputs ? 'the given' : 'synthesized'} inputs (${message(e)}); static rules only${hint}`,
      true,
    );
    if (!verify) throw e;
    return this.runStatic();
  }

  /**
   * Verification on onnxruntime-node when the CPU executor has no kernel for `ops`: the original and the converted
   * model both run there; if an output misses the tolerance, every node stays fp32 (which meets any). No range
   * calibration (onnxruntime gives no intermediates here), and its CPU provider computes many fp16 ops in fp32 —
   * both said in the note. undefined when onnxruntime-node is missing or cannot run the model.
   */
  private async verifyOnOrt(ops: string[], sets: Record<string, RTensor>[]): Promise<ConvertSummary | undefined> {
    // In a process of its own: onnxruntime crashes on some hostile models, which must not take this one down.
    const hasExternal = (m: Model) =>
      [...m.graph.allGraphs()].some((g) => [...g.initializers.values()].some((t) => t.external));
    if (hasExternal(this.original)) return undefined;
    let ref: Record<string, RTensor>[];
    try {
      ref = await runOrtIsolated(encodeModel(this.original), sets);
    } catch {
      return undefined;
    }
    const attempt = async (): Promise<{ summary: ConvertSummary; checks: OutputCheck[] }> => {
      const summary = this.restart();
      const gots = await runOrtIsolated(
        encodeModel(this.model),
        sets.map((s) => feedsFor(this.model, s)),
      );
      this.verification.evaluations++;
      return { summary, checks: compareOutputs(gots, ref, this.tolerance, this.outputTolerance) };
    };
    this.onPhase?.('verifying on onnxruntime-node');
    let r: { summary: ConvertSummary; checks: OutputCheck[] };
    try {
      r = await attempt();
      if (!r.checks.every((c) => c.pass)) {
        this.keepEveryNode();
        r = await attempt();
      }
    } catch {
      return undefined;
    }
    this.verification.outputs = r.checks;
    this.verification.checkedOn = 'onnxruntime-node';
    this.verification.status = r.checks.every((c) => c.pass) ? 'verified' : 'failed';
    this.say(
      'verification',
      `verified on onnxruntime-node, as the CPU executor has no kernel for ${ops.join(', ')}: no range calibration, and onnxruntime's CPU provider computes many fp16 ops through fp32 (overflow it hides is not ruled out)`,
      true,
    );
    return r.summary;
  }

  /** 3–4. Every output checked on every set; on a miss, the repair (nodes, then the model's edge, then everything). */
  async verifyPhase({ sets, calib }: Calibrated, summary: ConvertSummary): Promise<ConvertSummary> {
    const v = this.verification;
    this.onPhase?.('verifying');
    let checks = checkOutputs(this.model, sets, calib.outputs, this.tolerance, this.outputTolerance);
    v.evaluations = 1;
    /** The original converted again with the options as they now stand, and checked on every set. */
    const reconvert = (): OutputCheck[] => {
      summary = this.restart();
      checks = checkOutputs(this.model, sets, calib.outputs, this.tolerance, this.outputTolerance);
      v.evaluations++;
      return checks;
    };
    const passing = () => checks.every((c) => c.pass);
    await this.repairNodes(sets, () => checks, reconvert);
    checks = this.repairEdge(() => checks, reconvert);
    if (!passing() && this.budgetLeft()) {
      this.keepEveryNode();
      reconvert();
    }
    v.keptIo = [...this.keptIo];
    v.outputs = checks;
    v.status = passing() ? 'verified' : 'failed';
    if (v.status === 'failed' && !this.budgetLeft())
      v.note = `the --max-evals budget (${this.options.maxEvals}) ran out before the repair met the tolerance; a larger budget (or --keep-io-types) would let it go on`;
    if (this.keptIo.length)
      this.say(
        'edge',
        `kept fp32 at the model's edge (their own fp16 rounding or range missed the tolerance): ${this.keptIo.join(', ')}`,
      );
    this.say(
      'verification',
      `${v.status === 'verified' ? 'verified' : 'NOT verified'}: ${checks.length} output(s) on ${sets.length} input set(s), tolerance ${formatTolerance(this.tolerance)}` +
        `${v.repaired.length ? `; repair kept ${v.repaired.join(', ')} fp32` : ''}`,
    );
    this.decodePhase(sets);
    if (this.passOptions.runtime === 'ort-web-webgpu' && v.status === 'verified')
      summary = await this.deploymentPhase(sets, summary);
    return summary;
  }

  /**
   * `runtime: 'ort-web-webgpu'`: the CPU oracle accumulates in f32 where onnxruntime-web's WebGPU kernels compute in
   * f16 (an LSTM's state drifts), so the converted model is run there too — onnxruntime-web's WebGPU provider on Dawn,
   * in a process of its own — against the original run there. On a miss the repair keeps whole op types fp32, the
   * recurrent ones first, until that runtime meets the tolerance; every node fp32 is the last resort.
   */
  private async deploymentPhase(sets: Record<string, RTensor>[], summary: ConvertSummary): Promise<ConvertSummary> {
    const runtime = "onnxruntime-web's WebGPU provider";
    const run = (m: Model, feeds: Record<string, RTensor>[]) =>
      runOrtIsolated(encodeModel(m), feeds, undefined, 'ort-web-webgpu');
    const d: NonNullable<Verification['deployment']> = {
      runtime,
      status: 'unchecked',
      outputs: [],
      repaired: [],
      runs: 0,
    };
    this.verification.deployment = d;
    let ref: Record<string, RTensor>[];
    try {
      this.onPhase?.('verifying on onnxruntime-web');
      ref = await run(this.original, sets);
    } catch (e) {
      d.note = `not checked on ${runtime}: ${message(e)}`;
      return summary;
    }
    const check = async () => {
      d.runs++;
      return compareOutputs(
        await run(
          this.model,
          sets.map((s) => feedsFor(this.model, s)),
        ),
        ref,
        this.tolerance,
        this.outputTolerance,
      );
    };
    const pass = (cs: OutputCheck[]) => cs.every((c) => c.pass);
    let checks = await check();
    for (const op of pass(checks) ? [] : lowOpTypes(this.model)) {
      if (!this.budgetLeft()) break;
      this.onPhase?.('repairing for onnxruntime-web');
      const names = lowNodesOf(this.model, op).filter((k) => !this.keepFp32.includes(k));
      for (const k of names) {
        this.keepFp32.push(k);
        this.keepReasons[k] = `repair: ${op} misses the tolerance on onnxruntime-web (WebGPU)`;
      }
      summary = this.restart();
      this.verification.evaluations++;
      checks = await check();
      if (pass(checks)) {
        d.repaired.push(`${op} (${names.length} node${names.length > 1 ? 's' : ''})`);
        break;
      }
      for (const k of names) this.keepFp32.splice(this.keepFp32.indexOf(k), 1);
    }
    if (!pass(checks) && this.budgetLeft()) {
      this.keepEveryNode();
      summary = this.restart();
      checks = await check();
      d.repaired.push('(every node)');
    }
    d.outputs = checks;
    d.status = pass(checks) ? 'verified' : 'failed';
    if (d.status === 'failed') this.verification.status = 'failed';
    this.say(
      'verification',
      `${d.status === 'verified' ? 'verified' : 'NOT verified'} on ${runtime} too${d.repaired.length ? ` (kept fp32: ${d.repaired.join(', ')})` : ''}`,
    );
    return summary;
  }
  private budgetLeft(): boolean {
    return this.options.maxEvals === undefined || this.verification.evaluations < this.options.maxEvals;
  }

  /** 4. Repair on the first failing input set, from the original model; verify again on all sets. */
  private async repairNodes(
    sets: Record<string, RTensor>[],
    checks: () => OutputCheck[],
    reconvert: () => OutputCheck[],
  ): Promise<void> {
    for (let round = 0; round < 2 && !checks().every((c) => c.pass); round++) {
      const failing = Math.min(...checks().map((c) => c.failedOn ?? Infinity));
      this.onPhase?.('repairing');
      const { report: _r, ...fb } = await fallback(
        this.original,
        sets[Number.isFinite(failing) ? failing : 0],
        this.tolerance,
        this.current(),
        this.options.maxEvals,
        { outputTolerance: this.outputTolerance },
      );
      this.verification.evaluations += fb.evaluations;
      this.result.fallback = fb;
      if (!fb.keepFp32.length) break;
      for (const k of fb.keepFp32) {
        this.keepFp32.push(k);
        this.keepReasons[k] = 'repair: outputs missed the tolerance';
      }
      this.verification.repaired.push(...fb.keepFp32);
      reconvert();
    }
  }

  /**
   * 4b. What node repair cannot fix, the I/O can: inputs whose own fp16 rounding moves the result, outputs whose
   * values fp16 cannot hold keep fp32. Last (in verifyPhase), every node fp32: the fp32 model meets any tolerance,
   * so the repair always ends with a model that passes — unless --max-evals stops it first.
   */
  private repairEdge(checks: () => OutputCheck[], reconvert: () => OutputCheck[]): OutputCheck[] {
    const pass = (cs: OutputCheck[]) => cs.every((c) => c.pass);
    if (pass(checks()) || !this.budgetLeft() || this.passOptions.keepIoTypes === true) return checks();
    this.onPhase?.('repairing');
    const g = this.original.graph;
    const floatInputs = g.inputs.filter(
      (i) => !g.initializers.has(i) && isConvertibleFloat(g.values.get(i)?.type?.elemType ?? 0),
    );
    this.keptIo.push(
      ...floatInputs,
      ...checks()
        .filter((c) => !c.pass)
        .map((c) => c.name),
    );
    let best = reconvert();
    // Give back each one where the outputs still pass without it (the fewest kept, said by name).
    for (const name of [...this.keptIo]) {
      if (!pass(best) || !this.budgetLeft()) break;
      const saved = best;
      this.keptIo.splice(this.keptIo.indexOf(name), 1);
      best = reconvert();
      if (!pass(best)) {
        this.keptIo.push(name);
        best = reconvert();
        if (!pass(best)) best = saved;
      }
    }
    return best;
  }

  /** For a KV-cache decoder: greedy decode steps, teacher-forced, on the first set (src/tools/decode.ts). */
  private decodePhase(sets: Record<string, RTensor>[]): void {
    const steps = this.options.decodeSteps ?? 8;
    const io = steps > 0 ? decoderIo(this.original) : undefined;
    if (!io) return;
    this.onPhase?.(`decoding ${steps} steps`);
    const d = decodeCheck(
      this.original,
      this.model,
      sets[0],
      steps,
      this.outputTolerance?.[io.logits] ?? this.tolerance,
    );
    this.verification.decode = d;
    if (!d.pass) this.verification.status = 'failed';
    this.say('decode', formatDecode(d)[0]);
  }

  /** 5. A diff report of the converted model against the original on the first input set. */
  async reportPhase(sets: Record<string, RTensor>[]): Promise<void> {
    this.onPhase?.('reporting');
    this.result.report = await diff(this.original, this.model, sets[0], {
      tolerance: this.tolerance,
      outputTolerance: this.outputTolerance,
    });
    this.say(
      'report',
      `outputs ${this.result.report.outputsMeet ? 'meet' : 'do not meet'} ${formatTolerance(this.tolerance)} on input set 1`,
    );
  }
}

/** The static pass alone: no inputs, no runs. */
export function convertSync(
  input: Model | string | Uint8Array,
  options: ConvertOptions = {},
): { model: Model; summary: ConvertSummary } {
  const opts = resolveOptions({ halfCodec: wasmHalf, scanF32: wasmScan, ...withConfig(options) });
  const model = toModel(input);
  const summary = runMixedPrecision(model, opts);
  return { model, summary };
}
