/**
 * `diff()`: runs an original (fp32) and a converted model on the same inputs with the CPU reference and
 * compares every output and every intermediate tensor that maps between them.
 *
 * Mapping: a converted value maps to the original value of the same name; the pass names what it adds
 * `<name>__fp16` / `__fp32` / `__bf16` (casts, and producers of renamed graph outputs), so that suffix is
 * looked through. Cast outputs are not compared on their own (they are the same tensor in another type).
 *
 * Attribution: each converted node is also run alone (executeNode) on the ORIGINAL model's fp32 inputs,
 * cast to the types the converted node takes. Its error there is what the node introduces itself; the rest
 * of its output's error is inherited from upstream. Inputs: where the converted model takes fp16 inputs,
 * both models get the same fp16-representable values, so input quantization is not blamed on any node.
 */
import type { Model, Node } from '../ir/graph.js';
import { AmpError } from '../core/errors.js';
import { CpuExecutor, executeNode } from '../../runtime/cpu/executor.js';
import { createExecutor, type BackendName } from '../../runtime/backend.js';
import { toFloat32, fromIrTensor, type RTensor } from '../ir/rtensor.js';
import { make } from '../../runtime/cpu/util.js';
import { isConvertibleFloat, DataType } from '../core/dtype.js';
import { tensorStats, logHistogram, meets, type TensorStats, type Histogram, type Tolerance } from './report/stats.js';

/** One compared tensor: its node, op, converted type, error statistics and the error its node adds itself. */
export interface TensorDiff {
  name: string;
  convertedName: string;
  op: string;
  node: string;
  /** Position in the converted model's execution order (subgraph nodes included, where they ran). */
  index: number;
  isOutput: boolean;
  /** The converted node's precision: the dtype of this value in the converted model. */
  dtype: number;
  stats: TensorStats;
  self?: TensorStats;
  histValues?: Histogram;
  histErrors?: Histogram;
}
/**
 * A precision diff: per-tensor statistics, outputs, the ranking by self-introduced error, the first tensor
 * beyond tolerance.
 */
export interface DiffReport {
  tolerance: Tolerance;
  tensors: TensorDiff[];
  outputs: TensorDiff[];
  /** Nodes ranked by the error they introduce themselves (NaN/Inf first). */
  ranked: TensorDiff[];
  firstBreak?: TensorDiff;
  outputsMeet: boolean;
  ms: number;
}
/** The fp32 model's values for one input set; pass the same object to several diffs to run the model once. */
export interface ReferenceCache {
  raw: Map<string, RTensor>;
  vals: Map<string, Float32Array>;
}
/** Options of diff: the tolerance, per-output tolerances, attribution and histograms on or off, a cached reference run. */
export interface DiffOptions {
  tolerance?: Tolerance;
  /** Per graph output: the fields given replace those of `tolerance` for it. */
  outputTolerance?: Record<string, Tolerance>;
  attribution?: boolean;
  histograms?: boolean;
  reference?: ReferenceCache;
}

/**
 * Default tolerances by target, chosen from the fixtures and real-size models (docs/verification.md): fp16
 * keeps ~3 significant digits per op, bf16 ~2, and errors grow with depth and magnitude.
 */
export const TOLERANCES: Record<'fp16' | 'bf16', Tolerance> = {
  fp16: { atol: 1e-3, rtol: 1e-2, scale: 2e-2, cos: 0.999 },
  bf16: { atol: 1e-2, rtol: 6e-2, scale: 8e-2, cos: 0.99 },
};
/** The fp16 output tolerance (TOLERANCES.fp16). */
export const DEFAULT_TOLERANCE: Tolerance = TOLERANCES.fp16;
/** The default tolerance for a converted model: bf16's where it holds bfloat16 values, else fp16's. */
export function defaultTolerance(converted: Model): Tolerance {
  for (const g of converted.graph.allGraphs())
    for (const v of g.values.values()) if (v.type?.elemType === DataType.BFLOAT16) return TOLERANCES.bf16;
  return DEFAULT_TOLERANCE;
}
export const baseName = (n: string): string => n.replace(/__(fp16|fp32|bf16)(_\d+)?$/, '');

/** Feeds for each model: the converted model's types, and the same values for the original. */
export function alignFeeds(
  original: Model,
  converted: Model,
  feeds: Record<string, RTensor>,
): { ref: Record<string, RTensor>; conv: Record<string, RTensor> } {
  const ref: Record<string, RTensor> = {},
    conv: Record<string, RTensor> = {};
  for (const [k, t] of Object.entries(feeds)) {
    const want = converted.graph.values.get(k)?.type?.elemType ?? t.dtype;
    const orig = original.graph.values.get(k)?.type?.elemType ?? t.dtype;
    const c =
      want !== t.dtype && isConvertibleFloat(want) && isConvertibleFloat(t.dtype)
        ? make(want, t.dims, toFloat32(t))
        : t;
    conv[k] = c;
    ref[k] = orig !== c.dtype && isConvertibleFloat(orig) ? make(orig, t.dims, toFloat32(c)) : c;
  }
  return { ref, conv };
}

const worstFirst = (a: TensorDiff, b: TensorDiff) => {
  const bad = (d: TensorDiff) => (d.self!.newNonFinite || d.self!.lostNonFinite ? 1 : 0);
  return bad(b) - bad(a) || b.self!.scaled - a.self!.scaled;
};

/**
 * Attribution: each converted node run alone on the fp32 model's values (cast to its input types), so `self` is
 * the error the node introduces itself, apart from what reaches it.
 */
function attribute(
  original: Model,
  tensors: TensorDiff[],
  order: Map<Node, number>,
  convRaw: Map<string, RTensor>,
  refRaw: Map<string, RTensor>,
  refVals: Map<string, Float32Array>,
  opset: number,
): void {
  const byIndex = new Map([...order].map(([n, i]) => [i, n]));
  for (const d of tensors) {
    const node = byIndex.get(d.index);
    if (!node || node.subgraphs.size || node.opType === 'Cast') continue;
    const ins = node.inputs.map((i) => {
      if (!i) return undefined;
      const want = convRaw.get(i)?.dtype ?? node.graph.lookup(i)?.type?.elemType;
      const init = original.graph.initializers.get(baseName(i));
      const r = refRaw.get(baseName(i)) ?? (init ? fromIrTensor(init) : convRaw.get(i));
      if (!r || want === undefined) return null;
      return want !== r.dtype && isConvertibleFloat(want) && isConvertibleFloat(r.dtype)
        ? make(want, r.dims, toFloat32(r))
        : r;
    });
    if (ins.some((x) => x === null)) continue;
    try {
      const outs = executeNode(node, ins as (RTensor | undefined)[], { opset });
      const j = node.outputs.indexOf(d.convertedName);
      const r = refVals.get(d.name);
      if (j >= 0 && outs[j] && r) d.self = tensorStats(r, toFloat32(outs[j]));
    } catch {
      /* a node that cannot run alone keeps only its total error */
    }
  }
}

/**
 * Runs the original and the converted model on the same feeds and compares every output and matching
 * intermediate, attributing error to the nodes that introduce it.
 */
export async function diff(
  original: Model,
  converted: Model,
  feeds: Record<string, RTensor>,
  opts: DiffOptions = {},
): Promise<DiffReport> {
  const t0 = performance.now();
  // A tolerance names only the fields it changes (from the fp16 default; per output, from the run's tolerance).
  const tolerance = { ...defaultTolerance(converted), ...opts.tolerance };
  const tolFor = (output: string) => ({ ...tolerance, ...opts.outputTolerance?.[output] });
  const { ref: refFeeds, conv: convFeeds } = alignFeeds(original, converted, feeds);
  // Reference values of every tensor of the original model (reused when the caller passes the same cache).
  const ref = opts.reference ?? { raw: new Map<string, RTensor>(), vals: new Map<string, Float32Array>() };
  if (!ref.raw.size) {
    new CpuExecutor(original).runSync(refFeeds, {
      onValue: (name, t) => {
        if (isConvertibleFloat(t.dtype) || t.dtype === DataType.DOUBLE) ref.vals.set(name, toFloat32(t));
        ref.raw.set(name, t);
      },
    });
  }
  const { raw: refRaw, vals: refVals } = ref;
  // Execution order (a topological order across subgraphs too: names are global in ONNX).
  const order = new Map<Node, number>();
  const outNames = new Set(converted.graph.outputs);
  const tensors: TensorDiff[] = [];
  const seen = new Set<string>();
  const opset = converted.opset('') ?? 17;
  const convRaw = new Map<string, RTensor>();
  new CpuExecutor(converted).runSync(convFeeds, {
    onValue: (name, t, node) => {
      convRaw.set(name, t);
      if (node && !order.has(node)) order.set(node, order.size);
      if (!node || !isConvertibleFloat(t.dtype)) return;
      if (node.opType === 'Cast' && !outNames.has(name)) return;
      const base = baseName(name);
      const r = refVals.get(base);
      if (!r || r.length !== t.data.length || seen.has(`${base}|${outNames.has(name)}`)) return;
      seen.add(`${base}|${outNames.has(name)}`);
      const g = toFloat32(t);
      const d: TensorDiff = {
        name: base,
        convertedName: name,
        op: node.opType,
        node: node.name || `${node.opType}(${baseName(node.outputs[0] ?? '')})`,
        index: order.get(node) ?? -1,
        isOutput: outNames.has(name) && node.graph === converted.graph,
        dtype: t.dtype,
        stats: tensorStats(r, g, outNames.has(name) ? tolFor(name) : tolerance),
      };
      if (opts.histograms !== false) {
        d.histValues = logHistogram(r);
        const err = new Float64Array(r.length);
        for (let i = 0; i < r.length; i++) err[i] = g[i] - r[i];
        d.histErrors = logHistogram(err);
      }
      tensors.push(d);
    },
  });
  if (opts.attribution !== false) attribute(original, tensors, order, convRaw, refRaw, refVals, opset);
  tensors.sort((a, b) => a.index - b.index || Number(a.isOutput) - Number(b.isOutput));
  const outputs = tensors.filter((t) => t.isOutput);
  const ranked = tensors.filter((t) => t.self && !t.isOutput).sort(worstFirst);
  return {
    tolerance,
    tensors,
    outputs,
    ranked,
    firstBreak: tensors.find((t) => !meets(t.stats, tolerance)),
    outputsMeet: outputs.length > 0 && outputs.every((o) => meets(o.stats, tolFor(o.convertedName))),
    ms: performance.now() - t0,
  };
}

/** One input set's outcome in diffSets. */
export interface SetOutcome {
  index: number;
  outputsMeet: boolean;
  outputs: { name: string; scaled: number; cosine: number; maxAbs: number; newNonFinite: number }[];
  /** With `expected`: the converted model's outputs against the golden ones. */
  expected?: { name: string; pass: boolean; maxAbs: number; tolRatio?: number; cosine: number }[];
  /** With a `backend` other than the CPU reference: the converted model's outputs on it against the fp32 reference. */
  backend?: {
    name: string;
    outputs: { name: string; pass: boolean; maxAbs: number; tolRatio?: number; cosine: number }[];
  };
}
/** diffSets: the full report of the worst input set, and every set's outcome. */
export interface DiffSetsResult {
  report: DiffReport;
  worst: number;
  sets: SetOutcome[];
  outputsMeet: boolean;
}

/**
 * diff over several input sets (as Polygraphy compares all of them): every set is compared, the verdict is
 * that all meet the tolerance, and the full report (attribution, histograms) is the worst set's — the first
 * failing one, else the one with the largest output error. With `expected` (golden outputs per set, e.g.
 * output_N.pb), the converted model's outputs are also checked against them with the same tolerance.
 */
export async function diffSets(
  original: Model,
  converted: Model,
  sets: Record<string, RTensor>[],
  opts: DiffOptions & { expected?: Record<string, RTensor>[]; backend?: BackendName; adapter?: string } = {},
): Promise<DiffSetsResult> {
  if (!sets.length) throw new AmpError('no input sets to compare on');
  if (opts.expected && opts.expected.length !== sets.length)
    throw new AmpError(`${opts.expected.length} sets of expected outputs for ${sets.length} input sets`);
  const reports: DiffReport[] = [];
  const outcomes: SetOutcome[] = [];
  const check = (want: RTensor, got: RTensor | undefined, name: string) => {
    if (!got) throw new AmpError(`output '${name}' is missing from the converted model's results`);
    const tol = { ...defaultTolerance(converted), ...opts.tolerance, ...opts.outputTolerance?.[name] };
    const s = tensorStats(toFloat32(want), toFloat32(got), tol);
    return { name, pass: meets(s, tol), maxAbs: s.maxAbs, tolRatio: s.tolRatio, cosine: s.cosine };
  };
  // Another runtime (Polygraphy's comparison): the converted model's outputs there against the fp32 reference.
  const other =
    opts.backend && opts.backend !== 'cpu'
      ? (await createExecutor(converted, { backend: opts.backend, adapter: opts.adapter })).executor
      : undefined;
  for (let i = 0; i < sets.length; i++) {
    const r = await diff(original, converted, sets[i], { ...opts, attribution: false, histograms: false });
    const o: SetOutcome = {
      index: i,
      outputsMeet: r.outputsMeet,
      outputs: r.outputs.map((t) => ({
        name: t.name,
        scaled: t.stats.scaled,
        cosine: t.stats.cosine,
        maxAbs: t.stats.maxAbs,
        newNonFinite: t.stats.newNonFinite,
      })),
    };
    const { ref, conv } = alignFeeds(original, converted, sets[i]);
    if (opts.expected) {
      const got = new CpuExecutor(converted).runSync(conv);
      o.expected = Object.entries(opts.expected[i]).map(([name, want]) => check(want, got[name], name));
      if (o.expected.some((x) => !x.pass)) o.outputsMeet = false;
    }
    if (other) {
      const want = new CpuExecutor(original).runSync(ref),
        got = await other.run(conv);
      o.backend = {
        name: other.name,
        outputs: original.graph.outputs.map((name) => check(want[name], got[name], name)),
      };
      if (o.backend.outputs.some((x) => !x.pass)) o.outputsMeet = false;
    }
    reports.push(r);
    outcomes.push(o);
  }
  other?.dispose();
  const score = (o: SetOutcome) =>
    (o.outputsMeet ? 0 : 1e9) + Math.max(0, ...o.outputs.map((x) => (Number.isFinite(x.scaled) ? x.scaled : 1e6)));
  const worst = outcomes.reduce((w, o) => (score(o) > score(outcomes[w]) ? o.index : w), 0);
  // The worst set's report again with histograms (and attribution), for the pages.
  const report = await diff(original, converted, sets[worst], opts);
  return { report, worst, sets: outcomes, outputsMeet: outcomes.every((o) => o.outputsMeet) };
}
