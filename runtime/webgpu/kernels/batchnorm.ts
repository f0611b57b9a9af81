/** BatchNormalization, inference form (training mode runs on the CPU reference), and LRN across channels. */
import type { GpuKernel } from './types.js';
import { bindings, PROLOGUE, groupsFor, numel, wgslType, isFloatTensor, Params } from '../shader.js';

export const batchnormKernels: Record<string, GpuKernel> = {
  // LRN: x / (bias + alpha/size · Σ x² over `size` neighbouring channels)^beta, f32 math like the CPU kernel.
  LRN: (node, [x]) => {
    if (!isFloatTensor(x) || x!.dims.length < 2) return undefined;
    const [, C, ...sp] = x!.dims;
    const size = node.attrInt('size', 1), n = numel(x!.dims), T = wgslType(x!.dtype);
    const p = new Params().u32('count', n).i32('C', C).u32('S', numel(sp)).i32('lo', Math.floor((size - 1) / 2)).i32('hi', Math.ceil((size - 1) / 2))
      .f32('scale', node.attrFloat('alpha', 1e-4) / size).f32('beta', node.attrFloat('beta', 0.75)).f32('bias', node.attrFloat('bias', 1));
    return {
      key: `lrn:${x!.dtype}`, inputs: [x!], outputs: [{ dtype: x!.dtype, dims: [...x!.dims] }], meta: p.meta, groups: groupsFor(n),
      wgsl: () => `${bindings([x!.dtype], [x!.dtype])}${PROLOGUE('count', p)}
  let c = i32((i / S) % u32(C)); let base = i - u32(c) * S;
  var sq = 0.0;
  for (var j = max(0, c - lo); j <= min(C - 1, c + hi); j++) { let v = f32(in0[base + u32(j) * S]); sq += v * v; }
  out0[i] = ${T}(f32(in0[i]) / pow(bias + scale * sq, beta));
}`,
    };
  },
  BatchNormalization: (node, [x, scale, b, mean, v]) => {
    // Parameters may be fp32 under fp16 data (BatchNormalization-15 allows it; the pass keeps statistics beyond fp16 so).
    if (!isFloatTensor(x) || node.attrInt('training_mode', 0) === 1 || [scale, b, mean, v].some((t) => !isFloatTensor(t))) return undefined;
    const [, C, ...sp] = x!.dims;
    const n = numel(x!.dims), T = wgslType(x!.dtype);
    const p = new Params().u32('count', n).u32('C', C).u32('S', numel(sp)).f32('eps', node.attrFloat('epsilon', 1e-5));
    return {
      key: `batchnorm:${[x, scale, b, mean, v].map((t) => t!.dtype).join(',')}`, inputs: [x!, scale!, b!, mean!, v!], outputs: [{ dtype: x!.dtype, dims: [...x!.dims] }], meta: p.meta, groups: groupsFor(n),
      wgsl: () => `${bindings([x, scale, b, mean, v].map((t) => t!.dtype), [x!.dtype])}${PROLOGUE('count', p)}
  let c = (i / S) % C;
  let k = f32(in1[c]) / sqrt(f32(in4[c]) + eps);
  out0[i] = ${T}((f32(in0[i]) - f32(in3[c])) * k + f32(in2[c]));
}`,
    };
  },
};
