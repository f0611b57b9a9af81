/** LayerNormalization over the last axis (output Y only), statistics in f32, one invocation per row. */
import type { GpuKernel } from './types.js';
import { numel, isFloatTensor, Params } from '../program.js';
import { lastAxis } from './softmax.js';

export const layernormKernels: Record<string, GpuKernel> = {
  LayerNormalization: (node, [x, scale, bias], ctx) => {
    if (
      !isFloatTensor(x) ||
      !lastAxis(node.attrInt('axis', -1), x!.dims.length) ||
      node.outputs.filter(Boolean).length > 1
    )
      return undefined;
    if (scale!.dtype !== x!.dtype || (bias && bias.dtype !== x!.dtype)) return undefined;
    const D = x!.dims[x!.dims.length - 1],
      rows = numel(x!.dims) / D,
      T = ctx.type(x!.dtype);
    if (numel(scale!.dims) !== D || (bias && numel(bias.dims) !== D)) return undefined;
    const ins = bias ? [x!, scale!, bias] : [x!, scale!];
    const p = new Params().u32('rows', rows).u32('D', D).f32('eps', node.attrFloat('epsilon', 1e-5));
    return {
      key: `layernorm:${x!.dtype}:${!!bias}`,
      inputs: ins,
      outputs: [{ dtype: x!.dtype, dims: [...x!.dims] }],
      meta: p.meta,
      groups: ctx.groups(rows),
      wgsl: () => `${ctx.bindings(
        ins.map((t) => t.dtype),
        [x!.dtype],
      )}${ctx.prologue('rows', p)}
  let base = i * D;
  var mean = 0.0;
  for (var k = 0u; k < D; k++) { mean += f32(in0[base + k]); }
  mean /= f32(D);
  var v = 0.0;
  for (var k = 0u; k < D; k++) { let d = f32(in0[base + k]) - mean; v += d * d; }
  let r = 1.0 / sqrt(v / f32(D) + eps);
  for (var k = 0u; k < D; k++) {
    out0[base + k] = ${T}((f32(in0[base + k]) - mean) * r * f32(in1[k])${bias ? ' + f32(in2[k])' : ''});
  }
}`,
    };
  },
};
