/**
 * onnxruntime's fused transformer ops (com.microsoft) other than attention: skip/simplified/embedding layer
 * norms, the GELU family, BiasAdd, and the 4-bit weight ops transformers.js ships (MatMulNBits,
 * GatherBlockQuantized). Statistics and sums in float64, each output rounded once to its type; onnxruntime-node
 * (which implements them all) is the oracle in test/contrib-ops.test.ts.
 */
import type { Kernel } from './types.js';
import type { Node } from '../../../src/ir/graph.js';
import { f64, make, num, size, normAxis } from '../util.js';
import { DataType } from '../../../src/core/dtype.js';
import { AmpError } from '../../../src/core/errors.js';
import { erf } from './unary.js';

const bad = (node: Node, what: string): AmpError => new AmpError(`node '${node.label}' (${node.opType}): ${what}`);
const geluErf = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));

/** x (+ bias, broadcast over the last axis) through f, in x's type. */
function biasActivation(f: (x: number) => number): Kernel {
  return (_node, [X, bias]) => {
    const x = num(X!),
      b = bias ? num(bias) : undefined,
      n = b ? b.length : 1;
    const out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = f(x[i] + (b ? b[i % n] : 0));
    return [make(X!.dtype, [...X!.dims], out)];
  };
}

/** Normalizes rows of `x` (inner elements each): LayerNorm (mean subtracted) or RMSNorm; scale, optional shift. */
function normRows(
  x: Float64Array,
  inner: number,
  eps: number,
  rms: boolean,
  scale: ArrayLike<number>,
  shift?: ArrayLike<number>,
): { y: Float64Array; mean: Float64Array; inv: Float64Array } {
  const rows = x.length / inner,
    y = new Float64Array(x.length),
    mean = new Float64Array(rows),
    inv = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * inner;
    let m = 0;
    if (!rms) {
      for (let i = 0; i < inner; i++) m += x[o + i];
      m /= inner;
    }
    let v = 0;
    for (let i = 0; i < inner; i++) {
      const d = x[o + i] - m;
      v += d * d;
    }
    const k = 1 / Math.sqrt(v / inner + eps);
    mean[r] = m;
    inv[r] = k;
    for (let i = 0; i < inner; i++)
      y[o + i] = (x[o + i] - m) * k * scale[i % scale.length] + (shift ? shift[i % shift.length] : 0);
  }
  return { y, mean, inv };
}

/** SkipLayerNormalization / SkipSimplifiedLayerNormalization: norm(input + skip + bias) · gamma (+ beta). */
function skipNorm(rms: boolean): Kernel {
  return (node, ins) => {
    const [X, skip, gamma] = ins;
    const beta = rms ? undefined : ins[3],
      bias = rms ? ins[3] : ins[4];
    const D = X!.dims[X!.dims.length - 1];
    if (gamma!.dims[gamma!.dims.length - 1] !== D)
      throw bad(node, `gamma has ${gamma!.dims.at(-1)} elements, the hidden size is ${D}`);
    const x = f64(X!),
      s = num(skip!),
      b = bias ? num(bias) : undefined;
    if (x.length % s.length)
      throw bad(node, `skip [${skip!.dims.join(', ')}] does not broadcast to input [${X!.dims.join(', ')}]`);
    for (let i = 0; i < x.length; i++) x[i] += s[i % s.length] + (b ? b[i % D] : 0);
    const { y, mean, inv } = normRows(
      x,
      D,
      node.attrFloat('epsilon', 1e-12),
      rms,
      num(gamma!),
      beta ? num(beta) : undefined,
    );
    const stat = [...X!.dims.slice(0, -1), 1];
    return [
      make(X!.dtype, [...X!.dims], y),
      make(DataType.FLOAT, stat, mean),
      make(DataType.FLOAT, stat, inv),
      make(X!.dtype, [...X!.dims], x),
    ];
  };
}

/** SimplifiedLayerNormalization (RMSNorm over axes ≥ axis); Y in the scale's type, inv_std_var float. */
const simplifiedNorm: Kernel = (node, [X, scale]) => {
  const axis = normAxis(node.attrInt('axis', -1), X!.dims.length);
  const inner = size(X!.dims.slice(axis));
  const { y, inv } = normRows(f64(X!), inner, node.attrFloat('epsilon', 1e-5), true, num(scale!));
  return [
    make(scale!.dtype, [...X!.dims], y),
    make(
      DataType.FLOAT,
      X!.dims.map((d, i) => (i < axis ? d : 1)),
      inv,
    ),
  ];
};

/** EmbedLayerNormalization: LayerNorm(word[ids] + position[pos] + segment[seg]) and mask_index = Σ mask per row. */
const embedLayerNorm: Kernel = (node, [ids, seg, word, posEmb, segEmb, gamma, beta, mask, posIds]) => {
  const [B, S] = ids!.dims,
    D = word!.dims[1];
  const id = num(ids!),
    sg = seg ? num(seg) : undefined,
    w = num(word!),
    p = num(posEmb!),
    se = segEmb ? num(segEmb) : undefined;
  const pid = posIds ? num(posIds) : undefined;
  const sum = new Float64Array(B * S * D);
  const row = (table: ArrayLike<number>, rows: number, r: number, what: string) => {
    if (!(r >= 0 && r < rows)) throw bad(node, `${what} ${r} is outside its table (${rows} rows)`);
    return r * D;
  };
  for (let b = 0; b < B; b++)
    for (let s = 0; s < S; s++) {
      const o = (b * S + s) * D;
      const wi = row(w, word!.dims[0], id[b * S + s], 'input id');
      const pr = pid ? pid[pid.length === S ? s : b * S + s] : s;
      const pi = row(p, posEmb!.dims[0], pr, 'position');
      const si = sg && se ? row(se, segEmb!.dims[0], sg[b * S + s], 'segment id') : -1;
      for (let d = 0; d < D; d++) sum[o + d] = w[wi + d] + p[pi + d] + (si >= 0 ? se![si + d] : 0);
    }
  const { y } = normRows(sum, D, node.attrFloat('epsilon', 1e-12), false, num(gamma!), num(beta!));
  const m = mask ? num(mask) : undefined;
  const idx = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let c = 0;
    for (let s = 0; s < S; s++) c += m ? (m[b * S + s] ? 1 : 0) : 1;
    idx[b] = c;
  }
  return [
    make(word!.dtype, [B, S, D], y),
    { dtype: DataType.INT32, dims: [B], data: idx },
    make(word!.dtype, [B, S, D], sum),
  ];
};

/** Unsigned `bits`-bit value k of a packed byte row (low bits first, as onnxruntime packs them). */
const unpack = (bytes: ArrayLike<number>, base: number, k: number, bits: number): number => {
  const per = 8 / bits,
    byte = bytes[base + Math.floor(k / per)];
  return (byte >> ((k % per) * bits)) & ((1 << bits) - 1);
};

/**
 * MatMulNBits: A [..., K] × dequantized Bᵀ, B packed [N, K/block, block·bits/8], scales [N·K/block], zero points
 * packed like B (default 2^(bits−1)) or in A's type; optional bias [N]. Y in A's type.
 */
const matMulNBits: Kernel = (node, [A, Bq, scales, zp, gIdx, bias]) => {
  const K = node.attrInt('K', 0),
    N = node.attrInt('N', 0),
    bits = node.attrInt('bits', 4),
    block = node.attrInt('block_size', 0);
  if (![2, 4, 8].includes(bits) || block < 16 || block & (block - 1))
    throw bad(node, `bits ${bits} / block_size ${block} not supported (bits 2, 4 or 8; block a power of two ≥ 16)`);
  if (gIdx) throw bad(node, 'g_idx is not supported');
  if (A!.dims[A!.dims.length - 1] !== K) throw bad(node, `A's last dimension ${A!.dims.at(-1)} is not K = ${K}`);
  const blocks = Math.ceil(K / block),
    blob = (block * bits) / 8;
  if (size(Bq!.dims) !== N * blocks * blob)
    throw bad(node, `B holds ${size(Bq!.dims)} bytes, expected N·blocks·blob = ${N * blocks * blob}`);
  const q = num(Bq!),
    sc = num(scales!);
  if (sc.length !== N * blocks) throw bad(node, `scales hold ${sc.length} values, expected N·blocks = ${N * blocks}`);
  const zpFloat = zp && zp.dtype !== DataType.UINT8 ? num(zp) : undefined,
    zpPacked = zp && zp.dtype === DataType.UINT8 ? num(zp) : undefined;
  const zpRow = Math.ceil((blocks * bits) / 8);
  const w = new Float64Array(N * K);
  for (let n = 0; n < N; n++)
    for (let kb = 0; kb < blocks; kb++) {
      const s = sc[n * blocks + kb];
      const z = zpFloat ? zpFloat[n * blocks + kb] : zpPacked ? unpack(zpPacked, n * zpRow, kb, bits) : 2 ** (bits - 1);
      for (let i = 0; i < block && kb * block + i < K; i++) {
        const v = unpack(q, (n * blocks + kb) * blob, i, bits);
        w[n * K + kb * block + i] = zpFloat ? v * s - z * s : (v - z) * s;
      }
    }
  const a = num(A!),
    rows = a.length / K,
    bb = bias ? num(bias) : undefined;
  const y = new Float64Array(rows * N);
  for (let r = 0; r < rows; r++)
    for (let n = 0; n < N; n++) {
      let s = bb ? bb[n] : 0;
      for (let k = 0; k < K; k++) s += a[r * K + k] * w[n * K + k];
      y[r * N + n] = s;
    }
  return [make(A!.dtype, [...A!.dims.slice(0, -1), N], y)];
};

/**
 * GatherBlockQuantized: rows of 4-bit (uint8-packed) or 8-bit quantized data gathered along gather_axis 0 and
 * dequantized per block along the last axis: (q − zero_point) · scale, in the scales' type.
 */
const gatherBlockQuantized: Kernel = (node, [data, indices, scales, zp]) => {
  const bits = node.attrInt('bits', 4),
    block = node.attrInt('block_size', 128);
  const gAxis = normAxis(node.attrInt('gather_axis', 0), data!.dims.length);
  const qAxis = normAxis(node.attrInt('quantize_axis', data!.dims.length - 1), data!.dims.length);
  if (gAxis !== 0 || qAxis !== data!.dims.length - 1)
    throw bad(node, 'only gather_axis 0 with quantize_axis last is supported');
  const packed = data!.dtype === DataType.UINT8 && bits === 4;
  const per = packed ? 2 : 1;
  const rows = data!.dims[0],
    cols = (size(data!.dims) / rows) * per;
  const q = num(data!),
    sc = num(scales!),
    idx = num(indices!);
  const blocks = Math.ceil(cols / block);
  const zpv = zp ? num(zp) : undefined;
  const signed = data!.dtype === DataType.INT8 || data!.dtype === DataType.INT4;
  const dflt = packed ? 8 : 0;
  const out = new Float64Array(idx.length * cols);
  for (let o = 0; o < idx.length; o++) {
    const ri = idx[o];
    const r = ri < 0 ? ri + rows : ri;
    if (!(r >= 0 && r < rows)) throw bad(node, `index ${ri} is outside ${rows} rows`);
    for (let c = 0; c < cols; c++) {
      const v = packed ? unpack(q, (r * cols) / 2, c, 4) : signed ? q[r * cols + c] : q[r * cols + c];
      const b = r * blocks + Math.floor(c / block);
      const z = zpv ? (packed ? unpack(zpv, 0, b, 4) : zpv[b]) : dflt;
      out[o * cols + c] = (v - z) * sc[b];
    }
  }
  const lead = data!.dims.slice(1, -1);
  return [make(scales!.dtype, [...indices!.dims, ...lead, data!.dims[data!.dims.length - 1] * per], out)];
};

export const contribKernels: Record<string, Kernel> = {
  'com.microsoft.SkipLayerNormalization': skipNorm(false),
  'com.microsoft.SkipSimplifiedLayerNormalization': skipNorm(true),
  // onnxruntime registers SimplifiedLayerNormalization (RMSNorm before opset 23) under the ONNX domain.
  SimplifiedLayerNormalization: simplifiedNorm,
  'com.microsoft.EmbedLayerNormalization': embedLayerNorm,
  'com.microsoft.FastGelu': biasActivation(geluTanh),
  'com.microsoft.BiasGelu': biasActivation(geluErf),
  'com.microsoft.Gelu': biasActivation(geluErf),
  'com.microsoft.QuickGelu': (node, [X]) => {
    const alpha = node.attrFloat('alpha', 1.702);
    return biasActivation((x) => x / (1 + Math.exp(-alpha * x)))(node, [X], undefined as never);
  },
  'com.microsoft.BiasAdd': (node, [X, bias, skip]) => {
    const x = num(X!),
      b = num(bias!),
      s = num(skip!),
      C = b.length;
    if (x.length !== s.length) throw bad(node, "skip must have the input's shape");
    const out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i] + b[i % C] + s[i];
    return [make(X!.dtype, [...X!.dims], out)];
  },
  'com.microsoft.MatMulNBits': matMulNBits,
  'com.microsoft.GatherBlockQuantized': gatherBlockQuantized,
};
