/**
 * Reductions (axes from the attribute or, since opset 13/18, the second input; noop_with_empty_axes),
 * ArgMax/ArgMin, Softmax/LogSoftmax/Hardmax (opset ≥ 13 semantics: one axis; older: coerced to 2-D at axis).
 */
import type { Kernel } from './types.js';
import { num, make, size, ints, normAxis, outBuf } from '../util.js';
import { roundF16 } from '../../../src/core/half.js';
import { DataType } from '../../../src/core/dtype.js';
import type { RTensor } from '../../../src/ir/rtensor.js';
import type { Node } from '../../../src/ir/graph.js';

/** Splits dims into (outer, reduced, inner) index maps for a set of axes. */
export function reduceLayout(
  dims: number[],
  axes: number[],
): { outDims: number[]; groups: Int32Array[]; outSize: number } {
  const r = dims.length;
  const ax = new Set(axes.map((a) => normAxis(a, r)));
  const outDims = dims.map((d, i) => (ax.has(i) ? 1 : d));
  const outSize = size(outDims);
  const n = size(dims);
  const counts = new Int32Array(outSize);
  const target = new Int32Array(n);
  const ost = new Array<number>(r);
  let acc = 1;
  for (let i = r - 1; i >= 0; i--) {
    ost[i] = acc;
    acc *= outDims[i];
  }
  const cnt = new Array<number>(r).fill(0);
  for (let i = 0; i < n; i++) {
    let o = 0;
    for (let a = 0; a < r; a++) if (!ax.has(a)) o += cnt[a] * ost[a];
    target[i] = o;
    counts[o]++;
    for (let a = r - 1; a >= 0; a--) {
      if (++cnt[a] < dims[a]) break;
      cnt[a] = 0;
    }
  }
  const groups = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(outSize);
  for (let i = 0; i < n; i++) groups[target[i]][fill[target[i]]++] = i;
  return { outDims, groups, outSize };
}

type Red = {
  init: number;
  step: (acc: number, v: number) => number;
  fin?: (acc: number, count: number) => number;
  pre?: (v: number) => number;
};
const reducers: Record<string, Red> = {
  ReduceSum: { init: 0, step: (a, v) => a + v },
  ReduceMean: { init: 0, step: (a, v) => a + v, fin: (a, c) => a / c },
  ReduceMax: { init: -Infinity, step: (a, v) => (v > a || Number.isNaN(v) ? v : a) },
  ReduceMin: { init: Infinity, step: (a, v) => (v < a || Number.isNaN(v) ? v : a) },
  ReduceProd: { init: 1, step: (a, v) => a * v },
  ReduceL1: { init: 0, step: (a, v) => a + Math.abs(v) },
  ReduceL2: { init: 0, step: (a, v) => a + v * v, fin: (a) => Math.sqrt(a) },
  ReduceSumSquare: { init: 0, step: (a, v) => a + v * v },
  ReduceLogSum: { init: 0, step: (a, v) => a + v, fin: (a) => Math.log(a) },
  ReduceLogSumExp: { init: 0, step: (a, v) => a + Math.exp(v), fin: (a) => Math.log(a) },
};
const SUMLIKE = new Set([
  'ReduceSum',
  'ReduceMean',
  'ReduceL1',
  'ReduceL2',
  'ReduceSumSquare',
  'ReduceLogSum',
  'ReduceLogSumExp',
]);

function axesOf(node: Node, axesInput: RTensor | undefined, rank: number): number[] | undefined {
  const a = axesInput ? ints(axesInput) : node.attrInts('axes');
  if (a && a.length) return a;
  if (node.attrInt('noop_with_empty_axes', 0) === 1) return undefined;
  return Array.from({ length: rank }, (_, i) => i);
}

function reduce(op: string): Kernel {
  const R = reducers[op];
  return (node, [X, axesIn], ctx) => {
    const x = num(X!);
    const rank = X!.dims.length;
    const axes = axesOf(node, axesIn, rank);
    if (!axes) return [X!];
    const { outDims, groups, outSize } = reduceLayout(X!.dims, axes);
    const out = new Float64Array(outSize);
    const acc16 = ctx.fp16Accumulate && SUMLIKE.has(op);
    for (let o = 0; o < outSize; o++) {
      let a = R.init;
      for (const i of groups[o]) a = acc16 ? roundF16(R.step(a, x[i])) : R.step(a, x[i]);
      out[o] = R.fin ? R.fin(a, groups[o].length) : a;
      if (groups[o].length === 0 && (op === 'ReduceMax' || op === 'ReduceMin'))
        out[o] = op === 'ReduceMax' ? -Infinity : Infinity;
    }
    const keep = node.attrInt('keepdims', 1) === 1;
    const ax = new Set(axes.map((a) => normAxis(a, rank)));
    return [make(X!.dtype, keep ? outDims : X!.dims.filter((_, i) => !ax.has(i)), out)];
  };
}

function arg(kind: 'max' | 'min'): Kernel {
  return (node, [X]) => {
    const x = num(X!);
    const rank = X!.dims.length;
    const axis = normAxis(node.attrInt('axis', 0), rank);
    const last = node.attrInt('select_last_index', 0) === 1;
    const { outDims, groups, outSize } = reduceLayout(X!.dims, [axis]);
    const out = new Float64Array(outSize);
    for (let o = 0; o < outSize; o++) {
      let best = 0;
      const g = groups[o];
      for (let j = 1; j < g.length; j++) {
        const v = x[g[j]],
          b = x[g[best]];
        if (kind === 'max' ? v > b || (last && v === b) : v < b || (last && v === b)) best = j;
      }
      out[o] = best;
    }
    const keep = node.attrInt('keepdims', 1) === 1;
    return [make(DataType.INT64, keep ? outDims : X!.dims.filter((_, i) => i !== axis), out)];
  };
}

function softmaxLike(kind: 'softmax' | 'log' | 'hard'): Kernel {
  return (node, [X], ctx) => {
    const x = num(X!);
    const rank = X!.dims.length;
    const axis = normAxis(node.attrInt('axis', ctx.opset >= 13 ? -1 : 1), rank);
    // Before opset 13 the input is coerced to 2-D [prod(dims[:axis]), prod(dims[axis:])].
    const inner = ctx.opset >= 13 ? X!.dims[axis] : size(X!.dims.slice(axis));
    const stride = ctx.opset >= 13 ? size(X!.dims.slice(axis + 1)) : 1;
    const outer = x.length / (inner * stride);
    const out = outBuf(X!.dtype, x.length); // f32 for float types: the rounding make() does next anyway
    for (let o = 0; o < outer; o++)
      for (let s = 0; s < stride; s++) {
        const base = o * inner * stride + s;
        let mx = -Infinity,
          arg = 0;
        for (let i = 0; i < inner; i++) {
          const v = x[base + i * stride];
          if (v > mx) {
            mx = v;
            arg = i;
          }
        }
        if (kind === 'hard') {
          for (let i = 0; i < inner; i++) out[base + i * stride] = i === arg ? 1 : 0;
          continue;
        }
        let sum = 0;
        for (let i = 0; i < inner; i++) sum += Math.exp(x[base + i * stride] - mx);
        for (let i = 0; i < inner; i++) {
          const v = x[base + i * stride] - mx;
          out[base + i * stride] = kind === 'log' ? v - Math.log(sum) : Math.exp(v) / sum;
        }
      }
    return [make(X!.dtype, [...X!.dims], out)];
  };
}

export const reduceKernels: Record<string, Kernel> = {
  ...Object.fromEntries(Object.keys(reducers).map((k) => [k, reduce(k)])),
  ArgMax: arg('max'),
  ArgMin: arg('min'),
  Softmax: softmaxLike('softmax'),
  LogSoftmax: softmaxLike('log'),
  Hardmax: softmaxLike('hard'),
};
