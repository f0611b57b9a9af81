/** Elementwise unary and broadcasting binary ops, Cast between f32 and f16, Expand and Slice. Compute in f32. */
import type { GpuKernel } from './types.js';
import { numel, isFloatTensor, stridedOffsets, Params, HALF_BITS, bstrides } from '../program.js';
import { castBool } from './logic.js';
import { broadcastOp } from './broadcast.js';
import { broadcastShape } from '../../ops/broadcast.js';
import { sliceArgs, sliceGeometry } from '../../ops/slice.js';
import { DataType } from '../../../src/core/dtype.js';

// erf with |error| < 1.5e-7 (Abramowitz & Stegun 7.1.26): WGSL has no erf.
export const ERF = `fn erf_(x: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-x * x);
  return select(-y, y, x >= 0.0);
}`;
export const UNARY: Record<string, string> = {
  Relu: 'max(x, 0.0)',
  Neg: '-x',
  Abs: 'abs(x)',
  Sqrt: 'sqrt(x)',
  Exp: 'exp(x)',
  Log: 'log(x)',
  Reciprocal: '1.0 / x',
  Sigmoid: '1.0 / (1.0 + exp(-x))',
  Tanh: 'tanh(x)',
  Erf: 'erf_(x)',
  Ceil: 'ceil(x)',
  Floor: 'floor(x)',
  Sin: 'sin(x)',
  Cos: 'cos(x)',
  Sign: 'sign(x)',
  LeakyRelu: 'select(alpha * x, x, x >= 0.0)',
  Gelu: '0.5 * x * (1.0 + erf_(x * 0.70710678))',
  Identity: 'x',
};
/** Binary ops as expressions of operands v0, v1 (f32 locals; the broadcasting program's names). */
export const BINARY: Record<string, string> = {
  Add: 'v0 + v1',
  Sub: 'v0 - v1',
  Mul: 'v0 * v1',
  Div: 'v0 / v1',
  Pow: 'pow_(v0, v1)',
  Max: 'max(v0, v1)',
  Min: 'min(v0, v1)',
};
// WGSL pow is exp2(b·log2(a)): NaN for a < 0. ONNX Pow of a negative base with an integer exponent is real.
export const POW = `fn pow_(a: f32, b: f32) -> f32 {
  if (a >= 0.0 || b != floor(b)) { return pow(a, b); }
  let r = pow(-a, b);
  return select(r, -r, (abs(b) % 2.0) == 1.0);
}`;

export const unary =
  (op: string): GpuKernel =>
  (node, [x], ctx) => {
    if (!isFloatTensor(x) || (op === 'Gelu' && node.attrString('approximate', 'none') !== 'none')) return undefined;
    const n = numel(x!.dims);
    const alpha = node.attrFloat('alpha', 0.01);
    const T = ctx.type(x!.dtype);
    const p = new Params().u32('count', n).f32('alpha', alpha);
    return {
      key: `unary:${op}:${x!.dtype}`,
      inputs: [x!],
      outputs: [{ dtype: x!.dtype, dims: [...x!.dims] }],
      meta: p.meta,
      groups: ctx.groups(n),
      wgsl: () => `${ctx.bindings([x!.dtype], [x!.dtype])}\n${ERF}${ctx.prologue('count', p)}
  let x = f32(in0[i]);
  out0[i] = ${T}(${UNARY[op]});
}`,
    };
  };

export const binary =
  (op: string): GpuKernel =>
  (node, [a, b], ctx) => {
    // Variadic Max/Min/Sum forms with other than two inputs run on the CPU.
    if (node.inputs.filter(Boolean).length !== 2 || !isFloatTensor(a) || !isFloatTensor(b) || a!.dtype !== b!.dtype)
      return undefined;
    return broadcastOp(ctx, `binary:${op}`, node, [a!, b!], a!.dtype, BINARY[op], POW);
  };

/**
 * f32 → f16 bit-exactly, like src/core/half.ts: round to nearest even, ±Inf past the range, NaN kept NaN.
 * (A plain f16(x) conversion is indeterminate for out-of-range values in WGSL.) The half bits are turned into
 * an f16 through bitcast<vec2<f16>>, which Dawn accepts; with emulated fp16 storage, q16 does the same in f32.
 */
export const TO_HALF = `${HALF_BITS}
fn to_half(x: f32) -> f16 { return bitcast<vec2<f16>>(half_bits(x))[0]; }`;

export const cast: GpuKernel = (node, [x], ctx) => {
  const to = node.attrInt('to', 0);
  if (x && (x.dtype === DataType.BOOL || to === DataType.BOOL)) return castBool(ctx, node, x, to);
  if (!isFloatTensor(x) || (to !== DataType.FLOAT && to !== DataType.FLOAT16 && to !== DataType.BFLOAT16))
    return undefined;
  const n = numel(x!.dims);
  const p = new Params().u32('count', n);
  // Into fp16 from f32 storage (f32, bf16): bit-exact rounding; into bf16: qb16; into f32: exact.
  const toHalf = to === DataType.FLOAT16 && x!.dtype !== DataType.FLOAT16,
    emu = ctx.halfEmulated;
  const conv = toHalf ? (emu ? 'q16(f32(in0[i]))' : 'to_half(f32(in0[i]))') : `${ctx.type(to)}(f32(in0[i]))`;
  return {
    key: `cast:${x!.dtype}:${to}`,
    inputs: [x!],
    outputs: [{ dtype: to, dims: [...x!.dims] }],
    meta: p.meta,
    groups: ctx.groups(n),
    wgsl: () => `${ctx.bindings([x!.dtype], [to])}\n${toHalf && !emu ? TO_HALF : ''}${ctx.prologue('count', p)}
  out0[i] = ${conv};
}`,
  };
};

/** Expand: x broadcast to the shape given (an int64 input on the CPU), numpy-style. */
export const expand: GpuKernel = (node, [x], ctx, cpu) => {
  const shape = cpu?.[1];
  if (!isFloatTensor(x) || !shape) return undefined;
  const out = broadcastShape([x!.dims, Array.from(shape.data as ArrayLike<number | bigint>, Number)], node);
  if (out.length > 6) return undefined;
  const n = numel(out),
    T = ctx.type(x!.dtype);
  const p = new Params()
    .u32('count', n)
    .u32('rank', out.length)
    .array('shape', out, 6, 1)
    .array('strideA', bstrides(x!.dims, out), 6);
  return {
    key: `expand:${x!.dtype}`,
    inputs: [x!],
    outputs: [{ dtype: x!.dtype, dims: out }],
    meta: p.meta,
    groups: ctx.groups(n),
    wgsl: () => `${ctx.bindings([x!.dtype], [x!.dtype])}${ctx.prologue('count', p)}
  ${stridedOffsets('shape', 'rank', { oa: 'strideA' })}
  out0[i] = ${T}(f32(in0[oa]));
}`,
  };
};

/**
 * Slice (starts/ends/axes/steps from the CPU inputs, or attributes before ctx.opset 10; geometry shared with the CPU
 * kernel): a strided copy. Negative steps make per-axis strides negative; u32 arithmetic wraps them exactly.
 */
export const slice: GpuKernel = (node, [x], ctx, cpu = []) => {
  if (!isFloatTensor(x) || x!.dims.length > 6 || (node.inputs.length > 1 && !cpu[1])) return undefined;
  const a = sliceArgs(node, cpu.slice(1));
  const { st, sp, out } = sliceGeometry(x!.dims, a.starts, a.ends, a.axes, a.steps);
  const n = numel(out),
    T = ctx.type(x!.dtype),
    ist = bstrides(x!.dims, x!.dims);
  const base = st.reduce((acc, s0, i) => acc + s0 * ist[i], 0);
  const p = new Params()
    .u32('count', n)
    .u32('rank', out.length)
    .u32('base', base)
    .array('shape', out, 6, 1)
    .array(
      'strideA',
      sp.map((v, i) => (v * ist[i]) >>> 0),
      6,
    );
  return {
    key: `slice:${x!.dtype}`,
    inputs: [x!],
    outputs: [{ dtype: x!.dtype, dims: out }],
    meta: p.meta,
    groups: ctx.groups(n),
    wgsl: () => `${ctx.bindings([x!.dtype], [x!.dtype])}${ctx.prologue('count', p)}
  ${stridedOffsets('shape', 'rank', { oa: 'strideA' })}
  out0[i] = ${T}(f32(in0[base + oa]));
}`,
  };
};

export const elementwiseKernels: Record<string, GpuKernel> = {
  ...Object.fromEntries(Object.keys(UNARY).map((k) => [k, unary(k)])),
  ...Object.fromEntries(Object.keys(BINARY).map((k) => [k, binary(k)])),
  Cast: cast,
  Expand: expand,
  Slice: slice,
};
