/** Elementwise unary ops: one table entry per op; output has the input's type unless noted. */
import type { Kernel } from './types.js';
import { num, make, outBuf } from '../util.js';
import { unaryLoop } from '../loops.js';
import { DataType, type TypedArray } from '../../../src/core/dtype.js';
import type { RTensor } from '../../../src/ir/rtensor.js';
import { reluF32, erfF32, wasmFloat } from '../wasm/index.js';
import type { Node } from '../../../src/ir/graph.js';

// Maclaurin coefficients of erf(x)/x in x²: 2/√π · (−1)ⁿ / (n! (2n+1)), n = 0..9.
const ERF_C = Array.from(
  { length: 10 },
  (_, n) =>
    ((2 / Math.sqrt(Math.PI)) * (-1) ** n) / ([...Array(n).keys()].reduce((p, k) => p * (k + 1), 1) * (2 * n + 1)),
);
const [E0, E1, E2, E3, E4, E5, E6, E7, E8, E9] = ERF_C;

// erf with ~1e-7 relative accuracy (Math has none): series near 0, Chebyshev-fitted erfc elsewhere.
export function erf(x: number): number {
  const s = Math.sign(x),
    a = Math.abs(x);
  if (a < 0.5) {
    // Maclaurin series to x¹⁹ in Horner form: the next term is < 1e-12 of the sum for |x| < 0.5.
    const z = a * a;
    return (
      s * a * (E0 + z * (E1 + z * (E2 + z * (E3 + z * (E4 + z * (E5 + z * (E6 + z * (E7 + z * (E8 + z * E9)))))))))
    );
  }
  // erfc by the Chebyshev fit of Numerical Recipes (fractional error < 1.2e-7) for a ≥ 0.5
  const t = 1 / (1 + 0.5 * a);
  const y =
    t *
    Math.exp(
      -a * a -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return s * (1 - y);
}

type F = (x: number, n: Node) => number;
/** Ops with a wasm SIMD loop for large float tensors (Relu: same results; Erf: the same formula in f32, within 3 ulp). */
const WASM_UNARY: Record<string, (x: RTensor, outType: number) => TypedArray> = { Relu: reluF32, Erf: erfF32 };
const WASM_ELEMS = 4096;
const table: Record<string, F> = {
  Abs: Math.abs,
  Neg: (x) => -x,
  Sqrt: Math.sqrt,
  Exp: Math.exp,
  Log: Math.log,
  Reciprocal: (x) => 1 / x,
  Relu: (x) => (x > 0 ? x : 0),
  Sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  Tanh: Math.tanh,
  Erf: erf,
  Ceil: Math.ceil,
  Floor: Math.floor,
  Round: (x) => {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
  },
  Sin: Math.sin,
  Cos: Math.cos,
  Tan: Math.tan,
  Asin: Math.asin,
  Acos: Math.acos,
  Atan: Math.atan,
  Sinh: Math.sinh,
  Cosh: Math.cosh,
  Asinh: Math.asinh,
  Acosh: Math.acosh,
  Atanh: Math.atanh,
  Sign: (x) => Math.sign(x),
  Softplus: (x) => (x > 20 ? x : Math.log1p(Math.exp(x))),
  Softsign: (x) => x / (1 + Math.abs(x)),
  LeakyRelu: (x, n) => (x >= 0 ? x : n.attrFloat('alpha', 0.01) * x),
  Elu: (x, n) => (x >= 0 ? x : n.attrFloat('alpha', 1) * (Math.exp(x) - 1)),
  Celu: (x, n) => {
    const a = n.attrFloat('alpha', 1);
    return Math.max(0, x) + Math.min(0, a * (Math.exp(x / a) - 1));
  },
  Selu: (x, n) =>
    n.attrFloat('gamma', 1.0507009873554805) *
    (x > 0 ? x : n.attrFloat('alpha', 1.6732632423543772) * (Math.exp(x) - 1)),
  HardSigmoid: (x, n) => Math.max(0, Math.min(1, n.attrFloat('alpha', 0.2) * x + n.attrFloat('beta', 0.5))),
  HardSwish: (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5)),
  Swish: (x, n) => x / (1 + Math.exp(-n.attrFloat('alpha', 1) * x)),
  Mish: (x) => x * Math.tanh(x > 20 ? x : Math.log1p(Math.exp(x))),
  ThresholdedRelu: (x, n) => (x > n.attrFloat('alpha', 1) ? x : 0),
  Shrink: (x, n) => {
    const l = n.attrFloat('lambd', 0.5),
      b = n.attrFloat('bias', 0);
    return x < -l ? x + b : x > l ? x - b : 0;
  },
  Gelu: (x, n) =>
    n.attrString('approximate', 'none') === 'tanh'
      ? 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)))
      : 0.5 * x * (1 + erf(x / Math.SQRT2)),
};

function unary(f: F, wasm?: (x: RTensor, outType: number) => TypedArray): Kernel {
  const loop = unaryLoop(f);
  return (node, [x]) => {
    if (wasm && x!.data.length >= WASM_ELEMS && wasmFloat(x!.dtype))
      return [{ dtype: x!.dtype, dims: [...x!.dims], data: wasm(x!, x!.dtype) }];
    const v = num(x!);
    const out = outBuf(x!.dtype, v.length);
    loop(v, out, node);
    return [make(x!.dtype, [...x!.dims], out)];
  };
}

const bool =
  (f: (x: number) => boolean): Kernel =>
  (_n, [x]) => {
    const v = num(x!);
    const out = new Uint8Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = f(v[i]) ? 1 : 0;
    return [{ dtype: DataType.BOOL, dims: [...x!.dims], data: out }];
  };

export const unaryKernels: Record<string, Kernel> = {
  ...Object.fromEntries(Object.entries(table).map(([k, f]) => [k, unary(f, WASM_UNARY[k])])),
  Not: bool((x) => !x),
  IsNaN: bool(Number.isNaN),
  IsInf: (node, inputs, ctx) => {
    const pos = node.attrInt('detect_positive', 1),
      neg = node.attrInt('detect_negative', 1);
    return bool((x) => (x === Infinity && !!pos) || (x === -Infinity && !!neg))(node, inputs, ctx);
  },
  // Clip: min/max from inputs (opset ≥ 11) or attributes.
  Clip: (node, [x, lo, hi]) => {
    const min = lo ? num(lo)[0] : node.attrFloat('min', -Infinity);
    const max = hi ? num(hi)[0] : node.attrFloat('max', Infinity);
    const v = num(x!);
    const out = outBuf(x!.dtype, v.length);
    for (let i = 0; i < v.length; i++) out[i] = Math.min(max, Math.max(min, v[i]));
    return [make(x!.dtype, [...x!.dims], out)];
  },
};
