/**
 * The broadcasting elementwise program the binary, comparison, logic and select kernels share (numpy
 * broadcasting over up to three inputs, no index arithmetic where every operand is read as is or is one element).
 */
import type { GpuTensor, Program } from '../program.js';
import { numel, stridedOffsets, Params, bstrides, type ProgramContext } from '../program.js';
import { broadcastShape } from '../../ops/broadcast.js';
import type { Node } from '../../../src/ir/graph.js';
import { DataType } from '../../../src/core/dtype.js';

const STRIDES = ['strideA', 'strideB', 'strideC'];

/**
 * One broadcasting elementwise program over 1–3 inputs: `v0`, `v1`, … are the operands (bool for BOOL inputs,
 * f32 otherwise, or the raw stored value when `raw`), `expr` the result — a bool for a BOOL output.
 */
export function broadcastOp(
  ctx: ProgramContext,
  key: string,
  node: Node,
  ins: GpuTensor[],
  outType: number,
  expr: string,
  helpers = '',
  raw = false,
): Program | undefined {
  const out = broadcastShape(
    ins.map((t) => t.dims),
    node,
  );
  if (out.length > 6) return undefined;
  const n = numel(out);
  const p = new Params().u32('count', n).u32('rank', out.length).array('shape', out, 6, 1);
  ins.forEach((t, k) => p.array(STRIDES[k], bstrides(t.dims, out), 6));
  // No index arithmetic where every operand is read as is or is one element.
  const plain = ins.map((t) => (numel(t.dims) === n ? 'i' : numel(t.dims) === 1 ? '0u' : undefined));
  const direct = plain.every((x) => x !== undefined);
  const offsets = direct
    ? ins.map((_, k) => `let o${k} = ${plain[k]};`).join(' ')
    : stridedOffsets('shape', 'rank', Object.fromEntries(ins.map((_, k) => [`o${k}`, STRIDES[k]])));
  const loads = ins
    .map((t, k) =>
      t.dtype === DataType.BOOL
        ? `let v${k} = in${k}[o${k}] != 0u;`
        : raw
          ? `let v${k} = in${k}[o${k}];`
          : `let v${k} = f32(in${k}[o${k}]);`,
    )
    .join(' ');
  const store = outType === DataType.BOOL ? `select(0u, 1u, ${expr})` : `${ctx.type(outType)}(${expr})`;
  return {
    key: `${key}:${ins.map((t) => t.dtype).join(',')}:${direct ? plain.join('') : 'strided'}`,
    inputs: ins,
    outputs: [{ dtype: outType, dims: out }],
    meta: p.meta,
    groups: ctx.groups(n),
    wgsl: () => `${ctx.bindings(
      ins.map((t) => t.dtype),
      [outType],
    )}\n${helpers}${ctx.prologue('count', p)}
  ${offsets}
  ${loads}
  out0[i] = ${store};
}`,
  };
}
