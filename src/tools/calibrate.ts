/**
 * Range-aware conversion: run the fp32 model on calibration inputs, record every activation's range, and
 * keep in fp32 the nodes whose outputs exceed a safe bound (default 65504, fp16's max) and reductions deeper
 * than `maxReduction` elements. The result is a keepFp32 list for convert() — and the converse, `proven`: nodes
 * the policy denies for their range alone (OpPolicy.range: Exp, Pow, short reductions, LRN…) whose every value
 * stayed within the bound, which the pass may then run low.
 */
import type { Model, Node } from '../ir/graph.js';
import { CpuExecutor } from '../../runtime/cpu/executor.js';
import { toFloat32, type RTensor } from '../ir/rtensor.js';
import { isConvertibleFloat } from '../core/dtype.js';
import { REDUCTIONS, opPolicy } from '../../passes/policy.js';

/** Thresholds of calibrate (activation magnitude; reduction depth in elements). */
export interface CalibrateOptions {
  maxActivation?: number;
  maxReduction?: number;
  /** The bound for `proven` (default min(maxActivation, 512)): lifting a denial asks for more headroom than keeping fp32. */
  liftBound?: number;
}
/** Nodes calibrate keeps fp32 and why, with the observed ranges and the fp32 outputs. */
export interface CalibrationResult {
  /** Nodes to keep fp32, by name (or label, for unnamed nodes). */
  keepFp32: string[];
  /** Nodes denied for their range alone whose values all stayed within the bound (passed on as rangeProven). */
  proven: string[];
  ranges: Record<string, number>;
  reasons: Record<string, string>;
  /** The fp32 model's outputs on each input set (the verification's reference). */
  outputs: Record<string, RTensor>[];
}

/**
 * Runs the fp32 model on input sets and names the nodes to keep fp32: activations beyond maxActivation,
 * reductions deeper than maxReduction.
 */
export function calibrate(
  model: Model,
  inputs: Record<string, RTensor>[],
  opts: CalibrateOptions = {},
): CalibrationResult {
  const bound = opts.maxActivation ?? 65504;
  const ranges: Record<string, number> = {};
  const reasons: Record<string, string> = {};
  const ex = new CpuExecutor(model);
  const dims = new Map<string, number[]>();
  /** Largest |value| seen per float value (Inf/NaN count as unbounded for `proven`). */
  const seen = new Map<string, number>();
  const outputs: Record<string, RTensor>[] = [];
  const record = (name: string, t: RTensor) => {
    const v = toFloat32(t);
    let m = 0,
      finite = true;
    for (let i = 0; i < v.length; i++) {
      const a = Math.abs(v[i]);
      if (a > m && Number.isFinite(a)) m = a;
      else if (!Number.isFinite(a)) finite = false;
    }
    seen.set(name, Math.max(seen.get(name) ?? 0, finite ? m : Infinity));
    return m;
  };
  for (const feeds of inputs) {
    for (const [k, t] of Object.entries(feeds)) if (isConvertibleFloat(t.dtype)) record(k, t);
    outputs.push(
      ex.runSync(feeds, {
        onValue: (name, t, node) => {
          dims.set(name, t.dims);
          if (!node || !isConvertibleFloat(t.dtype)) return;
          const m = record(name, t);
          const key = node.name || node.label;
          ranges[key] = Math.max(ranges[key] ?? 0, m);
          if (m > bound && !reasons[key]) reasons[key] = `|output| reaches ${m.toPrecision(3)} > ${bound}`;
        },
      }),
    );
  }
  if (opts.maxReduction !== undefined) {
    for (const n of model.graph.allNodes()) {
      const key = n.name || n.label;
      const depth = reductionDepth(n, dims);
      if (depth > opts.maxReduction && !reasons[key]) reasons[key] = `reduces ${depth} elements > ${opts.maxReduction}`;
    }
  }
  const lift = opts.liftBound ?? Math.min(bound, PROVEN_BOUND);
  const proven = [...model.graph.allNodes()]
    .filter((n) => !reasons[n.name || n.label] && withinRange(n, seen, dims, lift, opts.maxReduction ?? PROVEN_DEPTH))
    .map((n) => n.name || n.label);
  return { keepFp32: Object.keys(reasons), proven, ranges, reasons, outputs };
}

/** Reductions deeper than this stay fp32 even when their values fit (fp16 runtimes may accumulate in fp16). */
export const PROVEN_DEPTH = 4096;
/**
 * Values a range-only denial may reach and still be lifted: 128× below fp16's max, as ModelOpt AutoCast's
 * data_max default — calibration inputs (synthesized N(0, 1) ones above all) are only a sample of real data.
 */
export const PROVEN_BOUND = 512;

/** A node denied for its range alone (OpPolicy.range) whose calibrated values all fit: within `bound`, and its depth too. */
function withinRange(
  n: Node,
  seen: Map<string, number>,
  dims: Map<string, number[]>,
  bound: number,
  maxDepth: number,
): boolean {
  const range = opPolicy(n.opType, n.domain).range;
  if (!range) return false;
  let m = 0;
  for (const v of [...n.inputs, ...n.outputs]) {
    if (!v) continue;
    const s = seen.get(v);
    if (s === undefined) {
      // Initializers are not run: their range is step 2's guard's (a reader of one beyond fp16 stays fp32).
      if (n.graph.lookup(v)?.initializer || dims.has(v)) continue; // dims without a range: not a float value
      return false; // never computed (a branch not taken): no evidence
    }
    m = Math.max(m, s);
  }
  const depth = REDUCTIONS[n.opType] ? reductionDepth(n, dims) : 1;
  if (!(m <= bound) || depth > maxDepth || depth === 0) return false; // 0: a reduction of unknown depth
  if (range === 'squares') {
    const x = seen.get(n.inputs[0]) ?? Infinity;
    return x * x * Math.max(depth, 1) <= bound;
  }
  return true;
}

/** Elements summed into one output element, from the shapes seen while calibrating (0 when not a reduction). */
function reductionDepth(n: Node, seen: Map<string, number[]>): number {
  const x = seen.get(n.inputs[0]) ?? n.graph.lookup(n.inputs[0])?.type?.shape;
  if (!x || x.some((d) => typeof d !== 'number')) return 0;
  const dims = x as number[];
  const kind = REDUCTIONS[n.opType];
  if (kind === 'matmul') return dims[dims.length - 1];
  if (kind === 'gemm') return n.attrInt('transA', 0) ? dims[0] : dims[1];
  if (kind === 'axis') return dims[(n.attrInt('axis', -1) + dims.length) % dims.length];
  if (kind === 'size') return n.attrInt('size', 1);
  if (kind !== 'axes') return 0;
  // Axes: the attribute (before opset 18), a constant input (from 18), or all of them when neither is given.
  const axesInput = n.inputs[1] ? n.graph.lookup(n.inputs[1])?.initializer : undefined;
  const axes =
    n.attrInts('axes') ??
    (axesInput
      ? Array.from(axesInput.data() as BigInt64Array, Number)
      : n.inputs[1]
        ? undefined
        : dims.map((_, i) => i));
  if (!axes) return 0;
  if (!axes.length && !n.attrInt('noop_with_empty_axes', 0)) return dims.reduce((p, d) => p * d, 1);
  return axes.reduce((p, a) => p * dims[(a + dims.length) % dims.length], 1);
}
