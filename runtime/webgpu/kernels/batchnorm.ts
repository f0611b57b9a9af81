/** BatchNormalization, inference form (training mode runs on the CPU reference), and LRN across channels. */
import type { GpuKernel } from './types.js';
import { numel, isFloatTensor, Params, type GpuTensor, type Program, type ProgramContext } from '../program.js';

/**
 * Training mode: the batch's statistics (two passes in f32: mean, then mean squared deviation) normalize, and the
 * running statistics are updated by momentum (outputs 1 and 2 when asked for), as the CPU reference does. One
 * invocation per channel: the training graphs this serves have few channels.
 */
function training(
  ctx: ProgramContext,
  node: Parameters<GpuKernel>[0],
  x: GpuTensor,
  [scale, b, mean, v]: GpuTensor[],
): Program | undefined {
  const outs = node.outputs.filter(Boolean).length;
  if (outs !== 1 && outs !== 3) return undefined;
  const [N, C, ...sp] = x.dims,
    S = numel(sp),
    T = ctx.type(x.dtype);
  const p = new Params()
    .u32('count', C)
    .u32('C', C)
    .u32('N', N)
    .u32('S', S)
    .f32('eps', node.attrFloat('epsilon', 1e-5))
    .f32('mom', node.attrFloat('momentum', 0.9));
  const outputs = [
    { dtype: x.dtype, dims: [...x.dims] },
    ...(outs === 3
      ? [
          { dtype: mean.dtype, dims: [C] },
          { dtype: v.dtype, dims: [C] },
        ]
      : []),
  ];
  return {
    key: `batchnorm-train:${[x, scale, b, mean, v].map((t) => t.dtype).join(',')}:${outs}`,
    inputs: [x, scale, b, mean, v],
    outputs,
    meta: p.meta,
    groups: ctx.groups(C),
    wgsl: () => `${ctx.bindings(
      [x, scale, b, mean, v].map((t) => t.dtype),
      outputs.map((o) => o.dtype),
    )}${ctx.prologue('count', p)}
  let c = i; let cnt = f32(N * S);
  var sum = 0.0;
  for (var nb = 0u; nb < N; nb++) { for (var k = 0u; k < S; k++) { sum += f32(in0[(nb * C + c) * S + k]); } }
  let m = sum / cnt;
  var sq = 0.0;
  for (var nb = 0u; nb < N; nb++) { for (var k = 0u; k < S; k++) { let d = f32(in0[(nb * C + c) * S + k]) - m; sq += d * d; } }
  let bv = sq / cnt;
  let kk = f32(in1[c]) / sqrt(bv + eps); let off = f32(in2[c]) - m * kk;
  for (var nb = 0u; nb < N; nb++) { for (var k = 0u; k < S; k++) { let j = (nb * C + c) * S + k; out0[j] = ${T}(f32(in0[j]) * kk + off); } }
  ${
    outs === 3
      ? `out1[c] = ${ctx.type(mean.dtype)}(f32(in3[c]) * mom + m * (1.0 - mom));
  out2[c] = ${ctx.type(v.dtype)}(f32(in4[c]) * mom + bv * (1.0 - mom));`
      : ''
  }
}`,
  };
}

export const batchnormKernels: Record<string, GpuKernel> = {
  // LRN: x / (bias + alpha/size · Σ x² over `size` neighbouring channels)^beta, f32 math like the CPU kernel.
  LRN: (node, [x], ctx) => {
    if (!isFloatTensor(x) || x!.dims.length < 2) return undefined;
    const [, C, ...sp] = x!.dims;
    const size = node.attrInt('size', 1),
      n = numel(x!.dims),
      T = ctx.type(x!.dtype);
    const p = new Params()
      .u32('count', n)
      .i32('C', C)
      .u32('S', numel(sp))
      .i32('lo', Math.floor((size - 1) / 2))
      .i32('hi', Math.ceil((size - 1) / 2))
      .f32('scale', node.attrFloat('alpha', 1e-4) / size)
      .f32('beta', node.attrFloat('beta', 0.75))
      .f32('bias', node.attrFloat('bias', 1));
    return {
      key: `lrn:${x!.dtype}`,
      inputs: [x!],
      outputs: [{ dtype: x!.dtype, dims: [...x!.dims] }],
      meta: p.meta,
      groups: ctx.groups(n),
      wgsl: () => `${ctx.bindings([x!.dtype], [x!.dtype])}${ctx.prologue('count', p)}
  let c = i32((i / S) % u32(C)); let base = i - u32(c) * S;
  var sq = 0.0;
  for (var j = max(0, c - lo); j <= min(C - 1, c + hi); j++) { let v = f32(in0[base + u32(j) * S]); sq += v * v; }
  out0[i] = ${T}(f32(in0[i]) / pow(bias + scale * sq, beta));
}`,
    };
  },
  BatchNormalization: (node, [x, scale, b, mean, v], ctx) => {
    // Parameters may be fp32 under fp16 data (BatchNormalization-15 allows it; the pass keeps statistics beyond fp16 so).
    if (!isFloatTensor(x) || [scale, b, mean, v].some((t) => !isFloatTensor(t))) return undefined;
    if (node.attrInt('training_mode', 0) === 1) return training(ctx, node, x!, [scale!, b!, mean!, v!]);
    const [, C, ...sp] = x!.dims;
    const n = numel(x!.dims),
      T = ctx.type(x!.dtype);
    const p = new Params().u32('count', n).u32('C', C).u32('S', numel(sp)).f32('eps', node.attrFloat('epsilon', 1e-5));
    return {
      key: `batchnorm:${[x, scale, b, mean, v].map((t) => t!.dtype).join(',')}`,
      inputs: [x!, scale!, b!, mean!, v!],
      outputs: [{ dtype: x!.dtype, dims: [...x!.dims] }],
      meta: p.meta,
      groups: ctx.groups(n),
      wgsl: () => `${ctx.bindings(
        [x, scale, b, mean, v].map((t) => t!.dtype),
        [x!.dtype],
      )}${ctx.prologue('count', p)}
  let c = (i / S) % C;
  let k = f32(in1[c]) / sqrt(f32(in4[c]) + eps);
  out0[i] = ${T}((f32(in0[i]) - f32(in3[c])) * k + f32(in2[c]));
}`,
    };
  },
};
