/**
 * Attention family: ONNX Attention (23/24), RotaryEmbedding (23), TensorScatter (24), and onnxruntime's fused
 * com.microsoft Attention, MultiHeadAttention, GroupQueryAttention and RotaryEmbedding. Scores, softmax and the
 * weighted sum in float64 whatever the I/O type (fp16 storage, wide accumulation — what onnxruntime's fused
 * kernels do with `softmax_precision` FLOAT); each output is rounded once to its type.
 */
import type { Kernel } from './types.js';
import type { RTensor } from '../../../src/ir/rtensor.js';
import type { Node } from '../../../src/ir/graph.js';
import { f64, make, num, size, normAxis } from '../util.js';
import { DataType } from '../../../src/core/dtype.js';
import { AmpError } from '../../../src/core/errors.js';

const bad = (node: Node, what: string): AmpError => new AmpError(`node '${node.label}' (${node.opType}): ${what}`);

/** Axes 1 and 2 swapped: [B, S, H, D] ↔ [B, H, S, D] (a 3-D [B, S, H·D] input is [B, S, H, D]). */
function swap12(x: Float64Array, B: number, A1: number, A2: number, D: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < A1; i++)
      for (let j = 0; j < A2; j++) {
        out.set(x.subarray(((b * A1 + i) * A2 + j) * D, ((b * A1 + i) * A2 + j + 1) * D), ((b * A2 + j) * A1 + i) * D);
      }
  return out;
}
/** past [B, H, P, D] then new [B, H, S, D] along the sequence axis. */
function concatSeq(
  past: Float64Array | undefined,
  P: number,
  cur: Float64Array,
  S: number,
  B: number,
  H: number,
  D: number,
): Float64Array {
  if (!past || P === 0) return cur;
  const T = P + S,
    out = new Float64Array(B * H * T * D);
  for (let bh = 0; bh < B * H; bh++) {
    out.set(past.subarray(bh * P * D, (bh + 1) * P * D), bh * T * D);
    out.set(cur.subarray(bh * S * D, (bh + 1) * S * D), (bh * T + P) * D);
  }
  return out;
}

interface Sdpa {
  B: number;
  Hq: number;
  Hkv: number;
  Sq: number;
  T: number;
  Dk: number;
  Dv: number;
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  scale: number;
  softcap?: number;
  /** Additive bias for (b, h, i, j): 0, a mask value, or -Infinity. */
  bias?: (b: number, h: number, i: number, j: number) => number;
  /** ONNX qk_matmul_output_mode to record (0 scaled QK, 1 softcapped, 2 plus the mask, 3 softmax), if asked for. */
  qkMode?: number;
  /** A row whose bias masks every key yields zeros (ONNX, onnxruntime) rather than NaN. */
  zeroMaskedRows?: boolean;
}
/** Scaled dot-product attention over [B, H, S, D] layouts; key/value heads shared by Hq/Hkv query heads each. */
function sdpa(a: Sdpa): { y: Float64Array; qk?: Float64Array } {
  const { B, Hq, Hkv, Sq, T, Dk, Dv, q, k, v, scale } = a;
  const group = Hq / Hkv;
  const y = new Float64Array(B * Hq * Sq * Dv);
  const qk = a.qkMode !== undefined ? new Float64Array(B * Hq * Sq * T) : undefined;
  const row = new Float64Array(T);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hq; h++) {
      const kh = Math.floor(h / group);
      const kBase = (b * Hkv + kh) * T;
      for (let i = 0; i < Sq; i++) {
        const qo = ((b * Hq + h) * Sq + i) * Dk;
        const qkRow = qk ? ((b * Hq + h) * Sq + i) * T : 0;
        let max = -Infinity,
          allMasked = true;
        for (let j = 0; j < T; j++) {
          const ko = (kBase + j) * Dk;
          let s = 0;
          for (let d = 0; d < Dk; d++) s += q[qo + d] * k[ko + d];
          s *= scale;
          if (qk && a.qkMode === 0) qk[qkRow + j] = s;
          if (a.softcap && a.softcap > 0) s = a.softcap * Math.tanh(s / a.softcap);
          if (qk && a.qkMode === 1) qk[qkRow + j] = s;
          const bias = a.bias ? a.bias(b, h, i, j) : 0;
          if (bias !== -Infinity) allMasked = false;
          s += bias;
          if (qk && a.qkMode === 2) qk[qkRow + j] = s;
          row[j] = s;
          if (s > max) max = s;
        }
        const yo = ((b * Hq + h) * Sq + i) * Dv;
        if (allMasked && a.zeroMaskedRows) {
          if (qk && a.qkMode === 3) qk.fill(0, qkRow, qkRow + T);
          continue;
        }
        let sum = 0;
        for (let j = 0; j < T; j++) {
          row[j] = Math.exp(row[j] - max);
          sum += row[j];
        }
        for (let j = 0; j < T; j++) {
          const p = row[j] / sum;
          if (qk && a.qkMode === 3) qk[qkRow + j] = p;
          if (p === 0) continue;
          const vo = (kBase + j) * Dv;
          for (let d = 0; d < Dv; d++) y[yo + d] += p * v[vo + d];
        }
      }
    }
  return { y, qk };
}

/** A mask tensor read as an additive bias broadcast (right-aligned) to [B, H, Sq, T]; shorter key axes pad as masked. */
function maskBias(mask: RTensor | undefined): ((b: number, h: number, i: number, j: number) => number) | undefined {
  if (!mask) return undefined;
  const dims = mask.dims,
    r = dims.length;
  const vals = num(mask),
    isBool = mask.dtype === DataType.BOOL;
  const d = [1, 1, 1, 1].map((_, i) => (i >= 4 - r ? dims[i - (4 - r)] : 1));
  const st = [d[1] * d[2] * d[3], d[2] * d[3], d[3], 1];
  return (b, h, i, j) => {
    if (j >= d[3] && d[3] !== 1) return -Infinity;
    const idx =
      (d[0] === 1 ? 0 : b) * st[0] + (d[1] === 1 ? 0 : h) * st[1] + (d[2] === 1 ? 0 : i) * st[2] + (d[3] === 1 ? 0 : j);
    const m = vals[idx];
    return isBool ? (m ? 0 : -Infinity) : m;
  };
}

/** ONNX Attention (opset 23/24). */
const onnxAttention: Kernel = (node, [Q, K, V, mask, pastK, pastV, nonpad]) => {
  const rank = Q!.dims.length;
  if (rank !== 3 && rank !== 4) throw bad(node, `Q must be 3-D or 4-D, got ${rank}-D`);
  if (K!.dims.length !== rank || V!.dims.length !== rank) throw bad(node, 'Q, K and V must have the same rank');
  const B = Q!.dims[0];
  let Hq: number, Hkv: number, Sq: number, Skv: number, Dk: number, Dv: number;
  let q = f64(Q!),
    k = f64(K!),
    v = f64(V!);
  if (rank === 3) {
    Hq = node.attrInt('q_num_heads', 0);
    Hkv = node.attrInt('kv_num_heads', 0);
    if (Hq <= 0 || Hkv <= 0) throw bad(node, '3-D inputs need q_num_heads and kv_num_heads');
    [Sq, Skv] = [Q!.dims[1], K!.dims[1]];
    Dk = Q!.dims[2] / Hq;
    Dv = V!.dims[2] / Hkv;
    if (!Number.isInteger(Dk) || !Number.isInteger(Dv) || K!.dims[2] !== Hkv * Dk)
      throw bad(node, 'hidden sizes do not divide into the heads');
    q = swap12(q, B, Sq, Hq, Dk);
    k = swap12(k, B, Skv, Hkv, Dk);
    v = swap12(v, B, Skv, Hkv, Dv);
  } else {
    [, Hq, Sq, Dk] = Q!.dims;
    [, Hkv, Skv] = K!.dims;
    Dv = V!.dims[3];
    if (K!.dims[3] !== Dk) throw bad(node, 'Q and K head sizes differ');
  }
  if (Hq % Hkv !== 0) throw bad(node, `${Hq} query heads are not a multiple of ${Hkv} key/value heads`);
  const P = pastK ? pastK.dims[2] : 0;
  if ((pastK && !pastV) || (pastV && !pastK)) throw bad(node, 'past_key and past_value go together');
  if (pastK && (pastK.dims[0] !== B || pastK.dims[1] !== Hkv || pastK.dims[3] !== Dk))
    throw bad(node, 'past_key shape does not match K');
  const kAll = concatSeq(pastK ? f64(pastK) : undefined, P, k, Skv, B, Hkv, Dk);
  const vAll = concatSeq(pastV ? f64(pastV) : undefined, P, v, Skv, B, Hkv, Dv);
  const T = P + Skv;
  const scale = node.attr('scale') ? node.attrFloat('scale', 1) : 1 / Math.sqrt(Dk);
  const m = maskBias(mask);
  const causal = node.attrInt('is_causal', 0) === 1;
  const seqlens = nonpad ? num(nonpad) : undefined;
  const bias = (b: number, h: number, i: number, j: number): number => {
    let s = m ? m(b, h, i, j) : 0;
    const offset = seqlens && !pastK ? seqlens[b] - Sq : P;
    if (causal && j > i + offset) s = -Infinity;
    if (seqlens && j >= seqlens[b]) s = -Infinity;
    return s;
  };
  const mode = node.outputs[3] ? node.attrInt('qk_matmul_output_mode', 0) : undefined;
  const { y, qk } = sdpa({
    B,
    Hq,
    Hkv,
    Sq,
    T,
    Dk,
    Dv,
    q,
    k: kAll,
    v: vAll,
    scale,
    softcap: node.attrFloat('softcap', 0),
    bias,
    qkMode: mode,
    zeroMaskedRows: true,
  });
  const out =
    rank === 3 ? make(Q!.dtype, [B, Sq, Hq * Dv], swap12(y, B, Hq, Sq, Dv)) : make(Q!.dtype, [B, Hq, Sq, Dv], y);
  return [
    out,
    make(K!.dtype, [B, Hkv, T, Dk], kAll),
    make(V!.dtype, [B, Hkv, T, Dv], vAll),
    ...(qk ? [make(Q!.dtype, [B, Hq, Sq, T], qk)] : []),
  ];
};

/** Rotates pairs of x [B, S, H, D] (as a flat array indexed by (b, s, h)) by cos/sin rows per (b, s). */
function rotate(
  x: Float64Array,
  B: number,
  S: number,
  H: number,
  D: number,
  rd: number,
  interleaved: boolean,
  cs: (b: number, s: number) => number,
  cos: ArrayLike<number>,
  sin: ArrayLike<number>,
): Float64Array {
  const out = Float64Array.from(x),
    half = rd / 2;
  for (let b = 0; b < B; b++)
    for (let s = 0; s < S; s++) {
      const c0 = cs(b, s);
      for (let h = 0; h < H; h++) {
        const o = ((b * S + s) * H + h) * D;
        for (let i = 0; i < half; i++) {
          const i1 = interleaved ? o + 2 * i : o + i,
            i2 = interleaved ? o + 2 * i + 1 : o + i + half;
          const c = cos[c0 + i],
            sn = sin[c0 + i],
            x1 = x[i1],
            x2 = x[i2];
          out[i1] = c * x1 - sn * x2;
          out[i2] = sn * x1 + c * x2;
        }
      }
    }
  return out;
}

interface RopeArgs {
  input: RTensor;
  cos: RTensor;
  sin: RTensor;
  positions?: ArrayLike<number>;
  offset?: number;
  interleaved: boolean;
  rd: number;
  numHeads: number;
}
/** Rotary embedding of a 3-D [B, S, H·D] or 4-D [B, H, S, D] input (both domains share it). */
function rope(node: Node, a: RopeArgs): RTensor {
  const X = a.input,
    rank = X.dims.length;
  let B: number, S: number, H: number, D: number;
  if (rank === 4) [B, H, S, D] = X.dims;
  else if (rank === 3) {
    [B, S] = X.dims;
    H = a.numHeads;
    if (!H) throw bad(node, 'a 3-D input needs num_heads');
    D = X.dims[2] / H;
    if (!Number.isInteger(D)) throw bad(node, `hidden size ${X.dims[2]} is not a multiple of num_heads ${H}`);
  } else throw bad(node, `input must be 3-D or 4-D, got ${rank}-D`);
  const rd = a.rd || D,
    half = rd / 2;
  if (rd > D || rd % 2) throw bad(node, `rotary_embedding_dim ${rd} must be even and at most the head size ${D}`);
  if (a.cos.dims[a.cos.dims.length - 1] !== half || a.sin.dims[a.sin.dims.length - 1] !== half)
    throw bad(node, `the cos/sin caches' last dimension must be rotary_embedding_dim/2 = ${half}`);
  const cos = num(a.cos),
    sin = num(a.sin),
    rows = size(a.cos.dims) / half;
  const cs = (b: number, s: number): number => {
    const r = a.positions
      ? a.positions[a.positions.length === 1 ? 0 : b * S + s] + (a.positions.length === 1 ? s : 0)
      : a.cos.dims.length === 3
        ? b * S + s
        : s + (a.offset ?? 0);
    if (!(r >= 0 && r < rows)) throw bad(node, `position ${r} is outside the cos/sin cache (${rows} rows)`);
    return r * half;
  };
  let x = f64(X);
  if (rank === 4) x = swap12(x, B, H, S, D);
  let y = rotate(x, B, S, H, D, rd, a.interleaved, cs, cos, sin);
  if (rank === 4) y = swap12(y, B, S, H, D);
  return make(X.dtype, [...X.dims], y);
}

/** com.microsoft Attention / MultiHeadAttention mask: key_padding / mask_index forms → additive bias. */
function msMask(
  node: Node,
  mask: RTensor | undefined,
  B: number,
  Sq: number,
  T: number,
  filter: number,
): ((b: number, h: number, i: number, j: number) => number) | undefined {
  if (!mask) return undefined;
  const m = num(mask),
    d = mask.dims;
  if (d.length === 1 && d[0] === B) return (b, _h, _i, j) => (j < m[b] ? 0 : filter); // end positions
  if (d.length === 1 && d[0] === 2 * B) return (b, _h, _i, j) => (j < m[b] && j >= m[B + b] ? 0 : filter); // end, start
  if (d.length === 2 && d[0] === B && d[1] === T) return (b, _h, _i, j) => (m[b * T + j] ? 0 : filter);
  if (d.length === 3 && d[0] === B && d[1] === Sq && d[2] === T)
    return (b, _h, i, j) => (m[(b * Sq + i) * T + j] ? 0 : filter);
  throw bad(node, `mask of shape [${d.join(', ')}] is not one of [B], [2B], [B, T], [B, S, T]`);
}
/** attention_bias [B or 1, H or 1, S, T] (relative position bias), added to the scores. */
function addBias(
  bias: RTensor | undefined,
  H: number,
  Sq: number,
  T: number,
): ((b: number, h: number, i: number, j: number) => number) | undefined {
  if (!bias) return undefined;
  const v = num(bias),
    [b0, h0] = bias.dims;
  return (b, h, i, j) => v[(((b0 === 1 ? 0 : b) * (h0 === 1 ? 1 : H) + (h0 === 1 ? 0 : h)) * Sq + i) * T + j];
}
const sumBias = (...fs: (((b: number, h: number, i: number, j: number) => number) | undefined)[]) => {
  const live = fs.filter(Boolean) as ((b: number, h: number, i: number, j: number) => number)[];
  return live.length
    ? (b: number, h: number, i: number, j: number) => live.reduce((s, f) => s + f(b, h, i, j), 0)
    : undefined;
};

/** com.microsoft Attention: packed QKV weights [in, 3·hidden], bias, mask_index, past [2, B, H, P, D]. */
const msAttention: Kernel = (node, [X, W, bias, maskIndex, past, attnBias]) => {
  const [B, S, In] = X!.dims;
  const H = node.attrInt('num_heads', 0);
  if (H <= 0) throw bad(node, 'num_heads must be positive');
  const sizes = node.attrInts('qkv_hidden_sizes') ?? [W!.dims[1] / 3, W!.dims[1] / 3, W!.dims[1] / 3];
  const [hq, hk, hv] = sizes;
  if (W!.dims[0] !== In || hq + hk + hv !== W!.dims[1] || hq % H || hv % H)
    throw bad(node, 'weights do not match the input and the heads');
  const x = f64(X!),
    w = f64(W!),
    bb = bias ? f64(bias) : undefined,
    N = W!.dims[1];
  const proj = new Float64Array(B * S * N);
  for (let r = 0; r < B * S; r++)
    for (let o = 0; o < N; o++) {
      let s = bb ? bb[o] : 0;
      for (let c = 0; c < In; c++) s += x[r * In + c] * w[c * N + o];
      proj[r * N + o] = s;
    }
  const take = (off: number, width: number) => {
    const out = new Float64Array(B * S * width);
    for (let r = 0; r < B * S; r++) for (let c = 0; c < width; c++) out[r * width + c] = proj[r * N + off + c];
    return out;
  };
  const Dk = hq / H,
    Dv = hv / H;
  const q = swap12(take(0, hq), B, S, H, Dk),
    k = swap12(take(hq, hk), B, S, H, Dk),
    v = swap12(take(hq + hk, hv), B, S, H, Dv);
  const P = past ? past.dims[3] : 0;
  const pv = past ? f64(past) : undefined,
    half = past ? size(past.dims) / 2 : 0;
  const kAll = concatSeq(pv?.subarray(0, half), P, k, S, B, H, Dk),
    vAll = concatSeq(pv?.subarray(half), P, v, S, B, H, Dv);
  const T = P + S,
    filter = node.attrFloat('mask_filter_value', -10000);
  const causal = node.attrInt('unidirectional', 0) === 1;
  const b0 = sumBias(
    msMask(node, maskIndex, B, S, T, filter),
    addBias(attnBias, H, S, T),
    causal ? (_b, _h, i, j) => (j > i + P ? filter : 0) : undefined,
  );
  const scale = node.attrFloat('scale', 0) || 1 / Math.sqrt(Dk);
  const { y } = sdpa({ B, Hq: H, Hkv: H, Sq: S, T, Dk, Dv, q, k: kAll, v: vAll, scale, bias: b0 });
  const present = new Float64Array(2 * kAll.length);
  present.set(kAll);
  present.set(vAll, kAll.length);
  return [
    make(X!.dtype, [B, S, hv], swap12(y, B, H, S, Dv)),
    ...(node.outputs[1] ? [make(X!.dtype, [2, B, H, T, Dk], present)] : []),
  ];
};

/** com.microsoft MultiHeadAttention: separate Q/K/V (3-D, or K/V already [B, H, L, D]), optional packed bias and past. */
const msMultiHeadAttention: Kernel = (node, [Qt, Kt, Vt, bias, keyPadding, attnBias, pastK, pastV]) => {
  const H = node.attrInt('num_heads', 0);
  if (H <= 0) throw bad(node, 'num_heads must be positive');
  if (!Kt || !Vt || Qt!.dims.length !== 3)
    throw bad(node, 'only separate 3-D query with key and value is supported (not packed QKV)');
  const [B, S, hq] = Qt!.dims,
    Dk = hq / H;
  const bb = bias ? f64(bias) : undefined;
  const add = (t: Float64Array, off: number, width: number) => {
    if (bb) for (let i = 0; i < t.length; i++) t[i] += bb[off + (i % width)];
    return t;
  };
  const q = swap12(add(f64(Qt!), 0, hq), B, S, H, Dk);
  let k: Float64Array, v: Float64Array, L: number, Dv: number;
  if (Kt.dims.length === 4) {
    [, , L] = Kt.dims;
    Dv = Vt.dims[3];
    k = f64(Kt);
    v = f64(Vt);
  } else {
    L = Kt.dims[1];
    Dv = Vt.dims[2] / H;
    k = swap12(add(f64(Kt), hq, Kt.dims[2]), B, L, H, Dk);
    v = swap12(add(f64(Vt), hq + Kt.dims[2], Vt.dims[2]), B, L, H, Dv);
  }
  const P = pastK ? pastK.dims[2] : 0;
  const kAll = concatSeq(pastK ? f64(pastK) : undefined, P, k, L, B, H, Dk),
    vAll = concatSeq(pastV ? f64(pastV) : undefined, P, v, L, B, H, Dv);
  const T = P + L,
    filter = node.attrFloat('mask_filter_value', -10000);
  const causal = node.attrInt('unidirectional', 0) === 1;
  const b0 = sumBias(
    msMask(node, keyPadding, B, S, T, filter),
    addBias(attnBias, H, S, T),
    causal ? (_b, _h, i, j) => (j > i + P ? filter : 0) : undefined,
  );
  const scale = node.attrFloat('scale', 0) || 1 / Math.sqrt(Dk);
  const { y } = sdpa({ B, Hq: H, Hkv: H, Sq: S, T, Dk, Dv, q, k: kAll, v: vAll, scale, bias: b0 });
  return [
    make(Qt!.dtype, [B, S, H * Dv], swap12(y, B, H, S, Dv)),
    make(Qt!.dtype, [B, H, T, Dk], kAll),
    make(Qt!.dtype, [B, H, T, Dv], vAll),
  ];
};

/**
 * com.microsoft GroupQueryAttention: Q [B, S, Hq·D], K/V [B, S, Hkv·D], a KV cache (past [B, Hkv, P, D]) where
 * batch b holds seqlens_k[b] + 1 − S valid entries; new keys/values are written after them; causal; optional
 * rotary embedding of Q and K at their absolute positions.
 */
const msGroupQueryAttention: Kernel = (node, [Qt, Kt, Vt, pastK, pastV, seqlensK, totalLen, cosC, sinC]) => {
  const Hq = node.attrInt('num_heads', 0),
    Hkv = node.attrInt('kv_num_heads', 0);
  if (Hq <= 0 || Hkv <= 0 || Hq % Hkv) throw bad(node, 'num_heads must be a positive multiple of kv_num_heads');
  if (!Kt || !Vt) throw bad(node, 'packed QKV is not supported: give key and value');
  const [B, S, hq] = Qt!.dims,
    D = hq / Hq;
  const seq = num(seqlensK!),
    total = Number(num(totalLen!)[0]);
  let q = swap12(f64(Qt!), B, S, Hq, D),
    k = swap12(f64(Kt), B, S, Hkv, D);
  const v = swap12(f64(Vt), B, S, Hkv, D);
  const pastLen = (b: number) => seq[b] + 1 - S;
  if (node.attrInt('do_rotary', 0) === 1) {
    const interleaved = node.attrInt('rotary_interleaved', 0) === 1;
    const rd = cosC!.dims[1] * 2;
    const rot = (t: Float64Array, H: number) => {
      const bshd = swap12(t, B, H, S, D);
      const cos = num(cosC!),
        sin = num(sinC!);
      return swap12(
        rotate(bshd, B, S, H, D, rd, interleaved, (b, s) => (pastLen(b) + s) * (rd / 2), cos, sin),
        B,
        S,
        H,
        D,
      );
    };
    q = rot(q, Hq);
    k = rot(k, Hkv);
  }
  const Pbuf = pastK ? pastK.dims[2] : 0;
  const T = Math.max(Pbuf, total);
  const pk = pastK ? f64(pastK) : undefined,
    pvv = pastV ? f64(pastV) : undefined;
  const kAll = new Float64Array(B * Hkv * T * D),
    vAll = new Float64Array(B * Hkv * T * D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hkv; h++) {
      const p = pastLen(b),
        base = (b * Hkv + h) * T * D;
      if (p < 0 || p + S > T) throw bad(node, `seqlens_k ${seq[b]} does not fit the cache of ${T} positions`);
      if (pk) {
        kAll.set(pk.subarray((b * Hkv + h) * Pbuf * D, ((b * Hkv + h) * Pbuf + Math.min(p, Pbuf)) * D), base);
        vAll.set(pvv!.subarray((b * Hkv + h) * Pbuf * D, ((b * Hkv + h) * Pbuf + Math.min(p, Pbuf)) * D), base);
      }
      kAll.set(k.subarray((b * Hkv + h) * S * D, (b * Hkv + h + 1) * S * D), base + p * D);
      vAll.set(v.subarray((b * Hkv + h) * S * D, (b * Hkv + h + 1) * S * D), base + p * D);
    }
  const scale = node.attrFloat('scale', 0) || 1 / Math.sqrt(D);
  const window = node.attrInt('local_window_size', -1);
  const bias = (b: number, _h: number, i: number, j: number) => {
    const pos = pastLen(b) + i;
    return j > pos || j >= seq[b] + 1 || (window > 0 && pos - j >= window) ? -Infinity : 0;
  };
  const { y } = sdpa({
    B,
    Hq,
    Hkv,
    Sq: S,
    T,
    Dk: D,
    Dv: D,
    q,
    k: kAll,
    v: vAll,
    scale,
    softcap: node.attrFloat('softcap', 0),
    bias,
    zeroMaskedRows: true,
  });
  return [
    make(Qt!.dtype, [B, S, Hq * D], swap12(y, B, Hq, S, D)),
    make(Qt!.dtype, [B, Hkv, T, D], kAll),
    make(Qt!.dtype, [B, Hkv, T, D], vAll),
  ];
};

/** TensorScatter (24): writes `update` into a copy of the cache along `axis` at write_indices[b] (linear or circular). */
const tensorScatter: Kernel = (node, [cache, update, writeIdx]) => {
  const dims = cache!.dims,
    r = dims.length;
  const axis = normAxis(node.attrInt('axis', -2), r);
  const circular = node.attrString('mode', 'linear') === 'circular';
  const ud = update!.dims;
  if (ud.length !== r || ud.some((d, i) => (i === axis ? d > dims[i] : d !== dims[i])))
    throw bad(node, `update [${ud.join(', ')}] does not fit cache [${dims.join(', ')}]`);
  const outer = size(dims.slice(0, axis)),
    inner = size(dims.slice(axis + 1)),
    M = dims[axis],
    L = ud[axis];
  const per = outer / (dims[0] || 1);
  const idx = writeIdx ? num(writeIdx) : undefined;
  const out = num(cache!),
    u = num(update!);
  const res = Float64Array.from(out as ArrayLike<number>);
  for (let o = 0; o < outer; o++) {
    const b = Math.floor(o / per),
      start = idx ? idx[b] : 0;
    for (let s = 0; s < L; s++) {
      let pos = start + s;
      if (circular) pos = ((pos % M) + M) % M;
      if (pos < 0 || pos >= M) throw bad(node, `write index ${pos} is outside the cache axis (${M})`);
      for (let i = 0; i < inner; i++) res[(o * M + pos) * inner + i] = u[(o * L + s) * inner + i];
    }
  }
  return [make(cache!.dtype, [...dims], res)];
};

export const attentionKernels: Record<string, Kernel> = {
  Attention: onnxAttention,
  RotaryEmbedding: (node, [X, cos, sin, pos]) => [
    rope(node, {
      input: X!,
      cos: cos!,
      sin: sin!,
      positions: pos ? num(pos) : undefined,
      interleaved: node.attrInt('interleaved', 0) === 1,
      rd: node.attrInt('rotary_embedding_dim', 0),
      numHeads: node.attrInt('num_heads', 0),
    }),
  ],
  TensorScatter: tensorScatter,
  'com.microsoft.Attention': msAttention,
  'com.microsoft.MultiHeadAttention': msMultiHeadAttention,
  'com.microsoft.GroupQueryAttention': msGroupQueryAttention,
  // Inputs in onnxruntime's order: input, position_ids ([B, S], or [1] as an offset), cos_cache, sin_cache.
  'com.microsoft.RotaryEmbedding': (node, [X, pos, cos, sin]) => [
    rope(node, {
      input: X!,
      cos: cos!,
      sin: sin!,
      positions: num(pos!),
      interleaved: node.attrInt('interleaved', 0) === 1,
      rd: node.attrInt('rotary_embedding_dim', 0),
      numHeads: node.attrInt('num_heads', 0),
    }),
  ],
};
