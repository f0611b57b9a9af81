/**
 * ScatterElements (reduction none or add), indices on the GPU (int64 as i32, e.g. MaxPool's Indices): a copy of
 * the data, then one invocation per update writing its element. `add` is an atomic compare-and-swap loop on the
 * element's 32-bit word (for fp16, the word holding the element; the other half is left as it is), rounding the
 * sum to the storage type as the CPU reference's single output rounding does when positions do not repeat
 * (a repeated position adds in arrival order, each sum rounded).
 */
import type { GpuKernel } from './types.js';
import {
  numel,
  isFloatTensor,
  Params,
  HALF_BITS,
  type GpuTensor,
  type Program,
  type ProgramContext,
} from '../program.js';
import { DataType } from '../../../src/core/dtype.js';

const stridesOf = (dims: number[]) => dims.map((_, a) => dims.slice(a + 1).reduce((x, y) => x * y, 1));

function copy(ctx: ProgramContext, x: GpuTensor): Program {
  const n = numel(x.dims),
    T = ctx.type(x.dtype);
  const p = new Params().u32('count', n);
  return {
    key: `copy:${x.dtype}`,
    inputs: [x],
    outputs: [{ dtype: x.dtype, dims: [...x.dims] }],
    meta: p.meta,
    groups: ctx.groups(n),
    wgsl: () => `${ctx.bindings([x.dtype], [x.dtype])}${ctx.prologue('count', p)}
  out0[i] = ${T}(f32(in0[i]));
}`,
  };
}

export const scatterKernels: Record<string, GpuKernel> = {
  ScatterElements: (node, [data, indices, updates], ctx) => {
    const reduction = node.attrString('reduction', 'none');
    if (
      !isFloatTensor(data) ||
      !indices ||
      indices.dtype !== DataType.INT64 ||
      updates?.dtype !== data!.dtype ||
      data!.dims.length > 6
    )
      return undefined;
    if (reduction !== 'none' && reduction !== 'add') return undefined;
    const r = data!.dims.length,
      axis = (node.attrInt('axis', 0) + r) % r,
      n = numel(updates.dims);
    const half = data!.dtype === DataType.FLOAT16 && !ctx.halfEmulated,
      T = ctx.type(data!.dtype);
    const p = new Params()
      .u32('count', n)
      .u32('rank', r)
      .u32('axis', axis)
      .i32('axisDim', data!.dims[axis])
      .array('udims', updates.dims, 6, 1)
      .array('dstrides', stridesOf(data!.dims), 6);
    // Storage of the output: its plain type, or 32-bit words updated atomically.
    const out =
      reduction === 'add'
        ? '@group(0) @binding(3) var<storage, read_write> out0: array<atomic<u32>>;'
        : ctx
            .bindings([], [data!.dtype])
            .split('\n')
            .find((l) => l.includes('out0'))!
            .replace('binding(1)', 'binding(3)');
    const decl = `${ctx
      .bindings([indices.dtype, updates.dtype], [])
      .split('\n')
      .filter((l) => !l.includes('out0'))
      .join('\n')}\n${out}`;
    const store =
      reduction === 'none'
        ? `out0[t] = ${T}(u);`
        : half
          ? `let w = t >> 1u; let sh = (t & 1u) * 16u;
  loop {
    let old = atomicLoad(&out0[w]);
    let h = half_bits(unpack2x16float(old)[t & 1u] + u);
    let r = atomicCompareExchangeWeak(&out0[w], old, (old & ~(0xffffu << sh)) | (h << sh));
    if (r.exchanged) { break; }
  }`
          : `loop {
    let old = atomicLoad(&out0[t]);
    let r = atomicCompareExchangeWeak(&out0[t], old, bitcast<u32>(${T === 'q16' || T === 'qb16' ? T : 'f32'}(bitcast<f32>(old) + u)));
    if (r.exchanged) { break; }
  }`;
    const scatter = (into: GpuTensor[]): Program => ({
      key: `scatter:${data!.dtype}:${reduction}`,
      inputs: [indices, updates],
      outputs: [{ dtype: data!.dtype, dims: [...data!.dims] }],
      into,
      meta: p.meta,
      groups: ctx.groups(n),
      wgsl: () => `${decl}\n${half ? HALF_BITS : ''}${ctx.prologue('count', p)}
  var rem = i; var t = 0u;
  for (var k = 0u; k < rank; k++) {
    let ax = rank - 1u - k;
    var c = rem % udims(ax); rem = rem / udims(ax);
    if (ax == axis) { var q = in0[i]; if (q < 0) { q += axisDim; } c = u32(q); }
    t += c * dstrides(ax);
  }
  let u = f32(in1[i]);
  ${store}
}`,
    });
    return { ...copy(ctx, data!), next: scatter };
  },
};
