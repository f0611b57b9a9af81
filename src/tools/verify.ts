/**
 * Verification of a conversion: calibration inputs (given, or synthesized from the declared input types and
 * shapes), and the check of every output of the converted model against the fp32 model's on each input set.
 *
 * Synthesized inputs (documented in docs/verification.md): floats N(0, 1); integer inputs used as Gather
 * indices into a constant table uniform over that table's axis (token ids into an embedding), other integers
 * uniform in [0, 10); bools 50/50; symbolic dims 1 unless `shapes` names them. Seeded, so runs repeat.
 */
import { printable } from '../core/text.js';
import type { Model } from '../ir/graph.js';
import { DataType } from '../core/dtype.js';
import { toFloat32, type RTensor } from '../ir/rtensor.js';
import { f32ArrayToF16, f32ArrayToBf16 } from '../core/half.js';
import { CpuExecutor } from '../../runtime/cpu/executor.js';
import { feedNames, randomInputs } from './inputs.js';
import { tensorStats, missReason, type Tolerance } from './report/stats.js';

/** The range synthesized values of an input are drawn from, [lo, hi), whole numbers when `int`. */
export interface InputRange {
  lo: number;
  hi: number;
  int?: boolean;
}

/** A dimension of a value, when the model fixes it (an initializer's, or a declared static one). */
function staticDim(model: Model, name: string, axis: number): number | undefined {
  const g = model.graph,
    t = g.initializers.get(name);
  const dims = t ? t.dims : g.values.get(name)?.type?.shape;
  if (!dims) return undefined;
  const d = dims[axis < 0 ? axis + dims.length : axis];
  return typeof d === 'number' && d > 0 ? d : undefined;
}

/**
 * Inputs whose values are indices, lengths, sizes or scales — read by the slots below — get values that make
 * sense there (synthesized N(0,1) scales would ask Resize for negative sizes; indices past a table read nothing):
 * Gather/GatherElements indices within the data's axis, ReverseSequence lengths within the time axis, OneHot depth,
 * Resize/Upsample scales in [0.5, 2) and sizes in [1, 10).
 */
export function inputRanges(model: Model): Record<string, InputRange> {
  const g = model.graph,
    out: Record<string, InputRange> = Object.create(null);
  const opset = model.opset('') ?? 1;
  const narrow = (name: string, r: InputRange) => {
    const prev = out[name];
    out[name] = prev ? { lo: Math.max(prev.lo, r.lo), hi: Math.min(prev.hi, r.hi), int: prev.int || r.int } : r;
  };
  for (const name of feedNames(model)) {
    for (const n of g.values.get(name)?.consumers ?? []) {
      const slot = n.inputs.indexOf(name);
      const axisDim = (data: string, dflt: number) => staticDim(model, data, n.attrInt('axis', dflt));
      if ((n.opType === 'Gather' || n.opType === 'GatherElements') && slot === 1) {
        const d = axisDim(n.inputs[0], 0);
        if (d) narrow(name, { lo: 0, hi: d, int: true });
      } else if (n.opType === 'ReverseSequence' && slot === 1) {
        const d = staticDim(model, n.inputs[0], n.attrInt('time_axis', 0));
        if (d) narrow(name, { lo: 1, hi: d + 1, int: true });
      } else if (n.opType === 'OneHot' && slot === 1) narrow(name, { lo: 2, hi: 11, int: true });
      else if ((n.opType === 'Upsample' && slot === 1) || (n.opType === 'Resize' && slot === (opset >= 11 ? 2 : 1)))
        narrow(name, { lo: 0.5, hi: 2 });
      else if (n.opType === 'Resize' && slot === 3) narrow(name, { lo: 1, hi: 10, int: true });
    }
  }
  return out;
}

/** `count` seeded input sets for the model (see the header for the distributions). */
export function synthesizeInputs(
  model: Model,
  count: number,
  seed = 0,
  shapes: Record<string, number[]> = {},
): Record<string, RTensor>[] {
  const ranges = inputRanges(model);
  return Array.from({ length: count }, (_, i) => randomInputs(model, seed + i, shapes, ranges));
}

/** The feeds retyped for a converted model whose float inputs became fp16/bf16 (values rounded once). */
export function feedsFor(model: Model, feeds: Record<string, RTensor>): Record<string, RTensor> {
  return Object.fromEntries(
    Object.entries(feeds).map(([k, t]) => {
      const want = model.graph.values.get(k)?.type?.elemType;
      if (t.dtype !== DataType.FLOAT || (want !== DataType.FLOAT16 && want !== DataType.BFLOAT16)) return [k, t];
      const v = t.data as Float32Array;
      return [k, { dtype: want, dims: t.dims, data: want === DataType.FLOAT16 ? f32ArrayToF16(v) : f32ArrayToBf16(v) }];
    }),
  );
}

/** One output's verification: its errors against the fp32 model, the tolerance, and whether it passed. */
export interface OutputCheck {
  name: string;
  pass: boolean;
  /** Worst over the input sets. */
  maxAbs: number;
  /** max |Δ| / max |ref|. */
  scaled: number;
  /** Elementwise |Δ| / max(|ref|, 1e-3·max|ref|), max. */
  maxRel: number;
  cosine: number;
  /** NaN/Inf where the reference is finite. */
  newNonFinite: number;
  /** Why it missed the tolerance (the first failing criterion, on the first failing set), when it did. */
  reason?: string;
  /** max |Δ| / allowed error (≤ 1 meets the elementwise tolerance). */
  tolRatio?: number;
  tolerance: Tolerance;
  /** The first input set (index) on which it missed the tolerance. */
  failedOn?: number;
}

/**
 * Runs the converted model on every input set and compares each output with the reference outputs
 * (the fp32 model's, on the same sets). An output passes when it meets its tolerance on every set.
 */
export function checkOutputs(
  converted: Model,
  sets: Record<string, RTensor>[],
  reference: Record<string, RTensor>[],
  tolerance: Tolerance,
  outputTolerance: Record<string, Tolerance> = {},
): OutputCheck[] {
  const ex = new CpuExecutor(converted);
  return compareOutputs(
    sets.map((feeds) => ex.runSync(feedsFor(converted, feeds))),
    reference,
    tolerance,
    outputTolerance,
  );
}

/** The converted model's outputs on each set (`gots`, however they were run) against the reference's. */
export function compareOutputs(
  gots: Record<string, RTensor>[],
  reference: Record<string, RTensor>[],
  tolerance: Tolerance,
  outputTolerance: Record<string, Tolerance> = {},
): OutputCheck[] {
  const checks = new Map<string, OutputCheck>();
  gots.forEach((got, i) => {
    for (const [name, ref] of Object.entries(reference[i])) {
      const tol = outputTolerance[name] ?? tolerance;
      const g = got[name];
      const floatOut = g && ref.dtype !== DataType.STRING && ref.dtype !== DataType.BOOL;
      if (!floatOut) continue;
      const s = tensorStats(toFloat32(ref), toFloat32(g), tol);
      const prev = checks.get(name);
      const why = missReason(s, tol),
        ok = why === undefined;
      const worse = <K extends 'maxAbs' | 'scaled' | 'maxRel' | 'newNonFinite'>(k: K) => Math.max(prev?.[k] ?? 0, s[k]);
      checks.set(name, {
        name,
        tolerance: tol,
        pass: (prev?.pass ?? true) && ok,
        ...(prev?.failedOn !== undefined
          ? { failedOn: prev.failedOn, reason: prev.reason }
          : !ok
            ? { failedOn: i, reason: why }
            : {}),
        maxAbs: worse('maxAbs'),
        scaled: worse('scaled'),
        maxRel: worse('maxRel'),
        newNonFinite: worse('newNonFinite'),
        cosine: Math.min(prev?.cosine ?? 1, Number.isNaN(s.cosine) ? -1 : s.cosine),
        ...(s.tolRatio !== undefined ? { tolRatio: Math.max(prev?.tolRatio ?? 0, s.tolRatio) } : {}),
      });
    }
  });
  return [...checks.values()];
}

/** One decode step: the fp32 model's next token, the converted model's, and the last-position logits' error. */
export interface DecodeStep {
  step: number;
  token: number;
  convertedToken: number;
  maxAbs: number;
  cosine: number;
  pass: boolean;
}
/** The greedy decode check of a KV-cache decoder (src/tools/decode.ts). */
export interface DecodeCheck {
  steps: DecodeStep[];
  agreement: number;
  pass: boolean;
}

/** The decode check as summary lines. */
export function formatDecode(d: DecodeCheck): string[] {
  const worst = d.steps.reduce((w, s) => (s.maxAbs > w.maxAbs ? s : w), d.steps[0]);
  return [
    `greedy decode, ${d.steps.length} steps: next token agrees on ${d.steps.filter((s) => s.token === s.convertedToken).length}/${d.steps.length}, ` +
      `logits worst at step ${worst.step} (max|Δ| ${worst.maxAbs.toExponential(2)}, cosine ${worst.cosine.toFixed(6)})${d.pass ? '' : ` — FAIL at step ${d.steps.find((s) => !s.pass)!.step}`}`,
    `  per step max|Δ|: ${d.steps.map((s) => s.maxAbs.toExponential(1)).join(' ')}`,
  ];
}

/** What `convert()` proved about its result. */
export interface Verification {
  /** verified: every output meets its tolerance on every input set; failed: not even after repair;
   * unverified: the model could not be run (see `note`); skipped: verify was off. */
  status: 'verified' | 'failed' | 'unverified' | 'skipped';
  note?: string;
  inputs: { source: 'given' | 'synthesized'; sets: number; seed?: number };
  tolerance: Tolerance;
  outputs: OutputCheck[];
  /** Nodes kept fp32 by range calibration, and by the repair, with why. */
  calibrated: Record<string, string>;
  /** Nodes the policy keeps fp32 for their range alone (Exp, Pow, short reductions, LRN) whose calibrated values fit: free to run low. */
  rangeProven: string[];
  repaired: string[];
  /** Model inputs/outputs the repair kept fp32 (their own rounding or range was the cause). */
  keptIo?: string[];
  /** KV-cache decoders: the greedy decode check (next-token agreement, logits error per step). */
  decode?: DecodeCheck;
  /**
   * With `runtime: 'ort-web-webgpu'`: the converted model checked on that runtime's own arithmetic (onnxruntime-web's
   * WebGPU provider on Dawn, shader-f16), against the original run there; `repaired`: op types kept fp32 for it.
   */
  deployment?: {
    runtime: string;
    status: 'verified' | 'failed' | 'unchecked';
    outputs: OutputCheck[];
    repaired: string[];
    runs: number;
    note?: string;
  };
  /** Whose arithmetic the outputs were checked on: the CPU oracle, or onnxruntime-node where the oracle lacks a kernel. */
  checkedOn?: 'cpu-oracle' | 'onnxruntime-node';
  evaluations: number;
  ms: number;
}

const e = (x: number) => (x === 0 ? '0' : x.toExponential(2));
/** One output check as a line: ok/FAIL, the failed criterion, the errors. */
const checkLine = (o: OutputCheck): string =>
  `  ${o.pass ? 'ok  ' : 'FAIL'} ${printable(o.name)}: ${o.pass ? '' : `${o.reason} — `}max|Δ| ${e(o.maxAbs)}, max|Δ|/max|ref| ${e(o.scaled)}, cosine ${o.cosine.toFixed(6)}`;
/** What the check on the deployment runtime found. */
function formatDeployment(d: NonNullable<Verification['deployment']>): string[] {
  if (d.status === 'unchecked') return [printable(d.note ?? `not checked on ${d.runtime}`, 600)];
  const head = `${d.status === 'verified' ? 'verified' : 'NOT VERIFIED'} on ${d.runtime} too (its own fp16 arithmetic, against the original run there; ${d.runs} run(s))`;
  const repaired = d.repaired.length
    ? [`kept fp32 for ${d.runtime}: ${d.repaired.map((r) => printable(r)).join(', ')}`]
    : [];
  return [head, ...d.outputs.map(checkLine), ...repaired];
}
/** The verification as summary lines (the CLI prints them under the conversion summary). */
export function formatVerification(v: Verification): string[] {
  if (v.status === 'skipped') return ['verification: skipped (--no-verify)'];
  const lines: string[] = [];
  // The note may quote the model (an op type, an input name): made printable like every model-derived text.
  if (v.status === 'unverified') return [printable(v.note ?? 'not verified', 600)];
  lines.push(
    `${v.status === 'verified' ? 'verified' : 'NOT VERIFIED'} on ${v.inputs.sets} ${v.inputs.source} input set(s)${v.inputs.seed !== undefined ? ` (seed ${v.inputs.seed})` : ''}, ${v.evaluations} conversion(s) checked, ${(v.ms / 1000).toFixed(2)} s — ${v.checkedOn === 'onnxruntime-node' ? 'on onnxruntime-node' : 'on the CPU oracle (exact fp16 storage, f32 arithmetic)'}`,
  );
  for (const o of v.outputs) {
    // A FAIL line leads with the criterion that failed; the share of the allowed error only where it is the measure.
    const share =
      o.tolRatio !== undefined && (o.pass || /^elementwise/.test(o.reason ?? ''))
        ? `, ${(100 * o.tolRatio).toFixed(0)}% of the allowed error`
        : '';
    lines.push(
      `  ${o.pass ? 'ok  ' : 'FAIL'} ${printable(o.name)}: ${o.pass ? '' : `${o.reason} — `}max|Δ| ${e(o.maxAbs)}, max|Δ|/max|ref| ${e(o.scaled)}, cosine ${o.cosine.toFixed(6)}${o.newNonFinite ? `, ${o.newNonFinite} new NaN/Inf` : ''}${share}`,
    );
  }
  const cal = Object.entries(v.calibrated);
  if (cal.length)
    lines.push(
      `kept fp32 for their activation range: ${cal
        .slice(0, 8)
        .map(([n, why]) => `${printable(n)} (${printable(why)})`)
        .join(', ')}${cal.length > 8 ? ` and ${cal.length - 8} more` : ''}`,
    );
  if (v.rangeProven.length)
    lines.push(
      `free to run low, their calibrated range fits: ${v.rangeProven
        .slice(0, 8)
        .map((n) => printable(n))
        .join(', ')}${v.rangeProven.length > 8 ? ` and ${v.rangeProven.length - 8} more` : ''}`,
    );
  if (v.repaired.length) lines.push(`kept fp32 by the repair: ${v.repaired.map((n) => printable(n)).join(', ')}`);
  if (v.keptIo?.length)
    lines.push(
      `kept fp32 at the model's edge by the repair (their own fp16 rounding or range was the cause): ${v.keptIo.map((n) => printable(n)).join(', ')}`,
    );
  if (v.note) lines.push(printable(v.note, 600));
  if (v.decode) lines.push(...formatDecode(v.decode));
  if (v.deployment) lines.push(...formatDeployment(v.deployment));
  return lines;
}
