/** Where values stand once the decisions are applied: which are low precision, which graph inputs/outputs keep their type. */
import { elemType, isFloatValue, isLowBranchOutput, type PassContext } from '../context.js';
import { opPolicy, slotPolicy } from '../policy.js';
import { DataType } from '../../src/core/dtype.js';

/** The first opset whose Cast takes its target as an element-type number (Cast-6). */
export const CAST_INT_TO = 6;

/** Will this value be low precision once the decisions are applied? */
export function isLowSource(ctx: PassContext, name: string): boolean {
  const g = ctx.graph;
  if (!isFloatValue(g, name)) return false;
  const v = g.lookup(name) ?? g.values.get(name);
  const p = v?.producer;
  if (p && p.graph === g) return ctx.prec.get(p) === 'low' || isLowBranchOutput(ctx, p, name);
  if (g.inputs.includes(name) && !g.initializers.has(name)) {
    // Main-graph fp32 inputs become low unless keepIoTypes; inputs already in a half type keep it.
    const t = elemType(g, name);
    return (ctx.isMain && !keepIo(ctx, name) && t === DataType.FLOAT) || t === ctx.low;
  }
  return elemType(g, name) === ctx.low && !g.initializers.has(name);
}

/**
 * Does main-graph input/output `name` keep its type? keepIoTypes (all, or the names and patterns listed), forced for bf16
 * below opset 13 (Cast accepts bfloat16 only from opset 13, so no boundary could be cast) and in a model that imports
 * no default-domain opset (no Cast can be written there); outputs of fp32 ops whose values outgrow the low type too.
 */
export const keepIo = (ctx: PassContext, name: string): boolean => {
  const k = ctx.opts.keepIoTypes;
  return (
    k === true ||
    (k instanceof Set && k.has(name)) ||
    ctx.opts.keepIoPatterns.some((r) => r.test(name)) ||
    (ctx.low === DataType.BFLOAT16 && ctx.opset < 13) ||
    ctx.model.opset('') === undefined ||
    ctx.opset < CAST_INT_TO ||
    wideOutput(ctx, name) ||
    onlyKeptSlots(ctx, name)
  );
};

/** A graph input read only through slots that are always fp32 (Resize scales, Dropout ratio): lowering it only loses bits. */
function onlyKeptSlots(ctx: PassContext, name: string): boolean {
  const g = ctx.graph;
  if (!g.inputs.includes(name)) return false;
  const readers = g.values.get(name)?.consumers ?? [];
  return (
    readers.length > 0 &&
    readers.every(
      (c) =>
        c.graph === g &&
        c.inputs.every((x, slot) => x !== name || slotPolicy(c.key, ctx.opset).inputs?.[slot] === 'keep'),
    )
  );
}

/** A graph output written by an fp32 node whose values outgrow the low type (OpPolicy.wide): its edge cast would overflow. */
function wideOutput(ctx: PassContext, name: string): boolean {
  const p = ctx.graph.values.get(name)?.producer;
  return (
    !!p &&
    p.graph === ctx.graph &&
    ctx.graph.outputs.includes(name) &&
    ctx.cls.get(p) === 'deny' &&
    !!opPolicy(p.opType, p.domain, ctx.opset).wide
  );
}
