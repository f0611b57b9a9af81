/**
 * Normalizations: BatchNormalization (inference and training mode), LayerNormalization, RMSNormalization,
 * InstanceNormalization, GroupNormalization, LpNormalization, MeanVarianceNormalization, LRN. Statistics in float64.
 */
import type { Kernel } from './types.js';
import { num, make, outBuf, size, normAxis } from '../util.js';
import { DataType } from '../../../src/core/dtype.js';
import { AmpError } from '../../../src/core/errors.js';
import { affineF32, wasmFloat } from '../wasm/index.js';

export const normKernels: Record<string, Kernel> = {
  BatchNormalization: (node, [X, scale, B, mean, varT]) => {
    const [N, C, ...sp] = X!.dims;
    const isz = size(sp),
      s = num(scale!),
      b = num(B!);
    const eps = node.attrFloat('epsilon', 1e-5);
    // Training mode normalizes with the batch's statistics (the ONNX reference: whatever outputs are asked for).
    const training = node.attrInt('training_mode', 0) === 1;
    // Inference on a large float tensor: y = x·k + t per channel in f32 (wasm SIMD), k and t from float64.
    if (!training && X!.data.length >= 4096 && wasmFloat(X!.dtype)) {
      const m = num(mean!),
        v = num(varT!),
        k = Float32Array.from({ length: C }, (_, c) => s[c] / Math.sqrt(v[c] + eps));
      const t = Float32Array.from({ length: C }, (_, c) => b[c] - m[c] * (s[c] / Math.sqrt(v[c] + eps)));
      return [{ dtype: X!.dtype, dims: [...X!.dims], data: affineF32(X!, k, t, N, isz, X!.dtype) }];
    }
    const x = num(X!);
    let m = num(mean!),
      v = num(varT!);
    let runMean: Float64Array | undefined, runVar: Float64Array | undefined;
    if (training) {
      const mom = node.attrFloat('momentum', 0.9);
      const bm = new Float64Array(C),
        bv = new Float64Array(C);
      for (let c = 0; c < C; c++) {
        let sum = 0;
        for (let n = 0; n < N; n++) for (let i = 0; i < isz; i++) sum += x[(n * C + c) * isz + i];
        bm[c] = sum / (N * isz);
        let sq = 0;
        for (let n = 0; n < N; n++)
          for (let i = 0; i < isz; i++) {
            const d = x[(n * C + c) * isz + i] - bm[c];
            sq += d * d;
          }
        bv[c] = sq / (N * isz);
      }
      runMean = Float64Array.from(m, (mv, c) => mv * mom + bm[c] * (1 - mom));
      runVar = Float64Array.from(v, (vv, c) => vv * mom + bv[c] * (1 - mom));
      m = bm;
      v = bv;
    }
    const out = outBuf(X!.dtype, x.length);
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++) {
        const k = s[c] / Math.sqrt(v[c] + eps),
          off = b[c] - m[c] * k;
        const base = (n * C + c) * isz;
        for (let i = 0; i < isz; i++) out[base + i] = x[base + i] * k + off;
      }
    const y = make(X!.dtype, [...X!.dims], out);
    return training && node.outputs.filter(Boolean).length > 1
      ? [y, make(mean!.dtype, [C], runMean!), make(varT!.dtype, [C], runVar!)]
      : [y];
  },
  LayerNormalization: (node, [X, scale, B]) => {
    const rank = X!.dims.length;
    const axis = normAxis(node.attrInt('axis', -1), rank);
    const eps = node.attrFloat('epsilon', 1e-5);
    const inner = size(X!.dims.slice(axis)),
      outer = size(X!.dims.slice(0, axis));
    const x = num(X!),
      s = num(scale!),
      b = B ? num(B) : undefined;
    const si = (i: number) => i % s.length;
    const out = outBuf(X!.dtype, x.length),
      meanO = new Float64Array(outer),
      inv = new Float64Array(outer);
    for (let o = 0; o < outer; o++) {
      let mean = 0;
      for (let i = 0; i < inner; i++) mean += x[o * inner + i];
      mean /= inner;
      let v = 0;
      for (let i = 0; i < inner; i++) {
        const d = x[o * inner + i] - mean;
        v += d * d;
      }
      const r = 1 / Math.sqrt(v / inner + eps);
      meanO[o] = mean;
      inv[o] = r;
      for (let i = 0; i < inner; i++)
        out[o * inner + i] = (x[o * inner + i] - mean) * r * s[si(i)] + (b ? b[i % b.length] : 0);
    }
    const statDims = X!.dims.map((d, i) => (i < axis ? d : 1));
    const stash = node.attrInt('stash_type', DataType.FLOAT);
    return [make(X!.dtype, [...X!.dims], out), make(stash, statDims, meanO), make(stash, statDims, inv)];
  },
  InstanceNormalization: (node, [X, scale, B]) => {
    const [N, C, ...sp] = X!.dims;
    const isz = size(sp),
      x = num(X!),
      s = num(scale!),
      b = num(B!);
    const eps = node.attrFloat('epsilon', 1e-5);
    const out = outBuf(X!.dtype, x.length);
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++) {
        const base = (n * C + c) * isz;
        let mean = 0;
        for (let i = 0; i < isz; i++) mean += x[base + i];
        mean /= isz;
        let v = 0;
        for (let i = 0; i < isz; i++) {
          const d = x[base + i] - mean;
          v += d * d;
        }
        const r = 1 / Math.sqrt(v / isz + eps);
        for (let i = 0; i < isz; i++) out[base + i] = (x[base + i] - mean) * r * s[c] + b[c];
      }
    return [make(X!.dtype, [...X!.dims], out)];
  },
  GroupNormalization: (node, [X, scale, B], ctx) => {
    const [N, C, ...sp] = X!.dims;
    const G = node.attrInt('num_groups', 1);
    // The spec: the channels split evenly into the groups (a hostile 1e12 groups would loop 1e12 times).
    if (!(Number.isSafeInteger(G) && G >= 1 && C % G === 0))
      throw new AmpError(`num_groups ${G} does not divide the ${C} channels`);
    const isz = size(sp),
      x = num(X!),
      s = num(scale!),
      b = num(B!);
    const eps = node.attrFloat('epsilon', 1e-5);
    const cpg = C / G,
      gsz = cpg * isz;
    // Opset 18 had per-group scale/bias; opset 21 per-channel.
    const perChannel = ctx.opset >= 21 || s.length === C;
    const out = outBuf(X!.dtype, x.length);
    for (let n = 0; n < N; n++)
      for (let g = 0; g < G; g++) {
        const base = (n * C + g * cpg) * isz;
        let mean = 0;
        for (let i = 0; i < gsz; i++) mean += x[base + i];
        mean /= gsz;
        let v = 0;
        for (let i = 0; i < gsz; i++) {
          const d = x[base + i] - mean;
          v += d * d;
        }
        const r = 1 / Math.sqrt(v / gsz + eps);
        for (let i = 0; i < gsz; i++) {
          const c = g * cpg + Math.floor(i / isz);
          const k = perChannel ? c : g;
          out[base + i] = (x[base + i] - mean) * r * s[k] + b[k];
        }
      }
    return [make(X!.dtype, [...X!.dims], out)];
  },
  // RMSNormalization (opset 23): x / sqrt(mean(x²) over axes ≥ axis + epsilon) · scale.
  RMSNormalization: (node, [X, scale]) => {
    const axis = normAxis(node.attrInt('axis', -1), X!.dims.length);
    const inner = size(X!.dims.slice(axis)),
      outer = size(X!.dims.slice(0, axis));
    const x = num(X!),
      s = num(scale!),
      eps = node.attrFloat('epsilon', 1e-5);
    const out = new Float64Array(x.length);
    for (let o = 0; o < outer; o++) {
      let ss = 0;
      for (let i = 0; i < inner; i++) ss += x[o * inner + i] ** 2;
      const r = 1 / Math.sqrt(ss / inner + eps);
      for (let i = 0; i < inner; i++) out[o * inner + i] = x[o * inner + i] * r * s[i % s.length];
    }
    return [make(X!.dtype, [...X!.dims], out)];
  },
  LpNormalization: (node, [X]) => {
    const axis = normAxis(node.attrInt('axis', -1), X!.dims.length),
      p = node.attrInt('p', 2);
    const d = X!.dims[axis],
      inner = size(X!.dims.slice(axis + 1)),
      outer = size(X!.dims.slice(0, axis));
    const x = num(X!),
      out = new Float64Array(x.length);
    for (let o = 0; o < outer; o++)
      for (let k = 0; k < inner; k++) {
        let norm = 0;
        for (let j = 0; j < d; j++) {
          const v = x[(o * d + j) * inner + k];
          norm += p === 1 ? Math.abs(v) : v * v;
        }
        if (p !== 1) norm = Math.sqrt(norm);
        for (let j = 0; j < d; j++) {
          const i = (o * d + j) * inner + k;
          out[i] = norm === 0 ? 0 : x[i] / norm;
        }
      }
    return [make(X!.dtype, [...X!.dims], out)];
  },
  // MeanVarianceNormalization: (x − E[x]) / (sqrt(E[x²] − E[x]²) + 1e-9) over `axes` (default N, H, W).
  MeanVarianceNormalization: (node, [X]) => {
    const r = X!.dims.length;
    const axes = new Set((node.attrInts('axes') ?? [0, 2, 3]).map((a) => normAxis(a, r)));
    const x = num(X!),
      out = new Float64Array(x.length);
    const keep = X!.dims.map((d, i) => (axes.has(i) ? 1 : d));
    const groups = new Map<number, number[]>();
    const st = X!.dims.map((_, i) => size(X!.dims.slice(i + 1)));
    const kst = keep.map((_, i) => size(keep.slice(i + 1)));
    for (let i = 0; i < x.length; i++) {
      let key = 0;
      for (let a = 0; a < r; a++) if (!axes.has(a)) key += (Math.floor(i / st[a]) % X!.dims[a]) * kst[a];
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(i);
    }
    for (const idx of groups.values()) {
      let m = 0,
        m2 = 0;
      for (const i of idx) {
        m += x[i];
        m2 += x[i] * x[i];
      }
      m /= idx.length;
      m2 /= idx.length;
      const sd = Math.sqrt(Math.max(0, m2 - m * m)) + 1e-9;
      for (const i of idx) out[i] = (x[i] - m) / sd;
    }
    return [make(X!.dtype, [...X!.dims], out)];
  },
  // LRN: x / (bias + alpha/size · Σ x² over a window of `size` channels)^beta.
  LRN: (node, [X]) => {
    const [N, C, ...sp] = X!.dims;
    const isz = size(sp),
      x = num(X!),
      out = new Float64Array(x.length);
    const n = node.attrInt('size', 1),
      alpha = node.attrFloat('alpha', 1e-4),
      beta = node.attrFloat('beta', 0.75),
      bias = node.attrFloat('bias', 1);
    const lo = Math.floor((n - 1) / 2),
      hi = Math.ceil((n - 1) / 2);
    for (let b = 0; b < N; b++)
      for (let c = 0; c < C; c++)
        for (let i = 0; i < isz; i++) {
          let sq = 0;
          for (let j = Math.max(0, c - lo); j <= Math.min(C - 1, c + hi); j++) sq += x[(b * C + j) * isz + i] ** 2;
          const k = (b * C + c) * isz + i;
          out[k] = x[k] / (bias + (alpha / n) * sq) ** beta;
        }
    return [make(X!.dtype, [...X!.dims], out)];
  },
};
