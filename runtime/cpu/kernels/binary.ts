/** Elementwise binary / variadic ops with numpy broadcasting; comparisons produce BOOL. */
import type { Kernel } from './types.js';
import { num, make, outBuf, broadcastShape, broadcastIndex, size, emptyLike } from '../util.js';
import { binaryLoop, broadcastBlock, type BinaryLoop } from '../loops.js';
import { DataType } from '../../../src/core/dtype.js';
import { binaryF32, wasmBinaryOps, wasmFloat } from '../wasm/index.js';
import type { RTensor } from '../../../src/ir/rtensor.js';
import type { Node } from '../../../src/ir/graph.js';

type F = (a: number, b: number, n: Node, dtype: number) => number;
/** Elements from which float arithmetic goes to the wasm loop (below, the call costs more than it saves). */
const WASM_ELEMS = 4096;
const isInt = (dt: number) =>
  dt !== DataType.FLOAT && dt !== DataType.FLOAT16 && dt !== DataType.BFLOAT16 && dt !== DataType.DOUBLE;

const arith: Record<string, F> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b, _n, dt) => (isInt(dt) ? Math.trunc(a / b) : a / b),
  Pow: (a, b) => a ** b,
  Max: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  Min: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
  Sum: (a, b) => a + b,
  Mod: (a, b, n, dt) => {
    if (n.attrInt('fmod', 0) || !isInt(dt)) return a % b;
    const m = a % b;
    return m !== 0 && m < 0 !== b < 0 ? m + b : m;
  },
  PRelu: (x, slope) => (x < 0 ? slope * x : x),
  BitShift: (a, b, n) => (n.attrString('direction', 'LEFT') === 'LEFT' ? a * 2 ** b : Math.floor(a / 2 ** b)),
};
/** Float-only forms of ops whose general form depends on the dtype (integer Div truncates). */
const floatForm: Record<string, (a: number, b: number) => number> = { Div: (a, b) => a / b };
const compare: Record<string, (a: number, b: number) => boolean> = {
  Equal: (a, b) => a === b,
  Greater: (a, b) => a > b,
  Less: (a, b) => a < b,
  GreaterOrEqual: (a, b) => a >= b,
  LessOrEqual: (a, b) => a <= b,
  And: (a, b) => !!a && !!b,
  Or: (a, b) => !!a || !!b,
  Xor: (a, b) => !!a !== !!b,
};

/** One specialized loop per op and operand order (see ../loops.ts), made on first use. */
interface Loops {
  fwd: BinaryLoop;
  rev: BinaryLoop;
}
const loopCache = new WeakMap<object, Loops>();
function loopsFor(key: object, f: (a: number, b: number) => number): Loops {
  let l = loopCache.get(key);
  if (!l) loopCache.set(key, (l = { fwd: binaryLoop(f), rev: binaryLoop((x, y) => f(y, x)) }));
  return l;
}

/**
 * Applies f pairwise over broadcast inputs (left fold for variadic ops). Two inputs where one is full-size
 * and the other varies along one block of axes (same shape, scalar, bias, per-channel) run a specialized
 * loop without index tables, writing each element once.
 */
function fold(
  node: Node,
  inputs: RTensor[],
  f: (a: number, b: number) => number,
  outType: number,
  key?: object,
): RTensor {
  const dims = broadcastShape(
    inputs.map((t) => t.dims),
    node,
  );
  const n = size(dims);
  if (inputs.length === 2 && key) {
    const [x, y] = inputs;
    const bb = x.data.length === n ? broadcastBlock(y.dims, dims) : undefined;
    const ab = !bb && y.data.length === n ? broadcastBlock(x.dims, dims) : undefined;
    // Large float Add/Sub/Mul/Div: the wasm SIMD loop (fp16 decoded and rounded there, no JS temporaries).
    if (
      (bb || ab) &&
      n >= WASM_ELEMS &&
      wasmBinaryOps.has(node.opType) &&
      wasmFloat(x.dtype) &&
      wasmFloat(y.dtype) &&
      wasmFloat(outType)
    ) {
      const [o, i, l] = (bb ?? ab)!;
      return {
        dtype: outType,
        dims,
        data: bb
          ? binaryF32(node.opType, x, y, o, i, l, false, outType)
          : binaryF32(node.opType, y, x, o, i, l, true, outType),
      };
    }
    const [a, b] = [num(x), num(y)];
    if (bb || ab) {
      const out = outBuf(outType, n);
      const l = loopsFor(key, f);
      if (bb) l.fwd(a, b, out, bb[0], bb[1], bb[2]);
      else l.rev(b, a, out, ab![0], ab![1], ab![2]);
      return make(outType, dims, out);
    }
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

const cmp01Cache = new WeakMap<object, (a: number, b: number) => number>();
/** The 0/1 form of a comparison, one function per comparison (so its loop stays specialized). */
function cmp01(f: (a: number, b: number) => boolean): (a: number, b: number) => number {
  let g = cmp01Cache.get(f);
  if (!g) cmp01Cache.set(f, (g = (x, y) => (f(x, y) ? 1 : 0)));
  return g;
}

function stringEqual(node: Node, [a, b]: RTensor[]): RTensor {
  const dims = broadcastShape([a.dims, b.dims], node);
  const ia = broadcastIndex(a.dims, dims),
    ib = broadcastIndex(b.dims, dims);
  const out = new Uint8Array(size(dims));
  for (let i = 0; i < out.length; i++) out[i] = (a.data as string[])[ia[i]] === (b.data as string[])[ib[i]] ? 1 : 0;
  return { dtype: DataType.BOOL, dims, data: out };
}

export const binaryKernels: Record<string, Kernel> = {
  ...Object.fromEntries(
    Object.entries(arith).map(([k, f]) => [
      k,
      ((node, ins) => {
        const ts = ins.filter((t): t is RTensor => !!t);
        // Ops whose result does not depend on the node or the dtype share one loop; the others fold generically.
        const g =
          f.length <= 2 ? (f as (a: number, b: number) => number) : !isInt(ts[0].dtype) ? floatForm[k] : undefined;
        return [fold(node, ts, g ?? ((a, b) => f(a, b, node, ts[0].dtype)), ts[0].dtype, g)];
      }) as Kernel,
    ]),
  ),
  Mean: (node, ins) => {
    const ts = ins.filter((t): t is RTensor => !!t);
    const s = fold(node, ts, (a, b) => a + b, DataType.DOUBLE);
    const v = s.data as Float64Array;
    for (let i = 0; i < v.length; i++) v[i] /= ts.length;
    return [make(ts[0].dtype, s.dims, v)];
  },
  ...Object.fromEntries(
    Object.entries(compare).map(([k, f]) => [
      k,
      ((node, [a, b]) =>
        a!.dtype === DataType.STRING
          ? [stringEqual(node, [a!, b!])]
          : [fold(node, [a!, b!], cmp01(f), DataType.BOOL, f)]) as Kernel,
    ]),
  ),
  Where: (node, [c, x, y]) => {
    const dims = broadcastShape([c!.dims, x!.dims, y!.dims], node);
    const n = size(dims);
    const ic = broadcastIndex(c!.dims, dims),
      ix = broadcastIndex(x!.dims, dims),
      iy = broadcastIndex(y!.dims, dims);
    const cd = c!.data as Uint8Array;
    const xd = x!.data as ArrayLike<unknown>,
      yd = y!.data as ArrayLike<unknown>;
    const out = emptyLike(x!.dtype, n) as unknown[];
    for (let i = 0; i < n; i++) out[i] = cd[ic[i]] ? xd[ix[i]] : yd[iy[i]];
    return [{ dtype: x!.dtype, dims, data: out as never }];
  },
};
