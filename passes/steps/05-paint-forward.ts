/**
 * Step 5 — paint infer and clear nodes forward. In topological order, an undecided infer/clear node runs in
 * low precision when any of its float inputs already is low precision (produced by a low node, or a model
 * input that becomes low). Casts, constants and ops whose type follows a slot are decided by their consumers
 * instead (step 6; `decidedByConsumers` in the policy) — except a Cast(to=FLOAT) of a low value none of whose
 * readers is already fp32: upcasting inside a low region only breaks it up, so it goes low (retargeted; step 9
 * removes it as a no-op). One that feeds an fp32 node is a boundary and stays (idempotence: the pass's own
 * boundary casts look exactly like that).
 */
import type { PassContext } from '../context.js';
import { decidedByConsumers, opRole } from '../policy.js';
import { isLowSource, keepIo } from '../lib/sources.js';
import { DataType } from '../../src/core/dtype.js';

export function paintForward(ctx: PassContext): void {
  for (const n of ctx.graph.nodes) {
    if (ctx.prec.has(n)) continue;
    if (
      opRole(n.opType) === 'cast' &&
      n.attrInt('to', 0) === DataType.FLOAT &&
      ctx.cls.get(n) !== 'deny' &&
      isLowSource(ctx, n.inputs[0]) &&
      (!ctx.graph.outputs.includes(n.outputs[0]) || (ctx.isMain && !keepIo(ctx, n.outputs[0]))) &&
      !(ctx.graph.values.get(n.outputs[0])?.consumers ?? []).some(
        (c) => c.graph !== ctx.graph || ctx.prec.get(c) === 'high',
      )
    ) {
      ctx.prec.set(n, 'low');
      continue;
    }
    if (decidedByConsumers(n.opType, ctx.opset)) continue;
    const cls = ctx.cls.get(n);
    if (cls !== 'infer' && cls !== 'clear') continue;
    if (n.inputs.some((i) => isLowSource(ctx, i))) ctx.prec.set(n, 'low');
  }
}
