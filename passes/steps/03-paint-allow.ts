/**
 * Step 3 — paint allow. Allow nodes that touch a float tensor run in low precision; deny nodes in fp32.
 * A node that already computes in a half type is left as it is: one that touches the other half type (fp16
 * in a bf16 conversion, or bf16 in an fp16 one) is not converted — converting between the two would lose bits
 * either way — and one whose float tensors are all in the target type already (an fp16 Attention in a partly
 * fp16 model, or any node of an already converted model) is low whatever its class: the pass converts fp32,
 * it does not move the author's fp16 back to fp32 (which would also break its declared types).
 */
import { touchesFloat, elemType, type PassContext } from '../context.js';
import { DataType } from '../../src/core/dtype.js';
import type { Node } from '../../src/ir/graph.js';

/** 'other': touches the other half type; 'low': its float tensors are all of the target type already. */
function alreadyHalf(ctx: PassContext, n: Node): 'other' | 'low' | undefined {
  const other = ctx.low === DataType.FLOAT16 ? DataType.BFLOAT16 : DataType.FLOAT16;
  const types = [...n.inputs, ...n.outputs].filter(Boolean).map((v) => elemType(ctx.graph, v));
  return types.includes(other)
    ? 'other'
    : !types.includes(DataType.FLOAT) && types.includes(ctx.low)
      ? 'low'
      : undefined;
}

export function paintAllow(ctx: PassContext): void {
  for (const n of ctx.graph.nodes) {
    const half = touchesFloat(ctx.graph, n) ? alreadyHalf(ctx, n) : undefined;
    if (!touchesFloat(ctx.graph, n) || half === 'other') ctx.prec.set(n, 'none');
    else if (half === 'low') ctx.prec.set(n, 'low');
    else if (ctx.cls.get(n) === 'allow') ctx.prec.set(n, 'low');
    else if (ctx.cls.get(n) === 'deny') ctx.prec.set(n, 'high');
  }
}
