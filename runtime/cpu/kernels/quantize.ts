/**
 * QuantizeLinear / DequantizeLinear (per tensor, per axis, blocked) and DynamicQuantizeLinear, for the integer
 * types (uint8, int8, uint16, int16, int32); quantization rounds half to even and saturates, as the spec says.
 */
import type { Kernel } from './types.js';
import { num, make, size, normAxis } from '../util.js';
import { DataType, dtypeName } from '../../../src/core/dtype.js';
import type { RTensor } from '../../../src/ir/rtensor.js';
import type { Node } from '../../../src/ir/graph.js';
import { AmpError } from '../../../src/core/errors.js';
import { isFloat8, float8Table, toFloat8 } from '../../../src/core/float8.js';

const RANGE: Record<number, [number, number]> = {
  [DataType.UINT8]: [0, 255],
  [DataType.INT8]: [-128, 127],
  [DataType.UINT16]: [0, 65535],
  [DataType.INT16]: [-32768, 32767],
  [DataType.INT32]: [-(2 ** 31), 2 ** 31 - 1],
};
const roundEven = (v: number) => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : r;
};

/** For element i: the index of its scale / zero point (scalar, per `axis`, or per block along `axis`). */
function paramIndex(node: Node, x: RTensor, scale: RTensor): (i: number) => number {
  if (size(scale.dims) === 1 && scale.dims.length <= 1) return () => 0;
  const r = x.dims.length,
    axis = normAxis(node.attrInt('axis', 1), r),
    block = node.attrInt('block_size', 0);
  const d = x.dims[axis],
    inner = size(x.dims.slice(axis + 1));
  if (!block) return (i) => Math.floor(i / inner) % d;
  // Blocked: scale has x's shape with dims[axis] / block_size along axis.
  const sd = scale.dims[axis],
    outerStride = d * inner;
  return (i) => {
    const o = Math.floor(i / outerStride),
      j = Math.floor(i / inner) % d,
      k = i % inner;
    return (o * sd + Math.floor(j / block)) * inner + k;
  };
}

/** QuantizeLinear to a float8 type: x / scale (+ zero point) rounded to nearest even, saturated unless saturate=0. */
function quantizeFloat8(node: Node, X: RTensor, scale: RTensor, zp: RTensor | undefined, to: number): RTensor {
  const x = num(X),
    s = num(scale),
    at = paramIndex(node, X, scale),
    sat = node.attrInt('saturate', 1) === 1;
  const tab = float8Table(to),
    zb = zp ? (zp.data as Uint8Array) : undefined;
  const bits = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++)
    bits[i] = toFloat8(x[i] / s[at(i)] + (zb ? tab[zb[at(i)]] : 0), to, sat, 'nearest');
  return { dtype: to, dims: [...X.dims], data: bits };
}

export const quantizeKernels: Record<string, Kernel> = {
  QuantizeLinear: (node, [X, scale, zp]) => {
    const to = zp ? zp.dtype : node.attrInt('output_dtype', 0) || DataType.UINT8;
    if (isFloat8(to)) return [quantizeFloat8(node, X!, scale!, zp, to)];
    const range = RANGE[to];
    if (!range)
      throw new AmpError(`${node.label}: QuantizeLinear to ${dtypeName(to)} is not supported by the CPU executor`);
    const x = num(X!),
      s = num(scale!),
      z = zp ? num(zp) : undefined,
      at = paramIndex(node, X!, scale!);
    const out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const k = at(i);
      // x / scale in float32 (the spec computes in x's type): a quotient that is a tie in f32 rounds as one.
      out[i] = Math.min(range[1], Math.max(range[0], roundEven(Math.fround(x[i] / s[k])) + (z ? z[k] : 0)));
    }
    return [make(to, [...X!.dims], out)];
  },
  DequantizeLinear: (node, [X, scale, zp]) => {
    if (isFloat8(X!.dtype)) {
      const tab = float8Table(X!.dtype),
        bits = X!.data as Uint8Array,
        s = num(scale!),
        at = paramIndex(node, X!, scale!);
      const zb = zp ? (zp.data as Uint8Array) : undefined;
      const out = Float64Array.from(bits, (b, i) => (tab[b] - (zb ? tab[zb[at(i)]] : 0)) * s[at(i)]);
      return [make(node.attrInt('output_dtype', 0) || scale!.dtype, [...X!.dims], out)];
    }
    if (!RANGE[X!.dtype])
      throw new AmpError(
        `${node.label}: DequantizeLinear from ${dtypeName(X!.dtype)} is not supported by the CPU executor`,
      );
    const x = num(X!),
      s = num(scale!),
      z = zp ? num(zp) : undefined,
      at = paramIndex(node, X!, scale!);
    const out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const k = at(i);
      out[i] = (x[i] - (z ? z[k] : 0)) * s[k];
    }
    return [make(node.attrInt('output_dtype', 0) || scale!.dtype, [...X!.dims], out)];
  },
  DynamicQuantizeLinear: (_n, [X]) => {
    const x = num(X!);
    let lo = 0,
      hi = 0;
    for (let i = 0; i < x.length; i++) {
      lo = Math.min(lo, x[i]);
      hi = Math.max(hi, x[i]);
    }
    // float32 arithmetic throughout, as the spec's function body computes it: ties round the same way.
    const scale = Math.fround(Math.fround(hi - lo) / 255);
    const zp = scale === 0 ? 0 : Math.min(255, Math.max(0, roundEven(Math.fround(-lo / scale))));
    const out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++)
      out[i] = scale === 0 ? zp : Math.min(255, Math.max(0, roundEven(Math.fround(x[i] / scale)) + zp));
    return [make(DataType.UINT8, [...X!.dims], out), make(DataType.FLOAT, [], [scale]), make(DataType.UINT8, [], [zp])];
  },
};
