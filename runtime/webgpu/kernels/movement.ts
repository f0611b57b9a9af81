/**
 * Data movement: Concat, Pad (constant, edge, reflect, wrap), Tile, Gather. One invocation per output element,
 * which finds its source element; shapes, pads, repeats and (up to MAX_INDICES) gather indices travel in the
 * parameters — they are small int64 tensors on the CPU.
 */
import type { GpuKernel } from './types.js';
import type { GpuTensor, Program } from '../program.js';
import { numel, isFloatTensor, Params, type ProgramContext } from '../program.js';
import type { RTensor } from '../../../src/ir/rtensor.js';
import { DataType } from '../../../src/core/dtype.js';
import { f16BitsToF32, bf16BitsToF32 } from '../../../src/core/half.js';

const MAX_RANK = 6;
/** Gather indices beyond this count stay on the CPU (they would make the parameter block large). */
const MAX_INDICES = 4096;
const ints = (t?: RTensor): number[] => (t ? Array.from(t.data as ArrayLike<number | bigint>, Number) : []);
const norm = (a: number, r: number) => (a < 0 ? a + r : a);
const stridesOf = (dims: number[]) => dims.map((_, i) => numel(dims.slice(i + 1)));
/** The value of a one-element float tensor (fp16/bf16 bits decoded). */
const scalarOf = (t: RTensor): number =>
  t.dtype === DataType.FLOAT16
    ? f16BitsToF32((t.data as Uint16Array)[0])
    : t.dtype === DataType.BFLOAT16
      ? bf16BitsToF32((t.data as Uint16Array)[0])
      : Number((t.data as ArrayLike<number>)[0]);

/** Concat of up to 8 float inputs along one axis: each output element reads from the input its axis position falls in. */
const concat: GpuKernel = (node, ins, ctx) => {
  const ts = ins.filter((t) => t !== undefined);
  if (
    ts.length !== ins.length ||
    ts.length < 1 ||
    ts.length > 8 ||
    !ts.every((t) => isFloatTensor(t) && t!.dtype === ts[0]!.dtype)
  )
    return undefined;
  const r = ts[0]!.dims.length,
    axis = norm(node.attrInt('axis', 0), r);
  const dims = [...ts[0]!.dims];
  dims[axis] = ts.reduce((a, t) => a + t!.dims[axis], 0);
  const inner = numel(dims.slice(axis + 1)),
    D = dims[axis],
    n = numel(dims),
    T = ctx.type(ts[0]!.dtype);
  const offs = ts.map((_, k) => ts.slice(0, k).reduce((a, t) => a + t!.dims[axis], 0));
  const p = new Params()
    .u32('count', n)
    .u32('inner', inner)
    .u32('D', D)
    .array('off', [...offs, D], 9)
    .array(
      'len',
      ts.map((t) => t!.dims[axis]),
      8,
    );
  const pick = ts
    .map(
      (_, k) =>
        `${k ? ' else ' : ''}${k < ts.length - 1 ? `if (a < off(${k + 1}u)) ` : ''}{ v = f32(in${k}[(b * len(${k}u) + a - off(${k}u)) * inner + e]); }`,
    )
    .join('');
  return {
    key: `concat:${ts[0]!.dtype}:${ts.length}`,
    inputs: ts as never,
    outputs: [{ dtype: ts[0]!.dtype, dims }],
    meta: p.meta,
    groups: ctx.groups(n),
    wgsl: () => `${ctx.bindings(
      ts.map((t) => t!.dtype),
      [ts[0]!.dtype],
    )}${ctx.prologue('count', p)}
  let e = i % inner; let a = (i / inner) % D; let b = i / (inner * D);
  var v = 0.0;
  ${pick}
  out0[i] = ${T}(v);
}`,
  };
};

/** Pad: pads (and axes, constant value) from the CPU inputs, or the attributes before opset 11. */
const pad: GpuKernel = (node, [x], ctx, cpu = []) => {
  if (!isFloatTensor(x) || x!.dims.length > MAX_RANK || (node.inputs[1] && !cpu[1]) || (node.inputs[3] && !cpu[3]))
    return undefined;
  const r = x!.dims.length;
  const mode = ['constant', 'edge', 'reflect', 'wrap'].indexOf(node.attrString('mode', 'constant'));
  if (mode < 0) return undefined;
  let pads = cpu[1] ? ints(cpu[1]) : (node.attrInts('pads') ?? []);
  if (cpu[3]) {
    const ax = ints(cpu[3]).map((a) => norm(a, r)),
      full = new Array(2 * r).fill(0);
    ax.forEach((a, k) => {
      full[a] = pads[k];
      full[a + r] = pads[k + ax.length];
    });
    pads = full;
  }
  if (pads.length !== 2 * r) return undefined;
  // The constant: a float input on the GPU cannot be read here; only a CPU one (or the attribute).
  if (node.inputs[2] && !cpu[2]) return undefined;
  const value = cpu[2] ? scalarOf(cpu[2]) : node.attrFloat('value', 0);
  const dims = x!.dims.map((d, a) => d + pads[a] + pads[a + r]);
  if (dims.some((d) => d < 0)) return undefined;
  const n = numel(dims),
    T = ctx.type(x!.dtype);
  const p = new Params()
    .u32('count', n)
    .u32('rank', r)
    .u32('mode', mode)
    .f32('value', value)
    .array('odims', dims, MAX_RANK, 1)
    .array('idims', x!.dims, MAX_RANK, 1)
    .array('istr', stridesOf(x!.dims), MAX_RANK)
    .array(
      'begin',
      pads.slice(0, r).map((v) => v >>> 0),
      MAX_RANK,
    );
  return {
    key: `pad:${x!.dtype}`,
    inputs: [x!],
    outputs: [{ dtype: x!.dtype, dims }],
    meta: p.meta,
    groups: ctx.groups(n),
    wgsl: () => `${ctx.bindings([x!.dtype], [x!.dtype])}${ctx.prologue('count', p)}
  var rem = i; var off = 0u; var outside = false;
  for (var k = 0u; k < rank; k++) {
    let ax = rank - 1u - k;
    let d = i32(idims(ax));
    var c = i32(rem % odims(ax)) - i32(begin(ax)); rem = rem / odims(ax);
    if (c < 0 || c >= d) {
      if (mode == 0u) { outside = true; }
      else if (mode == 1u) { c = clamp(c, 0, d - 1); }
      else if (mode == 2u) { let q = max(2 * (d - 1), 1); c = ((c % q) + q) % q; if (c >= d) { c = q - c; } }
      else { c = ((c % d) + d) % d; }
    }
    off += u32(max(c, 0)) * istr(ax);
  }
  out0[i] = ${T}(select(f32(in0[off]), value, outside));
}`,
  };
};

/** Tile: each output coordinate modulo the input's. */
const tile: GpuKernel = (_node, [x], ctx, cpu = []) => {
  const reps = ints(cpu[1]);
  if (!isFloatTensor(x) || x!.dims.length > MAX_RANK || reps.length !== x!.dims.length) return undefined;
  const dims = x!.dims.map((d, a) => d * reps[a]),
    n = numel(dims),
    T = ctx.type(x!.dtype);
  const p = new Params()
    .u32('count', n)
    .u32('rank', dims.length)
    .array('odims', dims, MAX_RANK, 1)
    .array('idims', x!.dims, MAX_RANK, 1)
    .array('istr', stridesOf(x!.dims), MAX_RANK);
  return {
    key: `tile:${x!.dtype}`,
    inputs: [x!],
    outputs: [{ dtype: x!.dtype, dims }],
    meta: p.meta,
    groups: ctx.groups(n),
    wgsl: () => `${ctx.bindings([x!.dtype], [x!.dtype])}${ctx.prologue('count', p)}
  var rem = i; var off = 0u;
  for (var k = 0u; k < rank; k++) { let ax = rank - 1u - k; off += ((rem % odims(ax)) % idims(ax)) * istr(ax); rem = rem / odims(ax); }
  out0[i] = ${T}(f32(in0[off]));
}`,
  };
};

/** Gather along one axis with CPU indices (negative ones counted from the end). */
const gather: GpuKernel = (node, [x], ctx, cpu = []) => {
  const idx = cpu[1];
  if (!isFloatTensor(x) || !idx || numel(idx.dims) > MAX_INDICES) return undefined;
  const r = x!.dims.length,
    axis = norm(node.attrInt('axis', 0), r),
    d = x!.dims[axis];
  const ind = ints(idx).map((v) => (v < 0 ? v + d : v));
  if (ind.some((v) => v < 0 || v >= d)) return undefined; // out of range: the CPU kernel says so
  const dims = [...x!.dims.slice(0, axis), ...idx.dims, ...x!.dims.slice(axis + 1)];
  const inner = numel(x!.dims.slice(axis + 1)),
    n = numel(dims),
    T = ctx.type(x!.dtype);
  const p = new Params()
    .u32('count', n)
    .u32('inner', inner)
    .u32('nIdx', Math.max(ind.length, 1))
    .u32('D', d)
    .array('idx', ind, Math.max(ind.length, 1));
  return {
    key: `gather:${x!.dtype}`,
    inputs: [x!],
    outputs: [{ dtype: x!.dtype, dims }],
    meta: p.meta,
    groups: ctx.groups(n),
    wgsl: () => `${ctx.bindings([x!.dtype], [x!.dtype])}${ctx.prologue('count', p)}
  let e = i % inner; let q = (i / inner) % nIdx; let b = i / (inner * nIdx);
  out0[i] = ${T}(f32(in0[(b * D + idx(q)) * inner + e]));
}`,
  };
};

/** A copy of `src` into `into` at element `offset` (same type): stacking a Loop's per-iteration scan outputs. */
export function copyInto(ctx: ProgramContext, src: GpuTensor, into: GpuTensor, offset: number): Program {
  const n = numel(src.dims);
  const p = new Params().u32('count', n).u32('offset', offset);
  return {
    key: `copy-into:${src.dtype}`,
    inputs: [src],
    outputs: [{ dtype: into.dtype, dims: into.dims }],
    into: [into],
    meta: p.meta,
    groups: ctx.groups(n),
    wgsl: () => `${ctx.bindings([src.dtype], [into.dtype])}${ctx.prologue('count', p)}
  out0[offset + i] = in0[i];
}`,
  };
}

export const movementKernels: Record<string, GpuKernel> = { Concat: concat, Pad: pad, Tile: tile, Gather: gather };
