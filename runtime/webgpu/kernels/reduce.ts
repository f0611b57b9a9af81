/**
 * ReduceSum / ReduceMean over any axes (the int64 input when there is one, else the attribute), keepdims or not:
 * one invocation per output element, looping over the reduced elements with strides, accumulating in f32.
 * Long rows of trailing axes (a whole tensor to one value: the training step's checks and norms) take one
 * 64-wide workgroup per output instead, strided partial sums then a tree in workgroup memory — a single
 * invocation summing 50 000 elements took 2.7 ms on lavapipe.
 */
import type { GpuKernel } from './types.js';
import { bindings, PROLOGUE, groupsFor, numel, wgslType, isFloatTensor, Params, MAX_X } from '../shader.js';

const MAX_RANK = 6;
const strides = (dims: number[]) => dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));

const reduce = (op: 'ReduceSum' | 'ReduceMean'): GpuKernel => (node, [x], _opset, cpu) => {
  if (!isFloatTensor(x) || x!.dims.length > MAX_RANK) return undefined;
  const r = x!.dims.length;
  // An axes input wins whatever the opset (as on the CPU: graphs built by our autodiff pass it at any opset).
  if (node.inputs[1] && !cpu?.[1]) return undefined;
  const axesIn = cpu?.[1];
  let axes = axesIn ? Array.from(axesIn.data as ArrayLike<number | bigint>, Number) : node.attrInts('axes') ?? [];
  if (!axes.length) {
    if (node.attrInt('noop_with_empty_axes', 0) === 1) return undefined; // the identity: let the CPU copy it
    axes = x!.dims.map((_, i) => i);
  }
  axes = axes.map((a) => (a < 0 ? a + r : a));
  if (axes.some((a) => a < 0 || a >= r)) return undefined;
  const keepdims = node.attrInt('keepdims', 1) === 1;
  const st = strides(x!.dims);
  const kept = x!.dims.map((_, i) => i).filter((i) => !axes.includes(i)), red = [...new Set(axes)].sort((a, b) => a - b);
  const outDims = keepdims ? x!.dims.map((d, i) => (axes.includes(i) ? 1 : d)) : kept.map((i) => x!.dims[i]);
  const count = numel(outDims), R = numel(red.map((i) => x!.dims[i]));
  const p = new Params().u32('count', count).u32('nKept', kept.length).u32('nRed', red.length).u32('R', R).f32('scale', op === 'ReduceMean' ? 1 / R : 1)
    .array('keptDims', kept.map((i) => x!.dims[i]), MAX_RANK, 1).array('keptStrides', kept.map((i) => st[i]), MAX_RANK)
    .array('redDims', red.map((i) => x!.dims[i]), MAX_RANK, 1).array('redStrides', red.map((i) => st[i]), MAX_RANK);
  const T = wgslType(x!.dtype);
  const trailing = red.every((a, k) => a === r - red.length + k);
  if (trailing && R >= 512) {
    const q = new Params().u32('count', count).u32('R', R).f32('scale', op === 'ReduceMean' ? 1 / R : 1);
    return {
      key: `reduce-rows:${x!.dtype}`, inputs: [x!], outputs: [{ dtype: x!.dtype, dims: outDims }], meta: q.meta, groups: count,
      wgsl: () => `${bindings([x!.dtype], [x!.dtype])}
var<workgroup> part: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${q.locals}
  let o = wid.x + wid.y * ${MAX_X}u;
  var acc = 0.0;
  if (o < count) { let base = o * R; for (var j = lid; j < R; j += 64u) { acc += f32(in0[base + j]); } }
  part[lid] = acc;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (lid < s) { part[lid] += part[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u && o < count) { out0[o] = ${T}(part[0] * scale); }
}`,
    };
  }
  return {
    key: `reduce:${x!.dtype}`, inputs: [x!], outputs: [{ dtype: x!.dtype, dims: outDims }], meta: p.meta, groups: groupsFor(count),
    wgsl: () => `${bindings([x!.dtype], [x!.dtype])}${PROLOGUE('count', p)}
  var rem = i; var base = 0u;
  for (var k = 0u; k < nKept; k++) { let ax = nKept - 1u - k; base += (rem % keptDims(ax)) * keptStrides(ax); rem = rem / keptDims(ax); }
  var acc = 0.0;
  for (var j = 0u; j < R; j++) {
    var rj = j; var off = base;
    for (var k = 0u; k < nRed; k++) { let ax = nRed - 1u - k; off += (rj % redDims(ax)) * redStrides(ax); rj = rj / redDims(ax); }
    acc += f32(in0[off]);
  }
  out0[i] = ${T}(acc * scale);
}`,
  };
};

export const reduceKernels: Record<string, GpuKernel> = { ReduceSum: reduce('ReduceSum'), ReduceMean: reduce('ReduceMean') };
