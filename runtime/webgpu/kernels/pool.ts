/** 2-D MaxPool (with Indices) / AveragePool (pads, strides, dilations, count_include_pad) and GlobalAveragePool. */
import type { GpuKernel } from './types.js';
import { numel, isFloatTensor, Params, type GpuTensor, type ProgramContext } from '../program.js';
import { poolGeometry } from '../../ops/pool.js';
import { DataType } from '../../../src/core/dtype.js';

/**
 * WGSL: the taps j ∈ [0, K) of a window starting at `first` (step d > 0) with first + j·d in [lo, hi), as
 * [x, y] inclusive (empty when y < x) — as the CPU kernel's tapRange (i32 division truncates, so floor by hand).
 */
const TAPS = `fn floorDiv(a: i32, b: i32) -> i32 { let q = a / b; return select(q, q - 1, a % b != 0 && a < 0); }
fn taps(first: i32, d: i32, K: i32, lo: i32, hi: i32) -> vec2<i32> {
  return vec2<i32>(max(0, -floorDiv(first - lo, d)), min(K - 1, floorDiv(hi - 1 - first, d)));
}
`;

function pool2d(ctx: ProgramContext, node: Parameters<GpuKernel>[0], X: GpuTensor | undefined, kind: 'max' | 'avg') {
  // MaxPool's Indices (flat positions in X, row-major: storage_order 0) as a second, int64 output.
  const withIdx = kind === 'max' && !!node.outputs[1];
  if (
    !isFloatTensor(X) ||
    X!.dims.length !== 4 ||
    (kind === 'avg' && node.outputs.filter(Boolean).length > 1) ||
    (withIdx && node.attrInt('storage_order', 0) !== 0)
  )
    return undefined;
  const [N, C, H, W] = X!.dims;
  const g = poolGeometry(node, [H, W]);
  const [OH, OW] = g.out;
  const n = N * C * OH * OW,
    T = ctx.type(X!.dtype);
  const p = new Params()
    .u32('count', n)
    .i32('H', H)
    .i32('W', W)
    .u32('OH', OH)
    .u32('OW', OW)
    .u32('KH', g.k[0])
    .u32('KW', g.k[1])
    .u32('SH', g.st[0])
    .u32('SW', g.st[1])
    .i32('PT', g.pads[0])
    .i32('PL', g.pads[1])
    .u32('DH', g.dl[0])
    .u32('DW', g.dl[1])
    .u32('includePad', node.attrInt('count_include_pad', 0))
    .i32('PB', g.pads[2])
    .i32('PR', g.pads[3]);
  const outs = [
    { dtype: X!.dtype, dims: [N, C, OH, OW] },
    ...(withIdx ? [{ dtype: DataType.INT64, dims: [N, C, OH, OW] }] : []),
  ];
  return {
    key: `pool:${kind}:${X!.dtype}:${withIdx}`,
    inputs: [X!],
    outputs: outs,
    meta: p.meta,
    groups: ctx.groups(n),
    wgsl: () => `${ctx.bindings(
      [X!.dtype],
      outs.map((o) => o.dtype),
    )}${TAPS}${ctx.prologue('count', p)}
  let ow = i % OW; let oh = (i / OW) % OH; let nc = i / (OW * OH);
  var acc = ${kind === 'max' ? '-3.4e38' : '0.0'};
  var cnt = 0u; var best = -1;
  // Only the taps inside the input are visited (a window far larger than the input costs what the input does);
  // those inside the padded input are counted, for count_include_pad.
  let fh = i32(oh * SH) - PT; let fw = i32(ow * SW) - PL;
  let h = taps(fh, i32(DH), i32(KH), 0, H); let w = taps(fw, i32(DW), i32(KW), 0, W);
  let ph = taps(fh, i32(DH), i32(KH), -PT, H + PB); let pw = taps(fw, i32(DW), i32(KW), -PL, W + PR);
  let padded = u32(max(0, ph.y - ph.x + 1) * max(0, pw.y - pw.x + 1));
  for (var kh = h.x; kh <= h.y; kh++) {
    let ih = fh + kh * i32(DH);
    for (var kw = w.x; kw <= w.y; kw++) {
      let iw = fw + kw * i32(DW);
      let at = nc * u32(H) * u32(W) + u32(ih) * u32(W) + u32(iw);
      let v = f32(in0[at]);
      ${kind === 'avg' ? 'acc += v;' : withIdx ? 'if (v > acc || best < 0) { acc = v; best = i32(at); }' : 'acc = max(acc, v);'}
      cnt++;
    }
  }
  ${kind === 'avg' ? 'acc = acc / f32(select(cnt, padded, includePad == 1u));' : ''}
  out0[i] = ${T}(acc);${withIdx ? '\n  out1[i] = best;' : ''}
}`,
  };
}

export const poolKernels: Record<string, GpuKernel> = {
  MaxPool: (node, [X], ctx) => pool2d(ctx, node, X, 'max'),
  AveragePool: (node, [X], ctx) => pool2d(ctx, node, X, 'avg'),
  GlobalAveragePool: (_node, [X], ctx) => {
    if (!isFloatTensor(X)) return undefined;
    const [N, C, ...sp] = X!.dims;
    const S = numel(sp),
      n = N * C,
      T = ctx.type(X!.dtype);
    const p = new Params().u32('count', n).u32('S', S);
    return {
      key: `gap:${X!.dtype}`,
      inputs: [X!],
      outputs: [{ dtype: X!.dtype, dims: [N, C, ...sp.map(() => 1)] }],
      meta: p.meta,
      groups: ctx.groups(n),
      wgsl: () => `${ctx.bindings([X!.dtype], [X!.dtype])}${ctx.prologue('count', p)}
  var s = 0.0;
  for (var k = 0u; k < S; k++) { s += f32(in0[i * S + k]); }
  out0[i] = ${T}(s / f32(S));
}`,
    };
  },
};
