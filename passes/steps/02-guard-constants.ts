/**
 * Step 2 — guard constants. A float constant (initializer, Constant / ConstantOfShape value) that fp16
 * cannot hold keeps its reader in fp32 instead of being clamped: values beyond `maxInit` (default 65504,
 * fp16's largest finite), or a tensor that would lose more than `underflowMass` of its L1 mass to values
 * below `minPositive` (default 2^-24, fp16's smallest subnormal). Where the op's type constraints let that
 * input keep fp32 while the node runs low (`mixed` slot groups in the policy, e.g. BatchNormalization-15's
 * scale/bias and mean/var), only the slot group stays fp32. With `clamp` the old behaviour returns: values
 * are clamped to ±65504 in step 7 and nothing is kept. bf16 holds fp32's range, so it is guarded only
 * against limits the user sets.
 */
import type { PassContext } from '../context.js';
import { constantRange } from '../lib/ranges.js';
import { isFloatValue, keep } from '../context.js';
import { opRole, slotPolicy } from '../policy.js';
import { DataType } from '../../src/core/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import type { Node } from '../../src/ir/graph.js';

/** The float tensor behind an input, when it is a constant of this graph. */
function constantOf(ctx: PassContext, name: string): Tensor | undefined {
  const g = ctx.graph;
  const init = g.initializers.get(name);
  if (init) return init.dataType === DataType.FLOAT && !g.inputs.includes(name) ? init : undefined;
  const p = g.values.get(name)?.producer;
  if (!p || p.graph !== g || opRole(p.opType) !== 'constant') return undefined;
  const a = p.attr('value');
  return a?.t && a.t.dataType === DataType.FLOAT ? Tensor.fromProto(a.t) : undefined;
}

export function guardConstants(ctx: PassContext): void {
  const { opts } = ctx;
  const f16 = ctx.low === DataType.FLOAT16;
  const maxInit = opts.maxInit ?? (f16 ? 65504 : Infinity);
  const minPositive = opts.minPositive ?? (f16 ? 2 ** -24 : 0);
  if (opts.clamp || (maxInit === Infinity && minPositive === 0)) return;
  for (const n of ctx.graph.nodes) {
    if (ctx.cls.get(n) === 'deny') continue;
    const sp = slotPolicy(n.key, ctx.opset);
    n.inputs.forEach((name, slot) => {
      if (!name || !isFloatValue(ctx.graph, name) || sp.inputs?.[slot] === 'keep' || sp.inputs?.[slot] === 'any')
        return;
      const t = constantOf(ctx, name);
      if (!t) return;
      const r = constantRange(t, { minPositive, underflowMass: opts.underflowMass }, opts.ranges, opts.scanF32);
      const why =
        r.maxAbs > maxInit
          ? `constant '${t.name || name}' reaches ${r.maxAbs.toPrecision(3)} > ${maxInit}`
          : r.flushedMass > opts.underflowMass
            ? `constant '${t.name || name}' loses ${(100 * r.flushedMass).toFixed(1)}% of its mass below ${minPositive.toPrecision(3)}`
            : undefined;
      if (!why) return;
      const group = sp.mixed?.find((gr) => gr.includes(slot));
      if (group) keepSlots(ctx, n, group, why);
      else if (ctx.cls.get(n) !== 'deny') {
        ctx.cls.set(n, 'deny');
        ctx.reason.set(n, keep('constant', 'constant beyond fp16 range'));
        ctx.summary.guarded.push({ node: n.label, why });
      }
    });
  }
}

function keepSlots(ctx: PassContext, n: Node, slots: number[], why: string): void {
  const s = ctx.keepSlots.get(n) ?? new Set<number>();
  for (const i of slots) s.add(i);
  ctx.keepSlots.set(n, s);
  ctx.summary.guarded.push({ node: n.label, why: `${why} (inputs ${slots.join(', ')} kept fp32)` });
}
