/** Softmax and LogSoftmax over the last axis (ctx.opset ≥ 13 semantics), one invocation per row. */
import type { GpuKernel } from './types.js';
import { numel, isFloatTensor, Params } from '../program.js';

export const lastAxis = (axis: number, rank: number) => axis === -1 || axis === rank - 1;

const softmax =
  (log: boolean): GpuKernel =>
  (node, [x], ctx) => {
    if (!isFloatTensor(x) || ctx.opset < 13 || !lastAxis(node.attrInt('axis', -1), x!.dims.length)) return undefined;
    const D = x!.dims[x!.dims.length - 1],
      rows = numel(x!.dims) / D,
      T = ctx.type(x!.dtype);
    const p = new Params().u32('rows', rows).u32('D', D);
    return {
      key: `softmax:${log}:${x!.dtype}`,
      inputs: [x!],
      outputs: [{ dtype: x!.dtype, dims: [...x!.dims] }],
      meta: p.meta,
      groups: ctx.groups(rows),
      wgsl: () => `${ctx.bindings([x!.dtype], [x!.dtype])}${ctx.prologue('rows', p)}
  let base = i * D;
  var m = -3.4e38;
  for (var k = 0u; k < D; k++) { m = max(m, f32(in0[base + k])); }
  var s = 0.0;
  for (var k = 0u; k < D; k++) { s += exp(f32(in0[base + k]) - m); }
  for (var k = 0u; k < D; k++) {
    let v = f32(in0[base + k]) - m;
    out0[base + k] = ${T}(${log ? 'v - log(s)' : 'exp(v) / s'});
  }
}`,
    };
  };

export const softmaxKernels: Record<string, GpuKernel> = { Softmax: softmax(false), LogSoftmax: softmax(true) };
