/** If, Loop and Scan: run their bodies through the executor (ctx.runGraph); bodies read outer values directly. */
import { DataType, type TypedArray } from '../../../src/core/dtype.js';
import { AmpError, InvalidModelError } from '../../../src/core/errors.js';
import type { Model, Node } from '../../../src/ir/graph.js';
import type { RTensor } from '../../../src/ir/rtensor.js';
import { pastLoopLimit, tooManyIterations } from '../../ops/loops.js';
import { ints, num, size } from '../util.js';
import { take, transpose as transposeT } from './shape.js';
import type { Kernel, KernelContext } from './types.js';

/** The graph attribute `name` of a control-flow node (a model without it is malformed). */
function bodyOf(node: Node, name: string) {
  const g = node.subgraphs.get(name)?.[0];
  if (!g) throw new AmpError(`has no '${name}' graph attribute`);
  return g;
}

/** Stacks equally shaped tensors along a new leading axis (Loop/Scan outputs). */
function stack(ts: RTensor[], fallbackType: number): RTensor {
  if (!ts.length) return { dtype: fallbackType, dims: [0], data: new Float32Array(0) };
  const dims = [ts.length, ...ts[0].dims];
  // Strings are plain arrays; every other type concatenates into one typed array of its kind.
  if (Array.isArray(ts[0].data))
    return { dtype: ts[0].dtype, dims, data: ts.flatMap((t) => t.data as string[]) as unknown as TypedArray };
  const first = ts[0].data as TypedArray,
    per = first.length;
  const out = new (first.constructor as new (n: number) => TypedArray)(per * ts.length);
  ts.forEach((t, i) =>
    (out as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(t.data as ArrayLike<unknown>, i * per),
  );
  return { dtype: ts[0].dtype, dims, data: out };
}
/** Slices t along `axis` at position i (Scan inputs). */
function sliceAt(t: RTensor, axis: number, i: number): RTensor {
  const dims = t.dims.filter((_, a) => a !== axis);
  const outer = size(t.dims.slice(0, axis)),
    inner = size(t.dims.slice(axis + 1)),
    d = t.dims[axis];
  const idx = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) for (let k = 0; k < inner; k++) idx[o * inner + k] = (o * d + i) * inner + k;
  return take(t, idx, dims);
}

export const controlKernels: Record<string, Kernel> = {
  If: (node, [cond], ctx) => {
    const branch = (cond!.data as ArrayLike<number>)[0] ? 'then_branch' : 'else_branch';
    return ctx.runGraph(bodyOf(node, branch), []);
  },
  Loop: (node, [M, cond, ...carried], ctx) => {
    const body = bodyOf(node, 'body');
    const maxTrip = M ? ints(M)[0] : Infinity;
    let c = cond ? !!(cond.data as ArrayLike<number>)[0] : true;
    let state = carried as RTensor[];
    const nCarried = state.length;
    const scans: RTensor[][] = body.outputs.slice(1 + nCarried).map(() => []);
    for (let i = 0; i < maxTrip && c; i++) {
      const iter: RTensor = { dtype: DataType.INT64, dims: [], data: BigInt64Array.from([BigInt(i)]) };
      const condT: RTensor = { dtype: DataType.BOOL, dims: [], data: Uint8Array.from([c ? 1 : 0]) };
      const outs = ctx.runGraph(body, [iter, condT, ...state]);
      c = !!(outs[0].data as ArrayLike<number>)[0];
      state = outs.slice(1, 1 + nCarried);
      outs.slice(1 + nCarried).forEach((t, k) => scans[k].push(t));
      if (pastLoopLimit(i + 1, c, maxTrip)) throw tooManyIterations(maxTrip);
    }
    const scanTypes = body.outputs.slice(1 + nCarried).map((o) => body.values.get(o)?.type?.elemType ?? DataType.FLOAT);
    return [...state, ...scans.map((s, k) => stack(s, scanTypes[k]))];
  },
  Scan: (node, inputs, ctx) => {
    const nScan = node.attrInt('num_scan_inputs', 0);
    if (ctx.opset >= 9) return scan(node, inputs as RTensor[], nScan, ctx);
    // Scan-8: input 0 is sequence_lens (optional), and every state and scan input has a leading batch axis:
    // each batch element is one Scan-9 run (scan axis 1 → 0), their results stacked again.
    const [lens, ...ts] = inputs as (RTensor | undefined)[];
    const B = ts[0]!.dims[0];
    if (lens && Array.from(num(lens)).some((l) => l !== ts[ts.length - 1]!.dims[1]))
      throw new AmpError(`node '${node.label}' (Scan-8): sequence_lens shorter than the scan axis is not supported`);
    const per = Array.from({ length: B }, (_, b) =>
      scan(
        node,
        ts.map((t) => sliceAt(t!, 0, b)),
        nScan,
        ctx,
        node.attrInts('directions'),
      ),
    );
    return per[0].map((_, k) =>
      stack(
        per.map((r) => r[k]),
        per[0][k].dtype,
      ),
    );
  },
};

/** Scan-9 over states and scan inputs (`dirs`: Scan-8's `directions` for the scan inputs). */
function scan(node: Node, ts: RTensor[], nScan: number, ctx: KernelContext, dirs?: number[]): RTensor[] {
  const body = bodyOf(node, 'body');
  let state = ts.slice(0, ts.length - nScan);
  const scanIns = ts.slice(ts.length - nScan);
  const inAxes = node.attrInts('scan_input_axes') ?? scanIns.map(() => 0);
  const inDirs = dirs ?? node.attrInts('scan_input_directions') ?? scanIns.map(() => 0);
  const T = scanIns[0].dims[inAxes[0] < 0 ? inAxes[0] + scanIns[0].dims.length : inAxes[0]];
  const nOutScan = body.outputs.length - state.length;
  const outs: RTensor[][] = Array.from({ length: nOutScan }, () => []);
  for (let t = 0; t < T; t++) {
    const sl = scanIns.map((s, k) => {
      const ax = inAxes[k] < 0 ? inAxes[k] + s.dims.length : inAxes[k];
      return sliceAt(s, ax, inDirs[k] ? T - 1 - t : t);
    });
    const r = ctx.runGraph(body, [...state, ...sl]);
    state = r.slice(0, state.length);
    r.slice(state.length).forEach((x, k) => outs[k].push(x));
  }
  const outDirs = node.attrInts('scan_output_directions') ?? outs.map(() => 0);
  const outAxes = node.attrInts('scan_output_axes') ?? outs.map(() => 0);
  const scanned = outs.map((list, k) => {
    const s = stack(outDirs[k] ? [...list].reverse() : list, DataType.FLOAT);
    const ax = outAxes[k] < 0 ? outAxes[k] + s.dims.length : outAxes[k];
    if (ax === 0) return s;
    const perm = s.dims.map((_, i) => i);
    perm.splice(0, 1);
    perm.splice(ax, 0, 0);
    return transposeT(s, perm);
  });
  return [...state, ...scanned];
}

/**
 * Control-flow signatures, checked before anything runs (onnxruntime refuses these models): an If branch yields
 * exactly the node's outputs; a Loop body takes (iteration, condition, carried...) and yields (condition,
 * carried..., scan outputs...) with no more outputs on the node than that; a Scan has at least as many inputs as
 * num_scan_inputs and its body takes one input per node input (after Scan-8's sequence_lens).
 */
export function checkControlFlow(model: Model): void {
  for (const n of model.graph.allNodes()) {
    const bad = (what: string) => new InvalidModelError(`node '${n.label}' (${n.opType}): ${what}`, model.file);
    const body = (a: string) => n.subgraphs.get(a)?.[0];
    if (n.opType === 'If') {
      for (const a of ['then_branch', 'else_branch']) {
        const g = body(a);
        if (g && g.outputs.length !== n.outputs.length)
          throw bad(`${a} yields ${g.outputs.length} outputs for a node with ${n.outputs.length}`);
      }
    } else if (n.opType === 'Loop') {
      const g = body('body'),
        carried = Math.max(0, n.inputs.length - 2);
      if (!g) continue;
      if (g.inputs.length !== 2 + carried)
        throw bad(
          `the body takes ${g.inputs.length} inputs; the node carries ${carried} values (body inputs must be 2 + ${carried})`,
        );
      if (g.outputs.length < 1 + carried)
        throw bad(
          `the body yields ${g.outputs.length} outputs, fewer than the condition and ${carried} carried values`,
        );
      if (n.outputs.length > g.outputs.length - 1)
        throw bad(
          `the node has ${n.outputs.length} outputs; the body yields ${g.outputs.length - 1} besides the condition`,
        );
    } else if (n.opType === 'Scan') {
      const g = body('body'),
        k = n.attrInt('num_scan_inputs', 0),
        ins = n.inputs.length - (model.opset('')! < 9 ? 1 : 0);
      if (k < 1 || k > ins) throw bad(`num_scan_inputs ${k} must be between 1 and its ${ins} state and scan inputs`);
      if (g && g.inputs.length !== ins) throw bad(`the body takes ${g.inputs.length} inputs for the node's ${ins}`);
      if (g && n.outputs.length !== g.outputs.length)
        throw bad(`the node has ${n.outputs.length} outputs; the body yields ${g.outputs.length}`);
    }
  }
}
