/**
 * Step 6b — fewest casts. Clear nodes (data movement: Slice, Reshape, Concat, Gather...) compute the same in
 * either precision, so where the cast sits around them is free to choose; painting decides them locally, which
 * can cast each of a value's slices instead of the value once. This step re-decides the clear nodes that
 * painting (not a rule or the user) decided, by a minimum cut: fp32 on the source side, low on the sink side,
 * one unit of cost per (value, type) cast that step 8 will insert — so the count is exactly minimal over those
 * choices — and a far smaller cost for leaving painting's decision, so among equally few casts nothing moves.
 * The model's own upcasts (Cast to=FLOAT) that painting decided are free too: kept fp32 they are a cast of
 * their input, retargeted low they vanish; at equal cost an existing one is kept (idempotence: the pass's own
 * boundary casts look exactly like that). A value read inside a subgraph or by a decided-by-consumers node pins
 * its producer; constants and initializers cost nothing (they are converted, not cast).
 */
import { isFloatValue, isLowBodyOutput, keep, type PassContext } from '../context.js';
import { isLowSource, keepIo } from '../lib/sources.js';
import { requiredInputType } from '../lib/required.js';
import { decidedByConsumers, opRole, slotPolicy } from '../policy.js';
import { FlowNetwork } from '../lib/min-cut.js';
import { DataType } from '../../src/core/dtype.js';
import type { Node } from '../../src/ir/graph.js';

const S = 0,
  T = 1; // the fp32 and the low-precision terminal

export function fewestCasts(ctx: PassContext): void {
  if (!ctx.opts.fewestCasts) return;
  const g = ctx.graph;
  const free = new Map<Node, number>();
  for (const n of g.nodes) if (isFree(ctx, n)) free.set(n, free.size + 2);
  if (!free.size) return;
  const net = new FlowNetwork(free.size + 2);
  const W = free.size + 1; // one cast outweighs every tie-break together
  const label = (n: Node): number | undefined => free.get(n);
  const typeLabel = (t: number | undefined): number | undefined =>
    t === undefined ? undefined : t === DataType.FLOAT ? S : T;
  for (const v of valuesToCost(ctx)) {
    const p = v.producer;
    const from = p && free.has(p) ? label(p)! : isLowSource(ctx, v.name) ? T : S;
    const to = new Set<number>();
    for (const c of v.readers) {
      c.inputs.forEach((x, slot) => {
        if (x !== v.name) return;
        const sp = slotPolicy(c.key, ctx.opset).inputs?.[slot];
        if (free.has(c) && (isUpcast(c) || (sp !== 'any' && sp !== 'keep'))) to.add(label(c)!);
        else {
          const t = typeLabel(requiredInputType(ctx, c, slot));
          if (t !== undefined) to.add(t);
        }
      });
    }
    if (g.outputs.includes(v.name)) to.add(typeLabel(outputType(ctx, v.name))!);
    to.delete(from);
    if (!to.size || (from < 2 && [...to].every((x) => x < 2))) continue; // nothing to choose here
    // Cost W when `from` is fp32 and any reader low: from → a (W), a → reader (∞); the mirror image for low.
    if (from !== T) {
      const a = net.vertex();
      net.edge(from, a, W);
      for (const c of to) net.edge(a, c, Infinity);
    }
    if (from !== S) {
      const b = net.vertex();
      net.edge(b, from, W);
      for (const c of to) net.edge(c, b, Infinity);
    }
  }
  for (const [n, x] of free) {
    if (ctx.prec.get(n) === 'low' && !isUpcast(n)) net.edge(x, T, 1);
    else net.edge(S, x, 1);
  }
  net.maxFlow(S, T);
  const high = net.sourceSide(S);
  for (const [n, x] of free) {
    const want = high[x] ? 'high' : 'low';
    if (ctx.prec.get(n) === want) continue;
    ctx.prec.set(n, want);
    if (want === 'high') ctx.reason.set(n, keep('casts', 'fewer casts in fp32'));
    else ctx.reason.delete(n);
  }
}

const isUpcast = (n: Node): boolean => opRole(n.opType) === 'cast' && n.attrInt('to', 0) === DataType.FLOAT;

/** A clear node (or upcast) whose precision painting chose, with float I/O only of fp32 or the low type, all read here. */
function isFree(ctx: PassContext, n: Node): boolean {
  const g = ctx.graph;
  const p = ctx.prec.get(n);
  if (
    (p !== 'low' && p !== 'high') ||
    ctx.cls.get(n) !== 'clear' ||
    (decidedByConsumers(n.opType, ctx.opset) && !isUpcast(n)) ||
    n.subgraphs.size ||
    ctx.keepSlots.has(n)
  )
    return false;
  const why = ctx.reason.get(n);
  if (why !== undefined && why.kind !== 'isolated') return false;
  if ((slotPolicy(n.key, ctx.opset).keepOutputs ?? []).length) return false;
  const types = [...n.inputs, ...n.outputs]
    .filter((x) => isFloatValue(g, x))
    .map((x) => (g.lookup(x) ?? g.values.get(x))?.type?.elemType);
  if (types.some((t) => t !== DataType.FLOAT && t !== ctx.low)) return false;
  return n.outputs.every(
    (o) =>
      !isFloatValue(g, o) ||
      (g.values.get(o)?.consumers ?? []).every(
        (c) => c.graph === g && c.inputs.includes(o) && !decidedByConsumers(c.opType, ctx.opset),
      ),
  );
}

/**
 * Float values that may be cast here: produced in this graph (not by a constant), its inputs, and outer-scope
 * values its nodes read (not initializers: constants are converted, not cast); with their readers in this graph.
 */
function valuesToCost(ctx: PassContext): { name: string; producer?: Node; readers: Node[] }[] {
  const g = ctx.graph;
  const out: { name: string; producer?: Node; readers: Node[] }[] = [];
  const seen = new Set<string>();
  const add = (name: string) => {
    if (!name || seen.has(name) || !isFloatValue(g, name)) return;
    seen.add(name);
    const v = g.lookup(name) ?? g.values.get(name);
    if (!v || v.graph.initializers.has(name)) return;
    const p = v.producer;
    if (p && p.graph === g && opRole(p.opType) === 'constant') return;
    out.push({
      name,
      producer: p && p.graph === g ? p : undefined,
      readers: [...new Set(v.consumers)].filter((c) => c.graph === g),
    });
  };
  for (const i of g.inputs) add(i);
  for (const n of g.nodes) {
    n.inputs.forEach(add);
    n.outputs.forEach(add);
  }
  return out;
}

/** The type a graph output is given (step 8's fixOutputs), as fp32 or low. */
function outputType(ctx: PassContext, name: string): number {
  const g = ctx.graph;
  const k = g.outputs.indexOf(name);
  if (isLowBodyOutput(ctx, g, k)) return ctx.low;
  const decl = (g.lookup(name) ?? g.values.get(name))?.type?.elemType;
  if (ctx.isMain && decl === DataType.FLOAT && !keepIo(ctx, name)) return ctx.low;
  return decl ?? DataType.FLOAT;
}
