/** Elementwise binary / variadic ops with numpy broadcasting; comparisons produce BOOL. */
import type { Kernel } from './types.js';
import { num, make, broadcastShape, broadcastIndex, size, emptyLike } from '../util.js';
import { DataType } from '../../../src/ir/dtype.js';
import type { RTensor } from '../../../src/core/tensor.js';
import type { Node } from '../../../src/ir/graph.js';

type F = (a: number, b: number, n: Node, dtype: number) => number;
const isInt = (dt: number) => dt !== DataType.FLOAT && dt !== DataType.FLOAT16 && dt !== DataType.BFLOAT16 && dt !== DataType.DOUBLE;

const arith: Record<string, F> = {
  Add: (a, b) => a + b, Sub: (a, b) => a - b, Mul: (a, b) => a * b,
  Div: (a, b, _n, dt) => (isInt(dt) ? Math.trunc(a / b) : a / b),
  Pow: (a, b) => a ** b,
  Max: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  Min: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
  Sum: (a, b) => a + b,
  Mod: (a, b, n, dt) => {
    if (n.attrInt('fmod', 0) || !isInt(dt)) return a % b;
    const m = a % b;
    return m !== 0 && (m < 0) !== (b < 0) ? m + b : m;
  },
  PRelu: (x, slope) => (x < 0 ? slope * x : x),
  BitShift: (a, b, n) => (n.attrString('direction', 'LEFT') === 'LEFT' ? a * 2 ** b : Math.floor(a / 2 ** b)),
};
const compare: Record<string, (a: number, b: number) => boolean> = {
  Equal: (a, b) => a === b, Greater: (a, b) => a > b, Less: (a, b) => a < b,
  GreaterOrEqual: (a, b) => a >= b, LessOrEqual: (a, b) => a <= b,
  And: (a, b) => !!a && !!b, Or: (a, b) => !!a || !!b, Xor: (a, b) => !!a !== !!b,
};

/** Applies f pairwise over broadcast inputs (left fold for variadic ops). */
function fold(node: Node, inputs: RTensor[], f: (a: number, b: number) => number, outType: number): RTensor {
  const dims = broadcastShape(inputs.map((t) => t.dims), node);
  const n = size(dims);
  if (inputs.length === 2) {
    // Common cases without index tables: same shape, or a scalar on either side.
    const [a, b] = [num(inputs[0]), num(inputs[1])];
    const out = new Float64Array(n);
    if (a.length === n && b.length === n) { for (let i = 0; i < n; i++) out[i] = f(a[i], b[i]); return make(outType, dims, out); }
    if (a.length === n && b.length === 1) { const y = b[0]; for (let i = 0; i < n; i++) out[i] = f(a[i], y); return make(outType, dims, out); }
    if (a.length === 1 && b.length === n) { const x = a[0]; for (let i = 0; i < n; i++) out[i] = f(x, b[i]); return make(outType, dims, out); }
  }
  let acc = new Float64Array(n);
  const first = num(inputs[0]);
  const i0 = broadcastIndex(inputs[0].dims, dims);
  for (let i = 0; i < n; i++) acc[i] = first[i0[i]];
  for (const t of inputs.slice(1)) {
    const v = num(t);
    const ix = broadcastIndex(t.dims, dims);
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) next[i] = f(acc[i], v[ix[i]]);
    acc = next;
  }
  return make(outType, dims, acc);
}

function stringEqual(node: Node, [a, b]: RTensor[]): RTensor {
  const dims = broadcastShape([a.dims, b.dims], node);
  const ia = broadcastIndex(a.dims, dims), ib = broadcastIndex(b.dims, dims);
  const out = new Uint8Array(size(dims));
  for (let i = 0; i < out.length; i++) out[i] = (a.data as string[])[ia[i]] === (b.data as string[])[ib[i]] ? 1 : 0;
  return { dtype: DataType.BOOL, dims, data: out };
}

export const binaryKernels: Record<string, Kernel> = {
  ...Object.fromEntries(Object.entries(arith).map(([k, f]) => [k, ((node, ins) => {
    const ts = ins.filter((t): t is RTensor => !!t);
    return [fold(node, ts, (a, b) => f(a, b, node, ts[0].dtype), ts[0].dtype)];
  }) as Kernel])),
  Mean: (node, ins) => {
    const ts = ins.filter((t): t is RTensor => !!t);
    const s = fold(node, ts, (a, b) => a + b, DataType.DOUBLE);
    const v = s.data as Float64Array;
    for (let i = 0; i < v.length; i++) v[i] /= ts.length;
    return [make(ts[0].dtype, s.dims, v)];
  },
  ...Object.fromEntries(Object.entries(compare).map(([k, f]) => [k, ((node, [a, b]) =>
    (a!.dtype === DataType.STRING ? [stringEqual(node, [a!, b!])] : [fold(node, [a!, b!], (x, y) => (f(x, y) ? 1 : 0), DataType.BOOL)])) as Kernel])),
  Where: (node, [c, x, y]) => {
    const dims = broadcastShape([c!.dims, x!.dims, y!.dims], node);
    const n = size(dims);
    const ic = broadcastIndex(c!.dims, dims), ix = broadcastIndex(x!.dims, dims), iy = broadcastIndex(y!.dims, dims);
    const cd = c!.data as Uint8Array;
    const xd = x!.data as ArrayLike<unknown>, yd = y!.data as ArrayLike<unknown>;
    const out = emptyLike(x!.dtype, n) as unknown[];
    for (let i = 0; i < n; i++) out[i] = cd[ic[i]] ? xd[ix[i]] : yd[iy[i]];
    return [{ dtype: x!.dtype, dims, data: out as never }];
  },
};
