/**
 * Comparisons, boolean logic, IsInf/IsNaN, Where, and Cast to and from bool. BOOL tensors live on the GPU as
 * u32 0/1 (WGSL has no 8-bit storage); the executor converts on upload and readback. Inf/NaN are tested on the
 * stored bits: WGSL lets an implementation assume floats are finite, so `x != x` may be folded away.
 */
import type { GpuKernel } from './types.js';
import type { GpuTensor, Program } from '../program.js';
import { isFloatTensor, type ProgramContext } from '../program.js';
import { broadcastOp } from './broadcast.js';
import type { Node } from '../../../src/ir/graph.js';
import { DataType } from '../../../src/core/dtype.js';

const isBool = (t?: GpuTensor): boolean => t?.dtype === DataType.BOOL;

/**
 * `class_(k)` of element k's stored bits: 0 finite, 1 +Inf, 2 −Inf, 3 NaN. Native f16 storage is tested on its
 * 16 bits, f32 (and emulated fp16, which is f32) on 32.
 */
export const CLASS_F32 = `fn class_(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  if ((b & 0x7f800000u) != 0x7f800000u) { return 0u; }
  if ((b & 0x7fffffu) != 0u) { return 3u; }
  return select(1u, 2u, (b & 0x80000000u) != 0u);
}`;
const classify = (ctx: ProgramContext, dtype: number): string =>
  dtype === DataType.FLOAT16 && !ctx.halfEmulated
    ? `fn class_(x: f16) -> u32 {
  let h = bitcast<u32>(vec2<f16>(x, f16(0.0))) & 0xffffu;
  if ((h & 0x7c00u) != 0x7c00u) { return 0u; }
  if ((h & 0x3ffu) != 0u) { return 3u; }
  return select(1u, 2u, (h & 0x8000u) != 0u);
}`
    : CLASS_F32;

/** IsInf's test of a class_ value `c` by its detect_positive / detect_negative attributes. */
export const infTest = (node: Node, c: string): string => {
  const pos = node.attrInt('detect_positive', 1) !== 0,
    neg = node.attrInt('detect_negative', 1) !== 0;
  return [pos ? `${c} == 1u` : '', neg ? `${c} == 2u` : ''].filter(Boolean).join(' || ') || 'false';
};
/** The other bool-related ops as expressions of operands v0, v1, v2 (shared with the fused chains). */
export const BOOL_EXPR = {
  Not: '!v0',
  IsNaN: 'class_(v0) == 3u',
  Where: 'select(v2, v1, v0)',
  fromBool: 'select(0.0, 1.0, v0)',
  /** float → bool on f32 bits: true unless ±0 (NaN is true, as on the CPU). */
  toBoolF32: '(bitcast<u32>(v0) & 0x7fffffffu) != 0u',
};

export const COMPARE: Record<string, string> = {
  Greater: 'v0 > v1',
  Less: 'v0 < v1',
  GreaterOrEqual: 'v0 >= v1',
  LessOrEqual: 'v0 <= v1',
  Equal: 'v0 == v1',
};
export const LOGIC: Record<string, string> = { And: 'v0 && v1', Or: 'v0 || v1', Xor: 'v0 != v1' };

const compare =
  (op: string): GpuKernel =>
  (node, [a, b], ctx) => {
    // Float operands of one type; Equal also compares bools.
    const ok = a && b && a.dtype === b.dtype && (isFloatTensor(a) || (op === 'Equal' && isBool(a)));
    return ok ? broadcastOp(ctx, `cmp:${op}`, node, [a!, b!], DataType.BOOL, COMPARE[op]) : undefined;
  };
const logic =
  (op: string): GpuKernel =>
  (node, [a, b], ctx) =>
    isBool(a) && isBool(b) ? broadcastOp(ctx, `logic:${op}`, node, [a!, b!], DataType.BOOL, LOGIC[op]) : undefined;

const not: GpuKernel = (node, [x], ctx) =>
  isBool(x) ? broadcastOp(ctx, 'not', node, [x!], DataType.BOOL, BOOL_EXPR.Not) : undefined;

const isNan: GpuKernel = (node, [x], ctx) =>
  isFloatTensor(x)
    ? broadcastOp(ctx, 'isnan', node, [x!], DataType.BOOL, BOOL_EXPR.IsNaN, classify(ctx, x!.dtype), true)
    : undefined;
const isInf: GpuKernel = (node, [x], ctx) => {
  if (!isFloatTensor(x)) return undefined;
  const test = infTest(node, 'c');
  return broadcastOp(
    ctx,
    `isinf:${test}`,
    node,
    [x!],
    DataType.BOOL,
    `is_inf_(class_(v0))`,
    `${classify(ctx, x!.dtype)}\nfn is_inf_(c: u32) -> bool { return ${test}; }\n`,
    true,
  );
};

/** Where(cond, x, y): x where cond, else y, all three broadcast. */
const where: GpuKernel = (node, [c, x, y], ctx) =>
  isBool(c) && isFloatTensor(x) && y?.dtype === x!.dtype
    ? broadcastOp(ctx, 'where', node, [c!, x!, y!], x!.dtype, BOOL_EXPR.Where)
    : undefined;

/** Cast between bool and the float types (float → bool: true unless ±0; NaN is true, as on the CPU). */
export const castBool = (ctx: ProgramContext, node: Node, x: GpuTensor, to: number): Program | undefined => {
  if (isBool(x) && to === DataType.BOOL) return broadcastOp(ctx, 'cast-bool-bool', node, [x], DataType.BOOL, 'v0'); // a copy
  if (isBool(x) && (to === DataType.FLOAT || to === DataType.FLOAT16 || to === DataType.BFLOAT16))
    return broadcastOp(ctx, 'cast-from-bool', node, [x], to, BOOL_EXPR.fromBool);
  if (isFloatTensor(x) && to === DataType.BOOL) {
    const native16 = x.dtype === DataType.FLOAT16 && !ctx.halfEmulated;
    return broadcastOp(
      ctx,
      'cast-to-bool',
      node,
      [x],
      DataType.BOOL,
      native16 ? '(bitcast<u32>(vec2<f16>(v0, f16(0.0))) & 0x7fffu) != 0u' : BOOL_EXPR.toBoolF32,
      '',
      true,
    );
  }
  return undefined;
};

export const logicKernels: Record<string, GpuKernel> = {
  ...Object.fromEntries(Object.keys(COMPARE).map((k) => [k, compare(k)])),
  ...Object.fromEntries(Object.keys(LOGIC).map((k) => [k, logic(k)])),
  Not: not,
  IsNaN: isNan,
  IsInf: isInf,
  Where: where,
};
