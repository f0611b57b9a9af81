/**
 * Resize / Upsample (nearest, linear, cubic; every coordinate transformation mode but tf_crop_and_resize): the
 * CPU kernel's plan (runtime/cpu/kernels/resize.ts resizePlan) gives each output coordinate of a resized axis its
 * (input index, weight) taps; up to two resized axes with up to four taps each travel in the parameters, and one
 * invocation per output element sums the products. Antialiased downscales (more taps) stay on the CPU.
 */
import type { GpuKernel } from './types.js';
import { numel, isFloatTensor, Params, f32bits } from '../program.js';
import { resizePlan, resizeArgs } from '../../ops/resize.js';

const MAX_RANK = 6,
  TAPS = 4;

const resize: GpuKernel = (node, [X], ctx, cpu = []) => {
  if (!isFloatTensor(X) || X!.dims.length > MAX_RANK) return undefined;
  // roi, scales, sizes: CPU data (a resize driven by a computed shape runs on the CPU).
  if (node.inputs.some((x, k) => k > 0 && x && !cpu[k])) return undefined;
  if (node.attrString('coordinate_transformation_mode', '') === 'tf_crop_and_resize') return undefined;
  const up = node.opType === 'Upsample';
  const a = resizeArgs(node, [undefined, cpu[1], cpu[2], cpu[3]], ctx.opset);
  const plan = resizePlan(
    node,
    X!.dims,
    a.scales,
    up ? undefined : a.sizes,
    a.roi,
    up ? Math.min(ctx.opset, 10) : ctx.opset,
  );
  const axes = plan.taps.flatMap((t, ax) => (t ? [ax] : []));
  if (axes.length > 2 || axes.some((ax) => plan.taps[ax]!.some((t) => t.length > TAPS || t.some(([i]) => i < 0))))
    return undefined;
  // The tap tables ride in the parameter block: large ones (over 64 KiB) stay on the CPU.
  if (axes.reduce((acc, ax) => acc + plan.outDims[ax] * TAPS * 2, 0) > 16384) return undefined;
  const table = (ax: number) =>
    plan.taps[ax]!.flatMap((t) =>
      Array.from({ length: TAPS }, (_, j) => (j < t.length ? [t[j][0], f32bits(t[j][1])] : [0, 0])).flat(),
    );
  const dims = plan.outDims,
    n = numel(dims),
    r = dims.length,
    T = ctx.type(X!.dtype);
  const istr = X!.dims.map((_, i) => numel(X!.dims.slice(i + 1)));
  const p = new Params()
    .u32('count', n)
    .u32('rank', r)
    .array('odims', dims, MAX_RANK, 1)
    .array('istr', istr, MAX_RANK)
    .u32('axA', axes[0] ?? 99)
    .u32('axB', axes[1] ?? 99);
  if (axes[0] !== undefined) p.array('tA', table(axes[0]));
  if (axes[1] !== undefined) p.array('tB', table(axes[1]));
  const sA = axes[0] !== undefined ? `istr(axA)` : '0u',
    sB = axes[1] !== undefined ? `istr(axB)` : '0u';
  // The sum over taps: nested over the resized axes (a zero weight is a padding slot).
  const inner =
    axes.length === 2
      ? `for (var q = 0u; q < ${TAPS}u; q++) {
        let wb = bitcast<f32>(tB((oB * ${TAPS}u + q) * 2u + 1u));
        if (wb == 0.0) { continue; }
        acc += wa * wb * f32(in0[base + tA((oA * ${TAPS}u + p) * 2u) * ${sA} + tB((oB * ${TAPS}u + q) * 2u) * ${sB}]);
      }`
      : `acc += wa * f32(in0[base + tA((oA * ${TAPS}u + p) * 2u) * ${sA}]);`;
  const body =
    axes.length === 0
      ? 'acc = f32(in0[base]);'
      : `for (var p = 0u; p < ${TAPS}u; p++) {
      let wa = bitcast<f32>(tA((oA * ${TAPS}u + p) * 2u + 1u));
      if (wa == 0.0) { continue; }
      ${inner}
    }`;
  return {
    key: `resize:${X!.dtype}:${axes.length}`,
    inputs: [X!],
    outputs: [{ dtype: X!.dtype, dims }],
    meta: p.meta,
    groups: ctx.groups(n),
    wgsl: () => `${ctx.bindings([X!.dtype], [X!.dtype])}${ctx.prologue('count', p)}
  var rem = i; var base = 0u; var oA = 0u; var oB = 0u;
  for (var k = 0u; k < rank; k++) {
    let ax = rank - 1u - k;
    let c = rem % odims(ax); rem = rem / odims(ax);
    if (ax == axA) { oA = c; } else if (ax == axB) { oB = c; } else { base += c * istr(ax); }
  }
  var acc = 0.0;
  ${body}
  out0[i] = ${T}(acc);
}`,
  };
};

export const resizeKernels: Record<string, GpuKernel> = { Resize: resize, Upsample: resize };
