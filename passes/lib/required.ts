/** The element type each float input slot must have once decisions are applied (undefined: no constraint). */
import { isFloatValue, isLowCarriedSlot, type PassContext } from '../context.js';
import { slotPolicy } from '../policy.js';
import type { Node } from '../../src/ir/graph.js';
import { DataType } from '../../src/core/dtype.js';

export function requiredInputType(ctx: PassContext, n: Node, slot: number): number | undefined {
  const name = n.inputs[slot];
  if (!name || !isFloatValue(ctx.graph, name)) return undefined;
  const sp = slotPolicy(n.key, ctx.opset).inputs?.[slot];
  if (sp === 'any') return undefined;
  if (sp === 'keep' || ctx.keepSlots.get(n)?.has(slot)) return DataType.FLOAT;
  if (isLowCarriedSlot(ctx, n, slot)) return ctx.low; // a loop-carried value that stays low
  const p = ctx.prec.get(n);
  // The like-slot's type is the output type: low when the node goes low, else whatever the output keeps.
  if (sp === 'like') return p === 'low' ? ctx.low : ctx.graph.values.get(n.outputs[0])?.type?.elemType;
  if (p === 'low') return ctx.low;
  if (p === 'high') return DataType.FLOAT;
  return undefined;
}

/** Output slots of a low node that become low precision (float outputs not excepted by the slot policy). */
export function lowOutputs(ctx: PassContext, n: Node): number[] {
  const keep = slotPolicy(n.key, ctx.opset).keepOutputs ?? [];
  return n.outputs.flatMap((o, j) =>
    o && !keep.includes(j) && ctx.graph.values.get(o)?.type?.elemType === DataType.FLOAT ? [j] : [],
  );
}
