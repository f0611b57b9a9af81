/** Row-wise ops over the last axis, one invocation per row: Softmax, LogSoftmax, LayerNormalization. */
import type { GpuKernel } from './types.js';
import { bindings, PROLOGUE, groupsFor, numel, wgslType, f32bits, type GpuTensor } from '../shader.js';
import { DataType } from '../../../src/ir/dtype.js';

const isF = (t?: GpuTensor) => !!t && (t.dtype === DataType.FLOAT || t.dtype === DataType.FLOAT16);
const lastAxis = (axis: number, rank: number) => axis === -1 || axis === rank - 1;

const softmax = (log: boolean): GpuKernel => (node, [x], opset) => {
  if (!isF(x) || opset < 13 || !lastAxis(node.attrInt('axis', -1), x!.dims.length)) return undefined;
  const D = x!.dims[x!.dims.length - 1], rows = numel(x!.dims) / D, T = wgslType(x!.dtype);
  return {
    key: `softmax:${log}:${x!.dtype}`, inputs: [x!], outputs: [{ dtype: x!.dtype, dims: [...x!.dims] }], meta: [rows, D], groups: groupsFor(rows),
    wgsl: () => `${bindings([x!.dtype], [x!.dtype])}${PROLOGUE('prm[0]')}
  let D = prm[1]; let base = i * D;
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

export const rowKernels: Record<string, GpuKernel> = {
  Softmax: softmax(false),
  LogSoftmax: softmax(true),
  LayerNormalization: (node, [x, scale, bias]) => {
    if (!isF(x) || !lastAxis(node.attrInt('axis', -1), x!.dims.length) || node.outputs.filter(Boolean).length > 1) return undefined;
    if (scale!.dtype !== x!.dtype || (bias && bias.dtype !== x!.dtype)) return undefined;
    const D = x!.dims[x!.dims.length - 1], rows = numel(x!.dims) / D, T = wgslType(x!.dtype);
    if (numel(scale!.dims) !== D || (bias && numel(bias.dims) !== D)) return undefined;
    const ins = bias ? [x!, scale!, bias] : [x!, scale!];
    return {
      key: `layernorm:${x!.dtype}:${!!bias}`, inputs: ins, outputs: [{ dtype: x!.dtype, dims: [...x!.dims] }],
      meta: [rows, D, f32bits(node.attrFloat('epsilon', 1e-5))], groups: groupsFor(rows),
      wgsl: () => `${bindings(ins.map((t) => t.dtype), [x!.dtype])}${PROLOGUE('prm[0]')}
  let D = prm[1]; let base = i * D; let eps = bitcast<f32>(prm[2]);
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
